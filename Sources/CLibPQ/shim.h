#include <libpq-fe.h>
/* Character-literal macros are not imported into Swift; re-export the ones we need. */
static inline int samia_pg_diag_sqlstate(void) { return 'C'; }
static inline int samia_pg_diag_message_primary(void) { return 'M'; }
static inline int samia_pg_diag_message_detail(void) { return 'D'; }
static inline int samia_pg_diag_message_hint(void) { return 'H'; }
static inline int samia_pg_diag_context(void) { return 'W'; }
static inline int samia_pg_diag_severity_nonlocalized(void) { return 'V'; }
