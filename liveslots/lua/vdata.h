/*
 * vdata.h - the arithmetic of virtualized-data reference counts (issue 14,
 * reference/vom-collections.md §5.2): when a stored value (object state
 * property, collection value) changes from one capdata to another, each
 * vref named by the old slots and not the new loses one count, each named
 * by the new and not the old gains one. Slots compare as sets (a vref twice
 * in one capdata counts once), and the changes come in sorted vref order so
 * the vatstore syscalls that apply them are canonical. Facet vrefs
 * (o+vK/I:F) are distinct here; the caller counts each against its baseRef
 * (two facets of one cohort add two). A building block of
 * the coming virtual objects and collections; not yet reachable from vat
 * code. Pure: no Lua, no store.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_VDATA_H
#define LIBSWING_LIVESLOTS_LUA_VDATA_H

#include <stddef.h>

#include "base/err.h"

typedef struct ls_lua_vdata_change {
    const char *vref; /* borrowed from the slot arrays */
    int delta;        /* +1 or -1 */
} ls_lua_vdata_change;

/* The count changes of replacing slots old[0..nold) by new[0..nnew), sorted
 * by vref (bytewise); *out (caller frees with swing_mfree; NULL when *n is
 * 0) borrows the strings. Errors: NOMEM. */
swing_status ls_lua_vdata_changes(const char *const *old, size_t nold, const char *const *new_slots, size_t nnew,
                                  ls_lua_vdata_change **out, size_t *n, swing_err *err);

#endif /* LIBSWING_LIVESLOTS_LUA_VDATA_H */
