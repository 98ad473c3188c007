/*
 * commit.c - block commit: turns the block layer into one synced LevelDB
 * WriteBatch (chunking kv values per keys.h, writing host.height) and into
 * the block's export-data delta, sorted and deduplicated; moves the state
 * digest (digest.h) from each changed entry's committed value, read from
 * disk, to its new one, and derives the committed activity hash. Nothing
 * reaches LevelDB between commits (DESIGN.md §4).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/check.h"
#include "base/vec.h"

typedef struct delta_ent {
    size_t koff, klen; /* key bytes in the arena */
    size_t voff, vlen; /* value bytes in the arena */
    bool deleted;      /* deletion entry */
} delta_ent;

typedef struct commit_ctx {
    store *st;
    leveldb_writebatch_t *batch; /* physical writes */
    delta_ent *ents;             /* export-data entries, unsorted */
    size_t n, cap;
    uint8_t *arena;              /* their bytes */
    size_t alen, acap;
    store_overlay index_changes; /* chunk index updates, applied on success */
    store_digest dig;            /* the state digest after this block */
    swing_err *err;
} commit_ctx;

static swing_status arena_add(commit_ctx *c, const void *p, size_t n, size_t *off)
{
    swing_status s = SWING_VEC_RESERVE(c->arena, c->acap, c->alen + n, 4096, c->err);
    if (s) return s;
    if (n) memcpy(c->arena + c->alen, p, n);
    *off = c->alen;
    c->alen += n;
    return SWING_OK;
}

static swing_status note_export(commit_ctx *c, swing_bytes key, swing_bytes val, bool del)
{
    delta_ent *d;
    swing_status s = SWING_VEC_RESERVE(c->ents, c->cap, c->n + 1, 256, c->err);
    if (s) return s;
    d = &c->ents[c->n];
    d->klen = key.len;
    d->vlen = del ? 0 : val.len;
    d->deleted = del;
    if ((s = arena_add(c, key.ptr, key.len, &d->koff))) return s;
    if ((s = arena_add(c, val.ptr, d->vlen, &d->voff))) return s;
    c->n++;
    return SWING_OK;
}

/* One physical write, exported under the same name when `exported`. */
static swing_status emit(commit_ctx *c, swing_bytes key, swing_bytes val, bool del,
                         bool exported)
{
    if (del) leveldb_writebatch_delete(c->batch, (const char *)key.ptr, key.len);
    else leveldb_writebatch_put(c->batch, (const char *)key.ptr, key.len,
                                (const char *)val.ptr, val.len);
    return exported ? note_export(c, key, val, del) : SWING_OK;
}

static size_t chunk_pkey(uint8_t *pk, swing_bytes key, uint32_t i)
{
    char suffix[STORE_CHUNK_SUFFIX_LEN + 1];
    size_t pl = store_keys_join(pk, STORE_PKEY_MAX, STORE_NS_KVC, key);
    snprintf(suffix, sizeof suffix, ".%08x", (unsigned)i);
    memcpy(pk + pl, suffix, STORE_CHUNK_SUFFIX_LEN);
    return pl + STORE_CHUNK_SUFFIX_LEN;
}

static swing_status delete_chunks(commit_ctx *c, swing_bytes key, uint32_t from, uint32_t to,
                                  bool exp)
{
    uint8_t pk[STORE_PKEY_MAX];
    for (uint32_t i = from; i < to; i++) {
        swing_status s = emit(c, swing_bytes_of(pk, chunk_pkey(pk, key, i)),
                              swing_bytes_of(NULL, 0), true, exp);
        if (s) return s;
    }
    return SWING_OK;
}

