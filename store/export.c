/*
 * export.c - the exporter: export data and artifacts of one committed height
 * read from a LevelDB snapshot, and the export directory writer (format in
 * export.h). Never touches the store's overlays, so the owner may commit
 * while an exporter runs.
 */
#include "store/export.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "store/export_int.h"
#include "store/store_int.h"
#include "store/transcript.h"

struct store_exporter {
    leveldb_t *db;                    /* borrowed from the store */
    const leveldb_snapshot_t *snap;   /* pinned committed state */
    leveldb_readoptions_t *ro;        /* reads at snap */
    store_export_mode mode;
    uint64_t height;                  /* host.height at snap */
    char activity[SWING_SHA256_HEX_LEN + 1]; /* committed activity hash at snap */
    leveldb_iterator_t *it;           /* export-data cursor */
    bool positioned;                  /* it points at the last returned key */
    uint64_t written;                 /* export-data entries written by write_dir */
    char **names;                     /* artifact names, sorted */
    size_t nnames, capnames;
};

static bool has_prefix(const char *k, size_t kl, const char *p)
{
    size_t pl = strlen(p);
    return kl >= pl && memcmp(k, p, pl) == 0;
}

static swing_status add_name(store_exporter *ex, const char *name, swing_err *err)
{
    char *copy;
    swing_status s = SWING_VEC_RESERVE(ex->names, ex->capnames, ex->nnames + 1, 16, err);
    if (s) return s;
    copy = swing_strdup(name);
    if (!copy) return SWING_NOMEM(err);
    ex->names[ex->nnames++] = copy;
    return SWING_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists bundles and the spans the mode requires. */
static swing_status collect_names(store_exporter *ex, swing_err *err)
{
    leveldb_iterator_t *it = leveldb_create_iterator(ex->db, ex->ro);
    swing_status s = SWING_OK;
    for (leveldb_iter_seek(it, STORE_NS_BUNDLE, strlen(STORE_NS_BUNDLE));
         s == SWING_OK && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl;
        const char *k = leveldb_iter_key(it, &kl);
        char name[STORE_PKEY_MAX];
        if (!has_prefix(k, kl, STORE_NS_BUNDLE)) break;
        if (kl >= sizeof name) continue;
        memcpy(name, k, kl);
        name[kl] = '\0';
        s = add_name(ex, name, err);
    }
    for (leveldb_iter_seek(it, STORE_NS_SPAN, strlen(STORE_NS_SPAN));
         s == SWING_OK && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        const char *v = leveldb_iter_value(it, &vl);
        char vat[STORE_VAT_ID_MAX + 1], name[STORE_PKEY_MAX];
        store_span sp;
        bool current;
        if (!has_prefix(k, kl, STORE_NS_SPAN)) break;
        if (!store_transcript_parse(swing_bytes_of(v, vl), vat, &sp)) {
            s = SWING_CORRUPT(err, "bad span record %.*s", (int)(kl > 200 ? 200 : kl), k);
            break;
        }
        current = kl >= 8 && memcmp(k + kl - 8, ".current", 8) == 0;
        if (sp.end == sp.start || (!current && ex->mode != STORE_EXPORT_ARCHIVAL)) continue;
        store_export_span_name(name, sizeof name, vat, sp.start, sp.end);
        s = add_name(ex, name, err);
    }
    leveldb_iter_destroy(it);
    if (s == SWING_OK && ex->nnames) qsort(ex->names, ex->nnames, sizeof *ex->names, name_cmp);
    return s;
}

void store_export_span_name(char *out, size_t cap, const char *vat, uint64_t start,
                            uint64_t end)
{
    snprintf(out, cap, "%s%s.%llu.%llu", STORE_NS_SPAN, vat, (unsigned long long)start,
             (unsigned long long)end);
}

static swing_status snap_get(store_exporter *ex, const char *key, size_t kl, swing_buf *out,
                             bool *found, swing_err *err)
{
    char *msg = NULL;
    size_t n = 0;
    char *v = leveldb_get(ex->db, ex->ro, key, kl, &n, &msg);
    *found = false;
    if (msg) {
        swing_err_set(err, SWING_ERR_IO, "export read failed: %s", msg);
        leveldb_free(msg);
        return SWING_ERR_IO;
    }
    if (!v) return SWING_OK;
    out->ptr = swing_malloc(n);
    if (!out->ptr) {
        leveldb_free(v);
        return SWING_NOMEM(err);
    }
    memcpy(out->ptr, v, n);
    out->len = n;
    leveldb_free(v);
    *found = true;
    return SWING_OK;
}

swing_status store_export_begin(store *st, store_export_mode mode, store_exporter **out,
                                swing_err *err)
{
    store_exporter *ex;
    swing_status s = store_check_usable(st, err);
    *out = NULL;
    if (s) return s;
    if (mode != STORE_EXPORT_OPERATIONAL && mode != STORE_EXPORT_ARCHIVAL)
        return swing_err_set(err, SWING_ERR_INVALID, "unknown export mode");
    ex = swing_calloc(1, sizeof *ex);
    if (!ex) return SWING_NOMEM(err);
    ex->db = st->db;
    ex->mode = mode;
    ex->height = st->height;
    memcpy(ex->activity, st->committed, sizeof ex->activity);
    ex->snap = leveldb_create_snapshot(st->db);
    ex->ro = leveldb_readoptions_create();
    leveldb_readoptions_set_snapshot(ex->ro, ex->snap);
    leveldb_readoptions_set_fill_cache(ex->ro, 0);
    s = collect_names(ex, err);
    if (s) {
        store_exporter_destroy(ex);
        return s;
    }
    *out = ex;
    return SWING_OK;
}

uint64_t store_exporter_height(const store_exporter *ex) { return ex->height; }

const char *store_exporter_activity_hash(const store_exporter *ex) { return ex->activity; }

swing_status store_exporter_data_next(store_exporter *ex, swing_bytes *key,
                                      swing_bytes *value, bool *valid, swing_err *err)
{
    (void)err;
    *valid = false;
    if (!ex->it) {
        ex->it = leveldb_create_iterator(ex->db, ex->ro);
        leveldb_iter_seek_to_first(ex->it);
    } else if (ex->positioned) {
        leveldb_iter_next(ex->it);
    }
    ex->positioned = false;
    for (; leveldb_iter_valid(ex->it); leveldb_iter_next(ex->it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(ex->it, &kl);
        const char *v = leveldb_iter_value(ex->it, &vl);
        if (store_keys_exported(swing_bytes_of(k, kl), swing_bytes_of(v, vl), value)) {
            *key = swing_bytes_of(k, kl);
            *valid = true;
            ex->positioned = true;
            return SWING_OK;
        }
    }
    return SWING_OK;
}

swing_status store_exporter_artifacts(store_exporter *ex, const char *const **names,
                                      size_t *count, swing_err *err)
{
    (void)err;
    *names = (const char *const *)ex->names;
    *count = ex->nnames;
    return SWING_OK;
}

static swing_status read_span(store_exporter *ex, const char *vat, uint64_t start,
                              uint64_t end, swing_buf *out, swing_err *err)
{
    swing_buf acc = {0};
    size_t cap = 0;
    for (uint64_t p = start; p < end; p++) {
        char key[STORE_PKEY_MAX], pos[21];
        swing_buf item = {0};
        bool found;
        int kl;
        swing_status s;
        store_keys_pos(pos, p);
        kl = snprintf(key, sizeof key, "%s%s.%s", STORE_NS_ITEM, vat, pos);
        s = snap_get(ex, key, (size_t)kl, &item, &found, err);
        if (s == SWING_OK && !found)
            s = SWING_CORRUPT(err, "transcript item %s/%llu missing from export", vat,
                              (unsigned long long)p);
        if (s == SWING_OK) s = SWING_VEC_RESERVE(acc.ptr, cap, acc.len + 4 + item.len, 4096, err);
        if (s) {
            swing_buf_free(&item);
            swing_buf_free(&acc);
            return s;
        }
        swing_put_u32be(acc.ptr + acc.len, (uint32_t)item.len);
        if (item.len) memcpy(acc.ptr + acc.len + 4, item.ptr, item.len);
        acc.len += 4 + item.len;
        swing_buf_free(&item);
    }
    *out = acc;
    return SWING_OK;
}

swing_status store_exporter_artifact(store_exporter *ex, const char *name, swing_buf *out,
                                     swing_err *err)
{
    char vat[STORE_VAT_ID_MAX + 1];
    uint64_t start, end;
    bool found;
    out->ptr = NULL;
    out->len = 0;
    if (!ex->nnames || !bsearch(&name, ex->names, ex->nnames, sizeof *ex->names, name_cmp))
        return swing_err_set(err, SWING_ERR_INVALID, "no artifact named %s", name);
    if (strncmp(name, STORE_NS_BUNDLE, strlen(STORE_NS_BUNDLE)) == 0) {
        swing_status s = snap_get(ex, name, strlen(name), out, &found, err);
        if (s == SWING_OK && !found) s = SWING_CORRUPT(err, "bundle %s vanished", name);
        return s;
    }
    if (!store_export_parse_span_name(name, vat, &start, &end))
        return swing_err_set(err, SWING_ERR_INTERNAL, "bad artifact name %s", name);
    return read_span(ex, vat, start, end, out, err);
}

void store_exporter_destroy(store_exporter *ex)
{
    if (!ex) return;
    if (ex->it) leveldb_iter_destroy(ex->it);
    if (ex->ro) leveldb_readoptions_destroy(ex->ro);
    if (ex->snap) leveldb_release_snapshot(ex->db, ex->snap);
    for (size_t i = 0; i < ex->nnames; i++) swing_mfree(ex->names[i]);
    swing_mfree(ex->names);
    swing_mfree(ex);
}

/* ===== directory writer ===== */

static swing_status write_file(const char *dir, const char *file, swing_bytes data,
                               swing_err *err)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    f = fopen(path, "wb");
    if (!f) return swing_err_set(err, SWING_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    if ((data.len && fwrite(data.ptr, 1, data.len, f) != data.len) || fclose(f) != 0)
        return swing_err_set(err, SWING_ERR_IO, "cannot write %s", path);
    return SWING_OK;
}

static swing_status write_data(store_exporter *ex, const char *dir, swing_err *err)
{
    char path[4096];
    FILE *f;
    swing_status s = SWING_OK;
    bool valid;
    swing_bytes k, v;
    snprintf(path, sizeof path, "%s/%s", dir, STORE_EXPORT_DATA_FILE);
    f = fopen(path, "wb");
    if (!f) return swing_err_set(err, SWING_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    fwrite(STORE_EXPORT_MAGIC, 1, strlen(STORE_EXPORT_MAGIC), f);
    while ((s = store_exporter_data_next(ex, &k, &v, &valid, err)) == SWING_OK && valid) {
        uint8_t hdr[4];
        swing_put_u32be(hdr, (uint32_t)k.len);
        fwrite(hdr, 1, 4, f);
        fwrite(k.ptr, 1, k.len, f);
        swing_put_u32be(hdr, (uint32_t)v.len);
        fwrite(hdr, 1, 4, f);
        if (v.len) fwrite(v.ptr, 1, v.len, f);
        ex->written++;
    }
    if (ferror(f) && s == SWING_OK) s = swing_err_set(err, SWING_ERR_IO, "cannot write %s", path);
    if (fclose(f) != 0 && s == SWING_OK) s = swing_err_set(err, SWING_ERR_IO, "cannot write %s", path);
    return s;
}

static swing_status write_manifest(store_exporter *ex, const char *dir, swing_err *err)
{
    json_t *m = json_object(), *arts = json_array();
    swing_status s = SWING_OK;
    char *text = NULL;
    if (!m || !arts) goto nomem;
    for (size_t i = 0; i < ex->nnames; i++) {
        char file[32];
        json_t *pair;
        snprintf(file, sizeof file, "a%06zu", i);
        pair = json_pack("[ss]", ex->names[i], file);
        if (!pair || json_array_append_new(arts, pair)) goto nomem;
    }
    if (json_object_set_new(m, "activityHash", json_string(ex->activity)) ||
        json_object_set_new(m, "format", json_string(STORE_EXPORT_FORMAT)) ||
        json_object_set_new(m, "height", json_integer((json_int_t)ex->height)) ||
        json_object_set_new(m, "mode", json_string(ex->mode == STORE_EXPORT_ARCHIVAL
                                                        ? "archival" : "operational")) ||
        json_object_set_new(m, "data", json_string(STORE_EXPORT_DATA_FILE)) ||
        json_object_set(m, "artifacts", arts))
        goto nomem;
    text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) goto nomem;
    s = write_file(dir, STORE_EXPORT_MANIFEST, swing_str(text), err);
    free(text);
    json_decref(arts);
    json_decref(m);
    return s;
nomem:
    json_decref(arts);
    json_decref(m);
    return SWING_NOMEM(err);
}

swing_status store_exporter_write_dir(store_exporter *ex, const char *dir, swing_err *err)
{
    swing_status s = store_export_prepare_dir(dir, err);
    if (s) return s;
    if (ex->it) {
        leveldb_iter_destroy(ex->it);
        ex->it = NULL;
    }
    ex->written = 0;
    if ((s = write_data(ex, dir, err))) return s;
    for (size_t i = 0; i < ex->nnames; i++) {
        swing_buf a = {0};
        char file[32];
        snprintf(file, sizeof file, "a%06zu", i);
        s = store_exporter_artifact(ex, ex->names[i], &a, err);
        if (s == SWING_OK) s = write_file(dir, file, swing_buf_view(&a), err);
        swing_buf_free(&a);
        if (s) return s;
    }
    return write_manifest(ex, dir, err);
}

/* Canonical decimal: no leading zero unless the number is 0. */
static bool parse_dec(const char *s, size_t n, uint64_t *v)
{
    if (n > 1 && s[0] == '0') return false;
    return store_keys_parse_u64((const uint8_t *)s, n, v);
}

uint64_t store_exporter_written(const store_exporter *ex) { return ex->written; }

bool store_export_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool empty = true;
    if (!d) return false;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            empty = false;
            break;
        }
    }
    closedir(d);
    return empty;
}

