/*
 * vec.h - growing arrays: the one capacity rule and the one realloc step
 * behind every array that grows by appending (pointer + count + capacity
 * kept by the caller). Owns no array and no state.
 *
 * Rule: an array of capacity c too small for `need` elements moves to
 * c * 2 (min_cap when c is 0), doubling until `need` fits, never past the
 * largest count whose bytes (elements * elem_size) fit in size_t; a `need`
 * beyond that is refused. The sizes depend only on (c, need, min_cap), so
 * an array goes through the same ones on every node.
 */
#ifndef LIBSWING_BASE_VEC_H
#define LIBSWING_BASE_VEC_H

#include <stddef.h>

#include "base/err.h"

/* The capacity (in elements) an array of capacity `cap` needs to hold
 * `need` elements of elem_size bytes: cap itself when need <= cap, else by
 * the rule above. For arrays not allocated by swing_realloc (Lua userdata,
 * buffers the caller frees with free()). *out is written only on success.
 * A min_cap of 0 counts as 1. Errors: NOMEM when the bytes would overflow
 * size_t. */
swing_status swing_vec_cap(size_t cap, size_t need, size_t min_cap, size_t elem_size, size_t *out,
                           swing_err *err);

/* Grows the array whose pointer is at `items_addr` (the address of a T *,
 * passed as void * so that no cast is needed; the array came from
 * swing_malloc/swing_realloc or is NULL) so that it holds at least `need`
 * elements of elem_size bytes; *cap (elements) is updated. The first *cap
 * elements are kept; new ones are uninitialized. On failure the pointer
 * and *cap are unchanged, so the caller frees as usual.
 * Errors: NOMEM (allocation failed, or the size overflows). */
swing_status swing_vec_grow(void *items_addr, size_t *cap, size_t need, size_t elem_size,
                            size_t min_cap, swing_err *err);

/* Room for `need` elements in the array `items` (a T * lvalue) of capacity
 * `cap` (a size_t lvalue): SWING_OK at once when it has it, else
 * swing_vec_grow. `need` and `cap` are evaluated twice: no side effects. */
#define SWING_VEC_RESERVE(items, cap, need, min_cap, err)                                  \
    ((need) <= (cap) ? SWING_OK                                                            \
                     : swing_vec_grow(&(items), &(cap), (need), sizeof *(items), (min_cap), \
                                      (err)))

#endif /* LIBSWING_BASE_VEC_H */
