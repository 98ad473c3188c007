/*
 * import.c - writes a verified export directory (import_check.c) into an
 * empty store: unsynced batches, the first one marking the store
 * "import incomplete" (meta.import, which store_open refuses), then one
 * synced batch with host.height and the state digest that clears the mark.
 * Everything is checked again while it is written (the files could change
 * after verification); on any difference or write error the keys written
 * are deleted again. Nothing outside the store's own directory is touched,
 * and nothing is removed that the import did not write (docs/store.md).
 */
#include "store/export.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/check.h"
#include "store/export_int.h"
#include "store/import_int.h"
#include "store/store_int.h"

#define IMPORT_BATCH_BYTES (8u << 20)
#define IMPORT_MARK "incomplete"

typedef struct writer {
    store_import_ctx *c;
    leveldb_t *db;                /* the store's database */
    leveldb_writebatch_t *batch;
    leveldb_writeoptions_t *wo;
    size_t pending;               /* bytes in batch */
    store_digest dig;             /* digest of what was written */
    swing_err *err;               /* where write errors go */
} writer;

static swing_status flush(writer *w, bool sync)
{
    char *msg = NULL;
    leveldb_writeoptions_set_sync(w->wo, sync ? 1 : 0);
    leveldb_write(w->db, w->wo, w->batch, &msg);
    leveldb_writebatch_clear(w->batch);
    w->pending = 0;
    if (!msg) return SWING_OK;
    swing_err_set(w->err, SWING_ERR_IO, "import write failed: %s", msg);
    leveldb_free(msg);
    return SWING_ERR_IO;
}

static swing_status put(writer *w, swing_bytes k, swing_bytes v)
{
    leveldb_writebatch_put(w->batch, (const char *)k.ptr, k.len, (const char *)v.ptr, v.len);
    w->pending += k.len + v.len;
    return w->pending >= IMPORT_BATCH_BYTES ? flush(w, false) : SWING_OK;
}

/* Reads an artifact again and checks it again: the file may have changed. */
static swing_status reread(store_import_ctx *c, const store_import_art *a, swing_buf *data)
{
    swing_status s;
    if (!a->verified) return swing_err_set(c->err, SWING_ERR_INTERNAL, "artifact %s was not verified", a->name);
    s = store_import_read_file(a->path, data, a->vat[0] ? STORE_IMPORT_ARTIFACT_MAX : STORE_BUNDLE_MAX, c->err);
    if (s == SWING_OK && (s = store_import_check_artifact(c, a, swing_buf_view(data)))) swing_buf_free(data);
    return s;
}

static swing_status write_entry(store_import_ctx *c, swing_bytes k, swing_bytes v, void *arg)
{
    writer *w = arg;
    store_digest_add(&w->dig, k, v);
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_BUNDLE))) {
        char name[STORE_PKEY_MAX];
        store_import_art *a;
        swing_buf data = {0};
        swing_status s;
        snprintf(name, sizeof name, "%.*s", (int)k.len, (const char *)k.ptr);
        if (!(a = store_import_find_art(c, name)))
            return swing_err_set(c->err, SWING_ERR_INTERNAL, "bundle %s has no artifact", name);
        s = reread(c, a, &data);
        if (s == SWING_OK) s = put(w, k, swing_buf_view(&data));
        swing_buf_free(&data);
        return s;
    }
    return put(w, k, v);
}

static swing_status write_items(writer *w, const store_import_art *a)
{
    swing_buf data = {0};
    size_t off = 0;
    uint64_t pos = a->span.start;
    swing_status s = reread(w->c, a, &data);
    while (s == SWING_OK && off < data.len) {
        char key[STORE_PKEY_MAX], p[21];
        uint32_t il = swing_get_u32be(data.ptr + off);
        int kl;
        store_keys_pos(p, pos++);
        kl = snprintf(key, sizeof key, "%s%s.%s", STORE_NS_ITEM, a->vat, p);
        s = put(w, swing_bytes_of(key, (size_t)kl), swing_bytes_of(data.ptr + off + 4, il));
        off += 4 + (size_t)il;
    }
    swing_buf_free(&data);
    return s;
}

/* The last batch: height and digest in, the import mark out; synced. */
static swing_status finish(writer *w)
{
    store_import_ctx *c = w->c;
    uint8_t enc[STORE_DIGEST_BYTES];
    char hbuf[24];
    swing_status s;
    if (!store_digest_equal(&w->dig, &c->dig))
        return SWING_CORRUPT(c->err, "export data changed while it was imported");
    snprintf(hbuf, sizeof hbuf, "%llu", (unsigned long long)c->expect->height);
    store_digest_encode(&w->dig, enc);
    if ((s = put(w, swing_str(STORE_NS_KV STORE_KEY_HEIGHT), swing_str(hbuf)))) return s;
    if ((s = put(w, swing_str(STORE_KEY_DIGEST), swing_bytes_of(enc, sizeof enc)))) return s;
    leveldb_writebatch_delete(w->batch, STORE_KEY_IMPORT, strlen(STORE_KEY_IMPORT));
    return flush(w, true);
}

static swing_status write_all(writer *w)
{
    swing_status s = put(w, swing_str(STORE_KEY_IMPORT), swing_str(IMPORT_MARK));
    if (s == SWING_OK) s = flush(w, false); /* the mark reaches the log before any data */
    if (s == SWING_OK) s = store_import_entries(w->c, write_entry, w);
    for (size_t i = 0; s == SWING_OK && i < w->c->narts; i++)
        if (w->c->arts[i].vat[0]) s = write_items(w, &w->c->arts[i]);
    return s == SWING_OK ? finish(w) : s;
}

/* Deletes every key but the format stamp: the store held nothing else
 * before the import (store_import checked), so these are all the import's. */