static swing_status write_chunked(commit_ctx *c, swing_bytes key, swing_bytes pkv,
                                  swing_bytes val, const store_chunk_info *old, bool exp)
{
    uint8_t pk[STORE_PKEY_MAX], enc[12];
    char hdr[96];
    store_chunk_info info;
    swing_status s;
    size_t hl;
    info.size = val.len;
    info.chunks = (uint32_t)((val.len + STORE_CHUNK_SIZE - 1) / STORE_CHUNK_SIZE);
    hl = store_chunk_header(&info, hdr, sizeof hdr);
    s = emit(c, swing_bytes_of(pk, store_keys_join(pk, sizeof pk, STORE_NS_KVH, key)),
             swing_bytes_of(hdr, hl), false, exp);
    for (uint32_t i = 0; s == SWING_OK && i < info.chunks; i++) {
        size_t off = (size_t)i * STORE_CHUNK_SIZE;
        size_t n = val.len - off < STORE_CHUNK_SIZE ? val.len - off : STORE_CHUNK_SIZE;
        s = emit(c, swing_bytes_of(pk, chunk_pkey(pk, key, i)), swing_bytes_of(val.ptr + off, n),
                 false, exp);
    }
    if (s) return s;
    if (old) s = delete_chunks(c, key, info.chunks, old->chunks, exp);
    else s = emit(c, pkv, swing_bytes_of(NULL, 0), true, exp);
    if (s) return s;
    store_chunk_encode_info(&info, enc);
    return store_overlay_put(&c->index_changes, pkv, swing_bytes_of(enc, 12), false, c->err);
}

static swing_status drop_chunked(commit_ctx *c, swing_bytes key, swing_bytes pkv,
                                 const store_chunk_info *old, bool exp)
{
    uint8_t pk[STORE_PKEY_MAX];
    swing_status s = emit(c, swing_bytes_of(pk, store_keys_join(pk, sizeof pk, STORE_NS_KVH, key)),
                          swing_bytes_of(NULL, 0), true, exp);
    if (s || (s = delete_chunks(c, key, 0, old->chunks, exp))) return s;
    return store_overlay_put(&c->index_changes, pkv, swing_bytes_of(NULL, 0), true, c->err);
}

static swing_status commit_kv(commit_ctx *c, const store_ov_entry *e)
{
    swing_bytes pkv = store_ov_key(e);
    size_t nslen = strlen(STORE_NS_KV);
    swing_bytes key = swing_bytes_of(pkv.ptr + nslen, pkv.len - nslen);
    swing_bytes val = store_ov_val(e);
    bool exp = store_keys_class(key) == STORE_CLASS_CONSENSUS;
    store_chunk_info old;
    bool was_chunked = store_chunk_lookup(c->st, pkv, &old);
    swing_status s;
    if (e->tomb) {
        if (was_chunked) return drop_chunked(c, key, pkv, &old, exp);
        if (e->absent) return SWING_OK; /* created and deleted in this block */
        return emit(c, pkv, val, true, exp);
    }
    if (val.len > STORE_CHUNK_SIZE)
        return write_chunked(c, key, pkv, val, was_chunked ? &old : NULL, exp);
    s = emit(c, pkv, val, false, exp);
    if (s == SWING_OK && was_chunked) s = drop_chunked(c, key, pkv, &old, exp);
    return s;
}

static swing_status commit_entry(commit_ctx *c, const store_ov_entry *e)
{
    swing_bytes k = store_ov_key(e);
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KV))) return commit_kv(c, e);
    if (e->tomb && e->absent) return SWING_OK; /* never reached the disk */
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_ITEM)))
        return emit(c, k, store_ov_val(e), e->tomb, false);
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_SPAN)))
        return emit(c, k, store_ov_val(e), e->tomb, true);
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_BUNDLE))) {
        size_t nslen = strlen(STORE_NS_BUNDLE);
        swing_status s = emit(c, k, store_ov_val(e), e->tomb, false);
        if (s) return s;
        return note_export(c, k, swing_bytes_of(k.ptr + nslen, k.len - nslen), e->tomb);
    }
    return swing_err_set(c->err, SWING_ERR_INTERNAL, "block layer holds an unknown key");
}

static swing_status commit_block(store *st, uint64_t height, const char *hook_key,
                                 store_commit_hook hook, void *hook_ctx, store_delta **delta,
                                 swing_err *err);

static int ent_cmp(const void *a, const void *b)
{
    const store_delta_entry *x = a, *y = b;
    return swing_bytes_cmp(x->key, y->key);
}

