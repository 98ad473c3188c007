/*
 * scan.c - prefix scans that may write between steps (see scan.h): each
 * step is one store_next_key_in from the last key, so the scan reads the
 * store exactly as a hand-written cursor loop would. Owns the cursor key.
 */
#include "store/scan.h"

#include <string.h>

#include "base/alloc.h"
#include "base/check.h"

void store_scan_init(store_scan *sc, store *st, swing_bytes prefix)
{
    memset(sc, 0, sizeof *sc);
    sc->st = st;
    sc->prefix = prefix;
}

void store_scan_free(store_scan *sc)
{
    swing_buf_free(&sc->last);
    sc->started = sc->at = false;
}

swing_status store_scan_resume(store_scan *sc, swing_bytes key, bool inclusive, swing_err *err)
{
    if (sc->started || sc->done) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "scan already moved");
    if (key.len) {
        if (!(sc->last.ptr = swing_malloc(key.len))) return SWING_NOMEM(err);
        memcpy(sc->last.ptr, key.ptr, key.len);
        sc->last.len = key.len;
    }
    sc->started = true;
    sc->at = inclusive;
    return SWING_OK;
}

swing_status store_scan_next(store_scan *sc, swing_bytes *key, bool *found, swing_err *err)
{
    swing_buf next = {0};
    swing_status s;
    *found = false;
    if (sc->done) return SWING_OK;
    if (sc->at) {
        if ((s = store_get(sc->st, swing_buf_view(&sc->last), NULL, found, err))) return s;
        sc->at = false;
        if (*found) {
            *key = swing_buf_view(&sc->last);
            return SWING_OK;
        }
    }
    s = store_next_key_in(sc->st, sc->started ? swing_buf_view(&sc->last) : sc->prefix, sc->prefix, &next, found,
                          err);
    if (s) return s; /* the cursor stays where it was */
    swing_buf_free(&sc->last);
    if (!*found) {
        sc->started = false;
        sc->done = true;
        return SWING_OK;
    }
    SWING_ASSERT(swing_bytes_has_prefix(swing_buf_view(&next), sc->prefix));
    sc->last = next;
    sc->started = true;
    *key = swing_buf_view(&sc->last);
    return SWING_OK;
}

swing_status store_scan_value(store_scan *sc, swing_buf *val, bool *found, swing_err *err)
{
    SWING_ASSERT(sc->started && !sc->at);
    return store_get(sc->st, swing_buf_view(&sc->last), val, found, err);
}