static swing_status unwrite(store *st, writer *w)
{
    leveldb_iterator_t *it = leveldb_create_iterator(st->db, st->ropts);
    swing_status s = SWING_OK;
    char *msg = NULL;
    leveldb_writebatch_clear(w->batch);
    w->pending = 0;
    for (leveldb_iter_seek_to_first(it); s == SWING_OK && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl;
        const char *k = leveldb_iter_key(it, &kl);
        if (kl == strlen(STORE_KEY_FORMAT) && memcmp(k, STORE_KEY_FORMAT, kl) == 0) continue;
        leveldb_writebatch_delete(w->batch, k, kl);
        if ((w->pending += kl) >= IMPORT_BATCH_BYTES) s = flush(w, false);
    }
    leveldb_iter_get_error(it, &msg);
    leveldb_iter_destroy(it);
    if (msg) {
        swing_err_set(w->err, SWING_ERR_IO, "import clean-up failed: %s", msg);
        leveldb_free(msg);
        s = SWING_ERR_IO;
    }
    return s == SWING_OK ? flush(w, true) : s;
}

/* Never committed, nothing pending, nothing on disk but the format stamp. */
static swing_status check_empty(store *st, swing_err *err)
{
    leveldb_iterator_t *it;
    bool other = false;
    swing_status s = store_check_usable(st, err);
    if (s) return s;
    if (st->height != 0 || st->in_crank || st->block.count != 0)
        return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "import needs an empty, never committed store");
    it = leveldb_create_iterator(st->db, st->ropts);
    for (leveldb_iter_seek_to_first(it); !other && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl;
        const char *k = leveldb_iter_key(it, &kl);
        other = kl != strlen(STORE_KEY_FORMAT) || memcmp(k, STORE_KEY_FORMAT, kl) != 0;
    }
    leveldb_iter_destroy(it);
    if (other) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "import needs an empty store; this one holds data");
    return SWING_OK;
}

/* Writes a verified context into an empty store and reloads its state. */
static swing_status import_into(store *st, store_import_ctx *c)
{
    writer w = {0};
    swing_status s;
    w.c = c;
    w.err = c->err;
    w.db = st->db;
    w.batch = leveldb_writebatch_create();
    w.wo = leveldb_writeoptions_create();
    store_digest_init(&w.dig);
    s = write_all(&w);
    if (s) {
        swing_err e2 = {0};
        w.err = &e2;
        if (unwrite(st, &w))
            swing_err_set(&st->sticky, SWING_ERR_IO, "an import failed (%s) and so did deleting what it wrote (%s)",
                          c->err ? c->err->msg : swing_status_name(s), e2.msg);
    }
    leveldb_writebatch_destroy(w.batch);
    leveldb_writeoptions_destroy(w.wo);
    store_layers_disk_changed(st); /* written, or written and deleted again */
    if (s == SWING_OK) s = store_load(st, c->err);
    if (s == SWING_OK && SWING_NEVER(strcmp(st->committed, c->expect->activity_hash) != 0))
        s = swing_err_set(c->err, SWING_ERR_INTERNAL, "imported store does not reopen at the verified hash");
    return s;
}

swing_status store_import(store *st, const char *export_dir, const store_import_expect *expect,
                          swing_err *err)
{
    store_import_ctx c;
    swing_status s = check_empty(st, err);
    if (s) return s;
    store_import_ctx_init(&c, export_dir, expect, err);
    s = store_import_verify(&c);
    if (s == SWING_OK) s = import_into(st, &c);
    store_import_ctx_free(&c);
    return s;
}

/* True for the files a store creates: swing.lock and LevelDB's own. */
static bool store_file(const char *n)
{
    static const char *const exact[] = {"swing.lock", "LOCK", "LOG", "LOG.old", "CURRENT"};
    static const char *const suffix[] = {".log", ".ldb", ".sst", ".dbtmp"};
    size_t nl = strlen(n);
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(n, exact[i]) == 0) return true;
    if (strncmp(n, "MANIFEST-", 9) == 0) return true;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        size_t sl = strlen(suffix[i]);
        if (nl > sl && strcmp(n + nl - sl, suffix[i]) == 0) return true;
    }
    return false;
}

/* Removes the store files in dir (it was empty when the import began, so
 * they are the import's), and dir itself if the import created it. */
static void remove_created(const char *dir, bool created)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d) {
        while ((de = readdir(d))) {
            char path[4096];
            if (!store_file(de->d_name)) continue;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < sizeof path) unlink(path);
        }
        closedir(d);
    }
    if (created) rmdir(dir); /* fails, harmlessly, if anything else appeared */
}

swing_status store_import_dir(const char *export_dir, const char *db_dir,
                              const store_import_expect *expect, swing_err *err)
{
    store_import_ctx c;
    store_options o = store_options_default();
    store *st = NULL;
    struct stat sb;
    bool created = false;
    swing_status s;
    if (stat(db_dir, &sb) == 0 && (!S_ISDIR(sb.st_mode) || !store_export_dir_empty(db_dir)))
        return swing_err_set(err, SWING_ERR_INVALID, "import target %s exists and is not an empty directory", db_dir);
    store_import_ctx_init(&c, export_dir, expect, err);
    s = store_import_verify(&c);
    if (s == SWING_OK) {
        created = stat(db_dir, &sb) != 0;
        s = store_export_prepare_dir(db_dir, err);
        if (s == SWING_OK) {
            s = store_open(db_dir, &o, &st, err);
            if (s == SWING_OK) s = check_empty(st, err);
            if (s == SWING_OK) s = import_into(st, &c);
            store_close(st);
            if (s) remove_created(db_dir, created);
        }
    }
    store_import_ctx_free(&c);
    return s;
}
