/*
 * readahead.c - reads a committed kv key range in one pass of a LevelDB
 * iterator into the block's read cache (seen.h), and remembers the ranges
 * it read whole, so that later reads inside them, of keys present or
 * absent, need no LevelDB lookup until the disk changes.
 *
 * A Get that reaches LevelDB's tables costs about a microsecond, while a
 * step of an iterator over adjacent keys costs a tenth of that; the kernel
 * reads its GC chunk's records this way (kernel/gc.c). It is a hint: it
 * changes no state and no result, only where reads are answered. The
 * iterator skips deleted entries inside one step, so a caller must not
 * point it at a range it expects to be mostly deleted.
 */
#include "store/store_int.h"

#include "base/alloc.h"

/* Ranges read whole, kept until the disk changes. */
typedef struct range {
    uint8_t *buf; /* lo then hi */
    size_t lo_len, hi_len;
} range;

struct store_readahead {
    range r[STORE_READAHEAD_RANGES];
    size_t n;
};

void store_readahead_clear(store *st)
{
    store_readahead *ra = st->readahead;
    if (!ra) return;
    for (size_t i = 0; i < ra->n; i++) swing_mfree(ra->r[i].buf);
    ra->n = 0;
}

void store_readahead_free(store *st)
{
    store_readahead_clear(st);
    swing_mfree(st->readahead);
    st->readahead = NULL;
}

bool store_readahead_covers(const store *st, swing_bytes pkey)
{
    const store_readahead *ra = st->readahead;
    if (!ra) return false;
    for (size_t i = 0; i < ra->n; i++) {
        const range *r = &ra->r[i];
        if (swing_bytes_cmp(pkey, swing_bytes_of(r->buf, r->lo_len)) >= 0 &&
            swing_bytes_cmp(pkey, swing_bytes_of(r->buf + r->lo_len, r->hi_len)) < 0)
            return true;
    }
    return false;
}

/* Remembers [lo, hi) as read whole; best effort (full or out of memory:
 * the oldest ranges are forgotten, or this one is). */
static void remember(store *st, swing_bytes lo, swing_bytes hi)
{
    store_readahead *ra = st->readahead;
    range *r;
    if (!ra && !(ra = st->readahead = swing_calloc(1, sizeof *ra))) return;
    if (ra->n == STORE_READAHEAD_RANGES) store_readahead_clear(st);
    r = &ra->r[ra->n];
    if (!(r->buf = swing_malloc(lo.len + hi.len + 1))) return;
    memcpy(r->buf, lo.ptr, lo.len);
    memcpy(r->buf + lo.len, hi.ptr, hi.len);
    r->lo_len = lo.len;
    r->hi_len = hi.len;
    ra->n++;
}

static swing_status iter_error(leveldb_iterator_t *it, swing_err *err)
{
    char *msg = NULL;
    leveldb_iter_get_error(it, &msg);
    if (!msg) return SWING_OK;
    swing_err_set(err, SWING_ERR_IO, "LevelDB read failed: %s", msg);
    leveldb_free(msg);
    return SWING_ERR_IO;
}

swing_status store_prefetch(store *st, swing_bytes lo, swing_bytes hi, size_t max, swing_err *err)
{
    uint8_t plo[STORE_PKEY_MAX], phi[STORE_PKEY_MAX];
    swing_bytes l, h, end;
    leveldb_iterator_t *it;
    size_t n = 0;
    bool whole = true;
    swing_status s = store_check_usable(st, err);
    if (s || lo.len > STORE_KEY_MAX || hi.len > STORE_KEY_MAX || swing_bytes_cmp(lo, hi) >= 0 || !max) return s;
    l = swing_bytes_of(plo, store_keys_join(plo, sizeof plo, STORE_NS_KV, lo));
    h = swing_bytes_of(phi, store_keys_join(phi, sizeof phi, STORE_NS_KV, hi));
    end = h;
    if (!(it = leveldb_create_iterator(st->db, st->ropts))) return SWING_NOMEM(err);
    for (leveldb_iter_seek(it, (const char *)l.ptr, l.len); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v;
        swing_bytes key = swing_bytes_of(k, kl);
        if (swing_bytes_cmp(key, h) >= 0) break;
        v = leveldb_iter_value(it, &vl);
        if (n == max || !store_seen_put(&st->seen, key, swing_bytes_of(v, vl))) {
            /* Read whole up to, not including, this key. */
            whole = swing_bytes_cmp(key, l) > 0;
            if (whole) {
                memcpy(phi, key.ptr, key.len);
                end = swing_bytes_of(phi, key.len);
            }
            break;
        }
        n++;
    }
    s = iter_error(it, err);
    leveldb_iter_destroy(it);
    if (s == SWING_OK && whole) remember(st, l, end);
    return s;
}
