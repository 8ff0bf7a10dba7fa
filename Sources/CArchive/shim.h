#include <archive.h>
#include <archive_entry.h>
static inline unsigned int samia_ae_ifreg(void) { return AE_IFREG; }