static swing_status finish_delta(commit_ctx *c, store_delta **out)
{
    store_delta *d = swing_calloc(1, sizeof *d);
    if (!d) return SWING_NOMEM(c->err);
    d->entries = swing_calloc(c->n ? c->n : 1, sizeof *d->entries);
    if (!d->entries) {
        swing_mfree(d);
        return SWING_NOMEM(c->err);
    }
    for (size_t i = 0; i < c->n; i++) {
        d->entries[i].key = swing_bytes_of(c->arena + c->ents[i].koff, c->ents[i].klen);
        d->entries[i].value = swing_bytes_of(c->arena + c->ents[i].voff, c->ents[i].vlen);
        d->entries[i].deleted = c->ents[i].deleted;
    }
    qsort(d->entries, c->n, sizeof *d->entries, ent_cmp);
    for (size_t i = 1; i < c->n; i++) {
        if (SWING_NEVER(ent_cmp(&d->entries[i - 1], &d->entries[i]) == 0)) {
            swing_mfree(d->entries);
            swing_mfree(d);
            return swing_err_set(c->err, SWING_ERR_INTERNAL, "duplicate export-data key");
        }
    }
    d->count = c->n;
    d->arena = c->arena;
    d->arena_len = c->alen;
    c->arena = NULL;
    *out = d;
    return SWING_OK;
}

/* Brings the chunk index to what the batch writes. Runs just before the
 * write: a failure here (out of memory) or there leaves the store unusable
 * until reopened, which rebuilds the index from disk. */
static swing_status apply_index_changes(store *st, store_overlay *changes, swing_err *err)
{
    swing_status s;
    store_ov_entry *e, *next;
    for (e = store_overlay_first(changes); e; e = next) {
        next = store_overlay_next(e);
        if (e->tomb) store_overlay_remove(&st->chunks, store_ov_key(e));
    }
    for (e = store_overlay_first(changes); e; e = next) {
        next = store_overlay_next(e);
        if (e->tomb) store_overlay_remove(changes, store_ov_key(e));
    }
    if ((s = store_overlay_merge(&st->chunks, changes, err)) == SWING_OK) return SWING_OK;
    swing_err_set(&st->sticky, s, "chunk index update failed, store unusable until reopened");
    if (err) *err = st->sticky;
    return s;
}

static swing_status write_batch(commit_ctx *c)
{
    char *msg = NULL;
    leveldb_write(c->st->db, c->st->wopts, c->batch, &msg);
    if (!msg) return SWING_OK;
    swing_err_set(&c->st->sticky, SWING_ERR_IO, "commit failed, store unusable until reopened: %s",
                  msg);
    leveldb_free(msg);
    if (c->err) *c->err = c->st->sticky;
    return SWING_ERR_IO;
}

swing_status store_commit(store *st, uint64_t height, store_delta **delta, swing_err *err)
{
    return store_commit_with(st, height, NULL, NULL, NULL, delta, err);
}

swing_status store_commit_with(store *st, uint64_t height, const char *hook_key,
                               store_commit_hook hook, void *hook_ctx, store_delta **delta,
                               swing_err *err)
{
    if (hook && (!hook_key || store_keys_class(swing_str(hook_key)) != STORE_CLASS_HOST))
        return swing_err_set(err, SWING_ERR_INVALID, "commit hook key must be a host. key");
    return commit_block(st, height, hook_key, hook, hook_ctx, delta, err);
}

/* Builds the block's batch, its export-data delta (*d) and the state digest
 * after it (c->dig) without writing anything; the digest summed by the last
 * store_pending_hash is reused while nothing exported has changed since.
 * The caller frees c with ctx_free and *d with store_delta_destroy. */
