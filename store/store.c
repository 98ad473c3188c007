/*
 * store.c - store lifecycle: open with an exclusive directory lock, format
 * check, loading the committed height, crank chain, state digest (rebuilt
 * from disk when a store predates it) and chunk index; close.
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

store_options store_options_default(void)
{
    store_options o;
    o.create_if_missing = true;
    o.sync = true;
    o.write_buffer_size = 32u << 20;
    o.cache_size = 64u << 20;
    o.digest_threads = 0;
    o.observer = NULL;
    o.observer_ctx = NULL;
    return o;
}

swing_status store_check_usable(store *st, swing_err *err)
{
    if (st->sticky.code == SWING_OK) return SWING_OK;
    if (err) *err = st->sticky;
    return st->sticky.code;
}

uint64_t store_height(const store *st) { return st->height; }

const char *store_activity_hash(const store *st) { return st->activity; }

const char *store_committed_hash(const store *st) { return st->committed; }

size_t store_pending_bytes(const store *st) { return st->block.bytes; }

bool store_in_crank(const store *st) { return st->in_crank; }

static swing_status prepare_dir(const char *dir, bool create, swing_err *err)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return swing_err_set(err, SWING_ERR_INVALID, "store path %s is not a directory", dir);
        return SWING_OK;
    }
    if (errno != ENOENT)
        return swing_err_set(err, SWING_ERR_IO, "cannot stat %s: %s", dir, strerror(errno));
    if (!create)
        return swing_err_set(err, SWING_ERR_INVALID, "store directory %s does not exist", dir);
    if (mkdir(dir, 0755) != 0)
        return swing_err_set(err, SWING_ERR_INVALID, "cannot create store directory %s: %s",
                             dir, strerror(errno));
    return SWING_OK;
}

static swing_status take_lock(store *st, swing_err *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/swing.lock", st->dir) >= sizeof path)
        return swing_err_set(err, SWING_ERR_INVALID, "store path too long");
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (st->lock_fd < 0)
        return swing_err_set(err, SWING_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(st->lock_fd);
        st->lock_fd = -1;
        if (e == EWOULDBLOCK)
            return swing_err_set(err, SWING_ERR_BUSY,
                                 "store %s is locked by another handle", st->dir);
        return swing_err_set(err, SWING_ERR_IO, "cannot lock %s: %s", path, strerror(e));
    }
    return SWING_OK;
}

static swing_status leveldb_error(char *msg, swing_err *err, const char *what)
{
    swing_status s = strstr(msg, "Corruption") ? SWING_ERR_CORRUPT : SWING_ERR_IO;
    swing_err_set(err, s, "%s: %s", what, msg);
    leveldb_free(msg);
    return s;
}

static swing_status open_db(store *st, const store_options *o, swing_err *err)
{
    char *msg = NULL;
    st->opts = leveldb_options_create();
    st->cache = leveldb_cache_create_lru(o->cache_size);
    st->filter = leveldb_filterpolicy_create_bloom(10);
    st->ropts = leveldb_readoptions_create();
    st->wopts = leveldb_writeoptions_create();
    leveldb_options_set_create_if_missing(st->opts, 1);
    leveldb_options_set_write_buffer_size(st->opts, o->write_buffer_size);
    leveldb_options_set_cache(st->opts, st->cache);
    leveldb_options_set_filter_policy(st->opts, st->filter);
    leveldb_options_set_max_open_files(st->opts, 512);
    leveldb_writeoptions_set_sync(st->wopts, o->sync ? 1 : 0);
    st->db = leveldb_open(st->opts, st->dir, &msg);
    if (msg) return leveldb_error(msg, err, "cannot open LevelDB");
    return SWING_OK;
}

/* A new database is stamped with the format; anything else must carry ours. */
static swing_status check_format(store *st, swing_err *err)
{
    swing_buf v = {0};
    bool found = false;
    swing_status s = store_layers_disk_get(st, swing_str(STORE_KEY_FORMAT), &v, &found, err);
    if (s) return s;
    if (found) {
        bool ok = v.len == strlen(STORE_FORMAT) && memcmp(v.ptr, STORE_FORMAT, v.len) == 0;
        if (!ok) {
            s = SWING_CORRUPT(err, "store %s has format \"%.*s\", expected \"%s\"", st->dir,
                              (int)(v.len > 64 ? 64 : v.len), (const char *)v.ptr, STORE_FORMAT);
        }
        swing_buf_free(&v);
        return s;
    }
    {
        leveldb_iterator_t *it = leveldb_create_iterator(st->db, st->ropts);
        bool empty;
        char *msg = NULL;
        leveldb_iter_seek_to_first(it);
        empty = !leveldb_iter_valid(it);
        leveldb_iter_destroy(it);
        if (!empty)
            return SWING_CORRUPT(err, "%s holds a LevelDB database that is not a libswing store",
                                 st->dir);
        leveldb_put(st->db, st->wopts, STORE_KEY_FORMAT, strlen(STORE_KEY_FORMAT),
                    STORE_FORMAT, strlen(STORE_FORMAT), &msg);
        if (msg) return leveldb_error(msg, err, "cannot initialize store");
        store_layers_disk_changed(st);
    }
    return SWING_OK;
}

