#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
static inline unsigned int samia_ae_ifreg(void) { return AE_IFREG; }

/* Linux's sync_file_range(2); glibc declares it only under _GNU_SOURCE, which a module header
   cannot set for the system headers it shares. */
int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags);

/* Starts writeback of a written range without waiting for it (SYNC_FILE_RANGE_WRITE), so the
   disk writes a big file while the rest is still being produced and the final fsync has little
   left. A hint only: its result may be ignored, fsync still decides durability. */
static inline int samia_start_writeback(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, offset, length, 2u);
}