static swing_status prepare_block(store *st, commit_ctx *c, store_delta **d, swing_err *err)
{
    swing_status s = SWING_OK;
    memset(c, 0, sizeof *c);
    c->st = st;
    c->err = err;
    c->dig = st->digest;
    store_overlay_init(&c->index_changes);
    /* The delta is about the block's size: avoid regrowing. */
    c->acap = st->block.bytes + st->block.bytes / 8 + 4096;
    c->arena = swing_malloc(c->acap);
    if (!c->arena) c->acap = 0;
    c->batch = leveldb_writebatch_create();
    for (store_ov_entry *e = store_overlay_first(&st->block); e && !s; e = store_overlay_next(e))
        s = commit_entry(c, e);
    if (!s) s = finish_delta(c, d);
    if (s) return s;
    if (st->pending_ok && st->pending_xgen == st->xgen) {
        c->dig = st->pending_digest;
        return SWING_OK;
    }
    /* The digest moves across the delta (old values read before the batch is written). */
    return store_delta_digest(st, *d, &c->dig, err);
}

static void ctx_free(commit_ctx *c)
{
    if (c->batch) leveldb_writebatch_destroy(c->batch);
    store_overlay_clear(&c->index_changes);
    swing_mfree(c->ents);
    swing_mfree(c->arena);
}

swing_status store_pending_hash(store *st, uint64_t height, char out[SWING_SHA256_HEX_LEN + 1],
                                swing_err *err)
{
    commit_ctx c;
    store_delta *d = NULL;
    swing_status s = store_check_usable(st, err);
    if (s) return s;
    if (st->in_crank) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "pending hash inside a crank");
    s = prepare_block(st, &c, &d, err);
    if (!s) {
        store_digest_activity_hash(height, st->activity, &c.dig, out);
        st->pending_digest = c.dig;
        st->pending_xgen = st->xgen;
        st->pending_ok = true;
    }
    store_delta_destroy(d);
    ctx_free(&c);
    return s;
}

static swing_status commit_block(store *st, uint64_t height, const char *hook_key,
                                 store_commit_hook hook, void *hook_ctx, store_delta **delta,
                                 swing_err *err)
{
    commit_ctx c;
    char hbuf[24];
    uint8_t pk[STORE_PKEY_MAX];
    store_delta *d = NULL;
    swing_status s = store_check_usable(st, err);
    if (delta) *delta = NULL;
    if (s) return s;
    if (st->in_crank) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "commit inside a crank");
    if (height <= st->height)
        return swing_err_set(err, SWING_ERR_OUT_OF_ORDER,
                             "height %llu is not above the committed height %llu",
                             (unsigned long long)height, (unsigned long long)st->height);
    snprintf(hbuf, sizeof hbuf, "%llu", (unsigned long long)height);
    s = store_overlay_put(&st->block, swing_bytes_of(pk, store_keys_join(pk, sizeof pk, STORE_NS_KV, swing_str(STORE_KEY_HEIGHT))),
                          swing_str(hbuf), false, err);
    if (s) return s;
    s = prepare_block(st, &c, &d, err);
    if (!s) {
        uint8_t enc[STORE_DIGEST_BYTES];
        store_digest_activity_hash(height, st->activity, &c.dig, d->activity_hash);
        store_digest_encode(&c.dig, enc);
        leveldb_writebatch_put(c.batch, STORE_KEY_DIGEST, strlen(STORE_KEY_DIGEST), (const char *)enc,
                               sizeof enc);
    }
    if (!s && hook) {
        swing_buf v = {0};
        s = hook(hook_ctx, d, &v, err);
        if (!s) s = emit(&c, swing_bytes_of(pk, store_keys_join(pk, sizeof pk, STORE_NS_KV, swing_str(hook_key))),
                         swing_buf_view(&v), false, false);
        swing_buf_free(&v);
    }
    if (!s) s = apply_index_changes(st, &c.index_changes, err);
    if (!s) s = write_batch(&c);
    if (s == SWING_OK) {
        store_overlay_clear(&st->block);
        st->height = height;
        st->digest = c.dig;
        memcpy(st->committed, d->activity_hash, sizeof st->committed);
        store_layers_disk_changed(st);
        st->gen++;
        st->xgen++;
        st->pending_ok = false;
        if (delta) *delta = d;
        else store_delta_destroy(d);
    } else {
        store_delta_destroy(d);
    }
    ctx_free(&c);
    return s;
}

void store_delta_destroy(store_delta *d)
{
    if (!d) return;
    swing_mfree(d->entries);
    swing_mfree(d->arena);
    swing_mfree(d);
}