swing_status store_digest_scan(store *st, store_digest *out, swing_err *err)
{
    leveldb_iterator_t *it = leveldb_create_iterator(st->db, st->ropts);
    char *msg = NULL;
    store_digest_init(out);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        const char *v = leveldb_iter_value(it, &vl);
        swing_bytes exp;
        if (store_keys_exported(swing_bytes_of(k, kl), swing_bytes_of(v, vl), &exp))
            store_digest_add(out, swing_bytes_of(k, kl), exp);
    }
    leveldb_iter_get_error(it, &msg);
    leveldb_iter_destroy(it);
    if (msg) return leveldb_error(msg, err, "cannot scan the store");
    return SWING_OK;
}

/* The state digest written by the last commit, or (a store written before
 * digests existed) rebuilt from the data; then the committed activity hash. */
static swing_status load_digest(store *st, swing_err *err)
{
    swing_buf v = {0};
    bool found = false;
    swing_status s = store_layers_disk_get(st, swing_str(STORE_KEY_IMPORT), NULL, &found, err);
    if (s) return s;
    if (found)
        return SWING_CORRUPT(err, "%s holds an interrupted import; remove the directory and import again",
                             st->dir);
    if ((s = store_layers_disk_get(st, swing_str(STORE_KEY_DIGEST), &v, &found, err))) return s;
    if (found) {
        bool ok = store_digest_decode(swing_buf_view(&v), &st->digest);
        swing_buf_free(&v);
        if (!ok) return SWING_CORRUPT(err, "stored state digest has a bad length");
    } else if ((s = store_digest_scan(st, &st->digest, err))) {
        return s;
    }
    st->committed[0] = '\0';
    if (st->height > 0) store_digest_activity_hash(st->height, st->activity, &st->digest, st->committed);
    return SWING_OK;
}

static swing_status load_state(store *st, swing_err *err)
{
    swing_buf v = {0};
    bool found = false;
    swing_status s = store_kv_disk_get(st, swing_str(STORE_KEY_HEIGHT), &v, &found, err);
    if (s) return s;
    if (found) {
        char tmp[32];
        char *end;
        unsigned long long h;
        if (v.len == 0 || v.len >= sizeof tmp) goto bad_height;
        memcpy(tmp, v.ptr, v.len);
        tmp[v.len] = '\0';
        errno = 0;
        h = strtoull(tmp, &end, 10);
        if (errno || *end || tmp[0] < '0' || tmp[0] > '9') goto bad_height;
        st->height = h;
        swing_buf_free(&v);
    }
    s = store_kv_disk_get(st, swing_str(STORE_KEY_ACTIVITY), &v, &found, err);
    if (s) return s;
    if (found) {
        if (v.len != SWING_SHA256_HEX_LEN) {
            swing_buf_free(&v);
            return SWING_CORRUPT(err, "stored activityhash has a bad length");
        }
        memcpy(st->activity, v.ptr, v.len);
        st->activity[v.len] = '\0';
        swing_buf_free(&v);
    }
    return load_digest(st, err);
bad_height:
    swing_buf_free(&v);
    return SWING_CORRUPT(err, "stored host.height is not a number");
}

swing_status store_load(store *st, swing_err *err)
{
    swing_status s;
    st->height = 0;
    st->activity[0] = '\0';
    st->committed[0] = '\0';
    store_digest_init(&st->digest);
    store_overlay_clear(&st->chunks);
    store_layers_disk_changed(st);
    st->gen++;
    st->xgen++;
    st->pending_ok = false;
    if ((s = load_state(st, err))) return s;
    return store_chunk_index_load(st, err);
}

swing_status store_open(const char *dir, const store_options *opt, store **out,
                        swing_err *err)
{
    store_options o = opt ? *opt : store_options_default();
    swing_status s;
    store *st;
    *out = NULL;
    if (!dir || !*dir) return swing_err_set(err, SWING_ERR_INVALID, "empty store path");
    s = prepare_dir(dir, o.create_if_missing, err);
    if (s) return s;
    st = swing_calloc(1, sizeof *st);
    if (!st) return SWING_NOMEM(err);
    st->lock_fd = -1;
    store_overlay_init(&st->block);
    store_seen_init(&st->seen);
    store_journal_init(&st->journal);
    store_overlay_init(&st->chunks);
    st->dir = swing_strdup(dir);
    if (!st->dir) {
        s = SWING_NOMEM(err);
        goto fail;
    }
    st->digest_threads = o.digest_threads;
    st->observer = o.observer;
    st->observer_ctx = o.observer_ctx;
    if ((s = take_lock(st, err)) != SWING_OK) goto fail;
    if ((s = open_db(st, &o, err)) != SWING_OK) goto fail;
    if ((s = check_format(st, err)) != SWING_OK) goto fail;
    if ((s = store_load(st, err)) != SWING_OK) goto fail;
    *out = st;
    return SWING_OK;
fail:
    store_close(st);
    return s;
}

void store_close(store *st)
{
    if (!st) return;
    if (st->in_crank) store_journal_rollback(&st->journal, &st->block);
    store_journal_free(&st->journal);
    store_overlay_clear(&st->block);
    store_seen_free(&st->seen);
    store_readahead_free(st);
    store_overlay_clear(&st->chunks);
    if (st->probe) leveldb_iter_destroy(st->probe);
    if (st->db) leveldb_close(st->db);
    if (st->opts) leveldb_options_destroy(st->opts);
    if (st->cache) leveldb_cache_destroy(st->cache);
    if (st->filter) leveldb_filterpolicy_destroy(st->filter);
    if (st->ropts) leveldb_readoptions_destroy(st->ropts);
    if (st->wopts) leveldb_writeoptions_destroy(st->wopts);
    if (st->lock_fd >= 0) close(st->lock_fd);
    swing_mfree(st->dir);
    swing_mfree(st);
}
