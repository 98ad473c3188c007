/*
 * vec.c - the growth rule and realloc step of growing arrays (see vec.h).
 * Holds no array and no state: callers own pointer, count and capacity.
 */
#include "base/vec.h"

#include <stdint.h>
#include <string.h>

#include "base/alloc.h"

swing_status swing_vec_cap(size_t cap, size_t need, size_t min_cap, size_t elem_size, size_t *out,
                           swing_err *err)
{
    size_t c, max = elem_size ? SIZE_MAX / elem_size : SIZE_MAX; /* elements whose bytes fit */
    if (need <= cap) {
        *out = cap;
        return SWING_OK;
    }
    if (need > max)
        return swing_err_set(err, SWING_ERR_NOMEM, "array of %zu elements of %zu bytes is too large", need,
                             elem_size);
    c = cap ? cap : min_cap ? min_cap : 1;
    while (c < need) c = c > max / 2 ? max : c * 2; /* ends: max >= need */
    *out = c;
    return SWING_OK;
}

swing_status swing_vec_grow(void *items_addr, size_t *cap, size_t need, size_t elem_size,
                            size_t min_cap, swing_err *err)
{
    void *old, *nv;
    size_t c;
    swing_status s = swing_vec_cap(*cap, need, min_cap, elem_size, &c, err);
    if (s || c == *cap) return s;
    /* The T * is read and written as bytes: no T ** is accessed through a
     * void ** (an aliasing violation), and object pointers share one
     * representation on every platform libswing supports. */
    memcpy(&old, items_addr, sizeof old);
    nv = swing_realloc(old, c * elem_size);
    if (!nv) return SWING_NOMEM(err);
    memcpy(items_addr, &nv, sizeof nv);
    *cap = c;
    return SWING_OK;
}