bool store_export_parse_span_name(const char *name, char vat[STORE_VAT_ID_MAX + 1],
                                  uint64_t *start, uint64_t *end)
{
    size_t nl = strlen(STORE_NS_SPAN);
    const char *v, *d1, *d2;
    if (strncmp(name, STORE_NS_SPAN, nl) != 0) return false;
    v = name + nl;
    d1 = strchr(v, '.');
    if (!d1) return false;
    d2 = strchr(d1 + 1, '.');
    if (!d2 || strchr(d2 + 1, '.')) return false;
    if ((size_t)(d1 - v) > STORE_VAT_ID_MAX) return false;
    memcpy(vat, v, (size_t)(d1 - v));
    vat[d1 - v] = '\0';
    return store_keys_vat_valid(vat) && parse_dec(d1 + 1, (size_t)(d2 - d1 - 1), start) &&
           parse_dec(d2 + 1, strlen(d2 + 1), end) && *start < *end;
}

swing_status store_export_prepare_dir(const char *dir, swing_err *err)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return swing_err_set(err, SWING_ERR_INVALID, "%s is not a directory", dir);
        if (!store_export_dir_empty(dir))
            return swing_err_set(err, SWING_ERR_INVALID, "directory %s is not empty", dir);
        return SWING_OK;
    }
    if (mkdir(dir, 0755) != 0)
        return swing_err_set(err, SWING_ERR_INVALID, "cannot create %s: %s", dir, strerror(errno));
    return SWING_OK;
}
