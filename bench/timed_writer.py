"""An API-like writer for the benchmarks: one psql session runs STATEMENT (with {id} replaced
by a random key from 1 to MAX_ID) every 20 ms, waits for each, and logs psql's \\timing lines
to OUT until the file STOP exists. The longest time in OUT is how long the job under test made
an API write wait.

usage: python3 bench/timed_writer.py OUT STOP MAX_ID STATEMENT [DATABASE]
"""
import os
import random
import subprocess
import sys
import time

out, stop, max_id, statement = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
command = ["psql", "-X", "-q"] + (["-d", sys.argv[5]] if len(sys.argv) > 5 else [])
p = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                     text=True, bufsize=1)
p.stdin.write("\\timing on\n")
with open(out, "w") as log:
    while not os.path.exists(stop):
        p.stdin.write(statement.replace("{id}", str(random.randint(1, max_id))) + ";\n\\echo done\n")
        p.stdin.flush()
        for line in p.stdout:
            if line.strip() == "done":
                break
            log.write(line)
        time.sleep(0.02)
p.stdin.close()
p.wait()
