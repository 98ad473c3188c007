/*
 * journal.c - the crank journal (see journal.h): undo records for the
 * block overlay, reserved before each write so that rollback cannot fail.
 */
#include "store/journal.h"

#include <string.h>

#include "base/alloc.h"
#include "base/check.h"
#include "base/vec.h"

void store_journal_init(store_journal *j)
{
    memset(j, 0, sizeof *j);
}

/* Buffers above these sizes (left by one huge crank) are freed when the
 * crank ends rather than held for the life of the store. */
#define JOURNAL_KEEP_RECS 65536u
#define JOURNAL_KEEP_KEYS (4u << 20)

static void release_saved(store_journal *j)
{
    for (size_t i = 0; i < j->n; i++) swing_mfree(j->recs[i].saved);
    j->n = 0;
    j->klen = 0;
}

static void trim(store_journal *j)
{
    if (j->cap > JOURNAL_KEEP_RECS) {
        swing_mfree(j->recs);
        j->recs = NULL;
        j->cap = 0;
    }
    if (j->kcap > JOURNAL_KEEP_KEYS) {
        swing_mfree(j->keys);
        j->keys = NULL;
        j->kcap = 0;
    }
}

void store_journal_free(store_journal *j)
{
    release_saved(j);
    swing_mfree(j->recs);
    swing_mfree(j->keys);
    store_journal_init(j);
}

void store_journal_begin(store_journal *j)
{
    SWING_ASSERT(j->n == 0 && j->mark == 0);
    j->mark = ++j->last;
}

/* Room for one more record and klen more key bytes. */
static swing_status reserve(store_journal *j, size_t klen, swing_err *err)
{
    swing_status s = SWING_VEC_RESERVE(j->recs, j->cap, j->n + 1, 256, err);
    return s ? s : SWING_VEC_RESERVE(j->keys, j->kcap, j->klen + klen, 4096, err);
}

swing_status store_journal_put(store_journal *j, store_overlay *ov, swing_bytes key,
                               swing_bytes val, bool tomb, swing_err *err)
{
    store_ov_entry *e, *old;
    store_undo *r;
    swing_status s;
    SWING_ASSERT(j->mark != 0);
    if ((s = reserve(j, key.len, err)) != SWING_OK) return s;
    if ((s = store_overlay_entry_new(key, val, tomb, &e, err)) != SWING_OK) return s;
    e->mark = j->mark;
    if ((s = store_overlay_attach(ov, e, &old, err)) != SWING_OK) {
        swing_mfree(e);
        return s;
    }
    if (old && old->mark == j->mark) {
        /* Already journaled in this crank: plain overwrite. */
        if (old->vlen == e->vlen) {
            old->tomb = e->tomb;
            if (e->vlen) memcpy(old->data + old->klen, e->data + e->klen, e->vlen);
            swing_mfree(e);
        } else {
            e->absent = old->absent;
            store_overlay_swap(ov, old, e);
            swing_mfree(old);
        }
        return SWING_OK;
    }
    r = &j->recs[j->n++];
    r->saved = NULL;
    r->koff = 0;
    r->klen = (uint32_t)key.len;
    if (!old) { /* absent before the crank: rollback removes it */
        r->koff = j->klen;
        if (key.len) memcpy(j->keys + j->klen, key.ptr, key.len);
        j->klen += key.len;
        return SWING_OK;
    }
    if (old->vlen == e->vlen) {
        /* Same size: swap the values, so the tree node keeps its place and
         * the fresh allocation becomes the saved copy. */
        bool t = old->tomb;
        uint64_t m = old->mark;
        old->tomb = e->tomb;
        old->mark = e->mark;
        e->tomb = t;
        e->mark = m;
        for (uint32_t i = 0; i < e->vlen; i++) {
            uint8_t b = old->data[old->klen + i];
            old->data[old->klen + i] = e->data[e->klen + i];
            e->data[e->klen + i] = b;
        }
        r->saved = e;
        return SWING_OK;
    }
    e->absent = old->absent;
    store_overlay_swap(ov, old, e);
    r->saved = old;
    return SWING_OK;
}

void store_journal_commit(store_journal *j)
{
    release_saved(j);
    trim(j);
    j->mark = 0;
}

void store_journal_rollback(store_journal *j, store_overlay *ov)
{
    /* Each key has one record, so the order of restoring does not matter. */
    for (size_t i = 0; i < j->n; i++) {
        store_undo *r = &j->recs[i];
        swing_bytes key = r->saved ? store_ov_key(r->saved)
                                   : swing_bytes_of(j->keys + r->koff, r->klen);
        store_ov_entry *cur = store_overlay_find(ov, key);
        SWING_ASSERT(cur != NULL);
        if (cur && r->saved) {
            r->saved->absent = cur->absent; /* learned facts stay */
            store_overlay_swap(ov, cur, r->saved); /* never allocates */
        } else if (cur) {
            store_overlay_detach(ov, cur);
        } else if (r->saved) {
            store_ov_entry *clash;
            if (store_overlay_attach(ov, r->saved, &clash, NULL) || clash) swing_mfree(r->saved);
        }
        swing_mfree(cur);
        r->saved = NULL;
    }
    j->n = 0;
    j->klen = 0;
    trim(j);
    j->mark = 0;
}
