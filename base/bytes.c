/*
 * bytes.c - owned buffer release (see bytes.h).
 */
#include "base/bytes.h"

#include "base/alloc.h"

void swing_buf_free(swing_buf *b)
{
    if (!b) return;
    swing_mfree(b->ptr);
    b->ptr = NULL;
    b->len = 0;
}
