#!/usr/bin/env python3
"""Fails when a function, initializer or computed property in the project's own sources is
longer than 80 lines (docs/architecture.md: functions read in one screen).

A line-based reading of Swift: it finds each declaration and counts to its matching brace,
skipping braces inside string literals and comments. Run by `make test`.
  usage: scripts/function-length.py [LIMIT]"""
import glob
import re
import sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 80
DECLARATION = re.compile(
    r'\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|static|override|final|mutating|'
    r'nonisolated|convenience|required)\s+)*(func\s+\w+|init[?!]?\s*[(<]|subscript|var\s+\w+\s*:[^=]*\{\s*$)')


def length(lines, start):
    """Lines from `start` to the brace that closes the declaration's body, or None."""
    depth, opened, in_string = 0, False, False
    for j in range(start, len(lines)):
        line = lines[j]
        if line.count('"""') % 2 == 1:
            in_string = not in_string
            continue
        if in_string:
            continue
        code = re.sub(r'//.*', '', re.sub(r'"(?:\\.|[^"\\])*"', '', line))
        for ch in code:
            if ch == '{':
                depth, opened = depth + 1, True
            elif ch == '}':
                depth -= 1
        if opened and depth == 0:
            return j - start + 1
        if not opened and j > start + 15:
            return None
    return None


long = []
for path in sorted(glob.glob('Sources/**/*.swift', recursive=True) + glob.glob('bench/samia-bench/*.swift')):
    lines = open(path, encoding='utf-8').read().split('\n')
    for i, line in enumerate(lines):
        if DECLARATION.match(line) and not line.strip().startswith('//'):
            n = length(lines, i)
            if n and n > LIMIT:
                long.append(f'{path}:{i + 1}: {n} lines: {line.strip()[:80]}')
for entry in long:
    print(entry, file=sys.stderr)
if long:
    print(f'function-length: {len(long)} declaration(s) over {LIMIT} lines; split them into named steps', file=sys.stderr)
    sys.exit(1)
