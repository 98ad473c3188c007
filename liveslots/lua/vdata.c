/*
 * vdata.c - count changes of a stored value's slots (see vdata.h): both
 * slot lists sorted and deduplicated, then merged.
 */
#include "liveslots/lua/vdata.h"
#include "liveslots/lua/vref.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* A sorted, duplicate-free copy of the pointers (NULL when n is 0). */
static swing_status sorted_set(const char *const *v, size_t n, const char ***out, size_t *m, swing_err *err)
{
    const char **s = NULL;
    size_t k = 0;
    *out = NULL;
    *m = 0;
    if (n == 0) return SWING_OK;
    if (!(s = swing_malloc(n * sizeof *s))) return SWING_NOMEM(err);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, ls_lua_vref_cmp);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(s[k - 1], s[i]) != 0) s[k++] = s[i];
    *out = s;
    *m = k;
    return SWING_OK;
}

swing_status ls_lua_vdata_changes(const char *const *old, size_t nold, const char *const *new_slots, size_t nnew,
                                  ls_lua_vdata_change **out, size_t *n, swing_err *err)
{
    const char **a = NULL, **b = NULL;
    size_t na, nb, i = 0, j = 0, k = 0;
    ls_lua_vdata_change *c = NULL;
    swing_status s = sorted_set(old, nold, &a, &na, err);
    *out = NULL;
    *n = 0;
    if (!s) s = sorted_set(new_slots, nnew, &b, &nb, err);
    if (!s && na + nb > 0 && !(c = swing_malloc((na + nb) * sizeof *c))) s = SWING_NOMEM(err);
    while (!s && (i < na || j < nb)) {
        int d = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);
        if (d == 0) { /* in both: no change */
            i++;
            j++;
        } else if (d < 0) {
            c[k].vref = a[i++];
            c[k++].delta = -1;
        } else {
            c[k].vref = b[j++];
            c[k++].delta = +1;
        }
    }
    swing_mfree(a);
    swing_mfree(b);
    if (s || k == 0) {
        swing_mfree(c);
        return s;
    }
    *out = c;
    *n = k;
    return SWING_OK;
}
