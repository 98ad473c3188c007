/*
 * alloc.c - the allocator seam (see alloc.h). The fault-injection countdown
 * exists only in SWING_FAULT_INJECTION test builds; release builds keep no
 * mutable state here.
 */
#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

#ifdef SWING_FAULT_INJECTION
static _Thread_local long fail_countdown; /* test builds only */

void swing_alloc_fail_after(long n) { fail_countdown = n; }

static int should_fail(void)
{
    if (fail_countdown <= 0) return 0;
    return --fail_countdown == 0;
}
#else
#define should_fail() 0
#endif

void *swing_malloc(size_t n)
{
    if (should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *swing_calloc(size_t count, size_t n)
{
    if (should_fail()) return NULL;
    return calloc(count ? count : 1, n ? n : 1);
}

void *swing_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void swing_mfree(void *p) { free(p); }

char *swing_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = swing_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
