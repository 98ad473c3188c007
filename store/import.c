/*
 * import.c - builds a new store from an export directory (format in
 * export.h). Order: read the manifest; check the export data against itself
 * (known key forms, sorted, chunk sets complete, span records canonical,
 * bundle IDs); check every artifact against the export data (bundle hashes,
 * span item counts and hash chains); only then write LevelDB in unsynced
 * batches and one final synced batch. On any failure the target is removed.
 */
#include "store/export.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "store/export_int.h"
#include "store/store_int.h"
#include "store/transcript.h"

#define IMPORT_BATCH_BYTES (8u << 20)

typedef struct artifact {
    char *name;     /* artifact name */
    char *path;     /* file path inside the export dir */
    bool required;  /* named by the export data and needed */
    bool expected;  /* named by the export data */
    bool verified;  /* checked against the export data */
    store_span span;                 /* for transcript artifacts */
    char vat[STORE_VAT_ID_MAX + 1];  /* for transcript artifacts */
} artifact;

typedef struct import_ctx {
    const char *dir;       /* export directory */
    uint64_t height;       /* manifest height */
    char *data_path;       /* export-data file */
    artifact *arts;        /* manifest artifacts, sorted by name */
    size_t narts;
    store_overlay chunks;  /* logical key -> chunk tally (see tally) */
    swing_err *err;
} import_ctx;

/* Chunk tally per chunked key: chunks seen, bytes seen, last chunk size,
 * header (chunks, size) once seen. Stored as the overlay value. */
typedef struct tally {
    uint32_t seen, hdr_chunks;
    uint64_t bytes, hdr_size, last;
    bool header;
} tally;

/* ===== reading files ===== */

static swing_status read_file(const char *path, swing_buf *out, size_t max, swing_err *err)
{
    FILE *f = fopen(path, "rb");
    long n;
    out->ptr = NULL;
    out->len = 0;
    if (!f) return swing_err_set(err, SWING_ERR_INVALID, "cannot open %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return swing_err_set(err, SWING_ERR_IO, "cannot read %s", path);
    }
    if ((size_t)n > max) {
        fclose(f);
        return swing_err_set(err, SWING_ERR_INVALID, "%s is too large (%ld bytes)", path, n);
    }
    out->ptr = swing_malloc((size_t)n);
    if (!out->ptr) {
        fclose(f);
        return SWING_NOMEM(err);
    }
    if (n && fread(out->ptr, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        swing_buf_free(out);
        return swing_err_set(err, SWING_ERR_IO, "cannot read %s", path);
    }
    fclose(f);
    out->len = (size_t)n;
    return SWING_OK;
}

/* Streams the export-data file, calling fn per entry. */
typedef swing_status (*entry_fn)(import_ctx *c, swing_bytes key, swing_bytes val, void *arg);

static swing_status read_exact(FILE *f, void *p, size_t n, bool *eof)
{
    size_t got = n ? fread(p, 1, n, f) : 0;
    *eof = got == 0 && feof(f);
    return got == n ? SWING_OK : SWING_ERR_INVALID;
}

static swing_status for_each_entry(import_ctx *c, entry_fn fn, void *arg)
{
    FILE *f = fopen(c->data_path, "rb");
    char magic[8];
    size_t ml = strlen(STORE_EXPORT_MAGIC);
    uint8_t *kb = NULL, *vb = NULL;
    swing_buf prev = {0};
    swing_status s = SWING_OK;
    bool eof;
    if (!f) return swing_err_set(c->err, SWING_ERR_INVALID, "cannot open export data");
    kb = swing_malloc(STORE_PKEY_MAX);
    vb = swing_malloc(STORE_CHUNK_SIZE + 1);
    prev.ptr = swing_malloc(STORE_PKEY_MAX);
    if (!kb || !vb || !prev.ptr) {
        s = SWING_NOMEM(c->err);
        goto out;
    }
    if (read_exact(f, magic, ml, &eof) || memcmp(magic, STORE_EXPORT_MAGIC, ml) != 0) {
        s = swing_err_set(c->err, SWING_ERR_INVALID, "export data has no valid header");
        goto out;
    }
    for (;;) {
        uint8_t hdr[4];
        uint32_t kl, vl;
        if (read_exact(f, hdr, 4, &eof)) {
            if (!eof) s = swing_err_set(c->err, SWING_ERR_INVALID, "export data is truncated");
            break;
        }
        kl = store_export_get_u32(hdr);
        if (kl == 0 || kl > STORE_PKEY_MAX || read_exact(f, kb, kl, &eof) ||
            read_exact(f, hdr, 4, &eof)) {
            s = swing_err_set(c->err, SWING_ERR_INVALID, "export data entry is malformed");
            break;
        }
        vl = store_export_get_u32(hdr);
        if (vl > STORE_CHUNK_SIZE || read_exact(f, vb, vl, &eof)) {
            s = swing_err_set(c->err, SWING_ERR_INVALID, "export data value is malformed");
            break;
        }
        if (prev.len && swing_bytes_cmp(swing_bytes_of(kb, kl), swing_buf_view(&prev)) <= 0) {
            s = swing_err_set(c->err, SWING_ERR_INVALID, "export data is not sorted");
            break;
        }
        memcpy(prev.ptr, kb, kl);
        prev.len = kl;
        if ((s = fn(c, swing_bytes_of(kb, kl), swing_bytes_of(vb, vl), arg))) break;
    }
out:
    fclose(f);
    swing_mfree(kb);
    swing_mfree(vb);
    swing_buf_free(&prev);
    return s;
}

/* ===== manifest ===== */

static bool safe_file_name(const char *f)
{
    if (!*f || strlen(f) > 64 || strcmp(f, ".") == 0 || strcmp(f, "..") == 0) return false;
    for (; *f; f++)
        if (!((*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z') || (*f >= '0' && *f <= '9') ||
              *f == '.' || *f == '_' || *f == '-'))
            return false;
    return true;
}

static int art_cmp(const void *a, const void *b)
{
    return strcmp(((const artifact *)a)->name, ((const artifact *)b)->name);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = swing_malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static swing_status load_manifest(import_ctx *c)
{
    char *path = join_path(c->dir, STORE_EXPORT_MANIFEST);
    json_error_t je;
    json_t *m, *arts, *h;
    const char *fmt, *data;
    swing_status s = SWING_OK;
    if (!path) return SWING_NOMEM(c->err);
    m = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    swing_mfree(path);
    if (!m) return swing_err_set(c->err, SWING_ERR_INVALID, "bad manifest: %s (line %d)", je.text, je.line);
    fmt = json_string_value(json_object_get(m, "format"));
    data = json_string_value(json_object_get(m, "data"));
    h = json_object_get(m, "height");
    arts = json_object_get(m, "artifacts");
    if (!fmt || strcmp(fmt, STORE_EXPORT_FORMAT) != 0 || !data || !safe_file_name(data) ||
        !json_is_integer(h) || json_integer_value(h) < 0 || !json_is_array(arts)) {
        json_decref(m);
        return swing_err_set(c->err, SWING_ERR_INVALID, "manifest lacks a valid format, data, height or artifacts");
    }
    c->height = (uint64_t)json_integer_value(h);
    c->data_path = join_path(c->dir, data);
    c->narts = json_array_size(arts);
    c->arts = swing_calloc(c->narts ? c->narts : 1, sizeof *c->arts);
    if (!c->data_path || !c->arts) {
        c->narts = 0;
        json_decref(m);
        return SWING_NOMEM(c->err);
    }
    for (size_t i = 0; i < c->narts && s == SWING_OK; i++) {
        json_t *pair = json_array_get(arts, i);
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *file = json_string_value(json_array_get(pair, 1));
        if (json_array_size(pair) != 2 || !name || !file || !safe_file_name(file) ||
            strlen(name) >= STORE_PKEY_MAX) {
            s = swing_err_set(c->err, SWING_ERR_INVALID, "manifest artifact %zu is malformed", i);
            break;
        }
        c->arts[i].name = swing_strdup(name);
        c->arts[i].path = join_path(c->dir, file);
        if (!c->arts[i].name || !c->arts[i].path) s = SWING_NOMEM(c->err);
    }
    json_decref(m);
    if (s) return s;
    qsort(c->arts, c->narts, sizeof *c->arts, art_cmp);
    for (size_t i = 1; i < c->narts; i++)
        if (strcmp(c->arts[i - 1].name, c->arts[i].name) == 0)
            return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s listed twice", c->arts[i].name);
    return SWING_OK;
}

static artifact *find_art(import_ctx *c, const char *name)
{
    artifact key;
    key.name = (char *)name;
    return bsearch(&key, c->arts, c->narts, sizeof *c->arts, art_cmp);
}

/* ===== pass 1: the export data checked against itself ===== */

static swing_status get_tally(import_ctx *c, swing_bytes key, tally *t)
{
    store_ov_entry *e = store_overlay_find(&c->chunks, key);
    memset(t, 0, sizeof *t);
    if (e && e->vlen == sizeof *t) memcpy(t, e->data + e->klen, sizeof *t);
    return SWING_OK;
}

static swing_status put_tally(import_ctx *c, swing_bytes key, const tally *t)
{
    return store_overlay_put(&c->chunks, key, swing_bytes_of(t, sizeof *t), false, c->err);
}

static swing_status check_chunk(import_ctx *c, swing_bytes body, swing_bytes val)
{
    swing_bytes key;
    uint32_t idx;
    tally t;
    if (!store_keys_parse_chunk(body, &key, &idx) || key.len == 0 || key.len > STORE_KEY_MAX ||
        store_keys_class(key) != STORE_CLASS_CONSENSUS)
        return swing_err_set(c->err, SWING_ERR_INVALID, "malformed chunk key in export data");
    get_tally(c, key, &t);
    if (idx != t.seen || (t.seen > 0 && t.last != STORE_CHUNK_SIZE) || val.len == 0)
        return SWING_CORRUPT(c->err, "chunks of a value are out of sequence or mis-sized");
    t.seen++;
    t.bytes += val.len;
    t.last = val.len;
    return put_tally(c, key, &t);
}

static swing_status check_header(import_ctx *c, swing_bytes key, swing_bytes val)
{
    store_chunk_info info;
    tally t;
    if (key.len == 0 || key.len > STORE_KEY_MAX || store_keys_class(key) != STORE_CLASS_CONSENSUS ||
        !store_chunk_parse_header(val, &info))
        return swing_err_set(c->err, SWING_ERR_INVALID, "malformed chunk header in export data");
    get_tally(c, key, &t);
    if (t.seen != info.chunks || t.bytes != info.size)
        return SWING_CORRUPT(c->err, "chunked value has %u of %u chunks (%llu of %llu bytes)",
                             (unsigned)t.seen, (unsigned)info.chunks, (unsigned long long)t.bytes,
                             (unsigned long long)info.size);
    t.header = true;
    return put_tally(c, key, &t);
}

static swing_status check_span(import_ctx *c, swing_bytes body, swing_bytes val)
{
    char vat[STORE_VAT_ID_MAX + 1], name[STORE_PKEY_MAX], tail[32];
    store_span sp;
    artifact *a;
    size_t vl;
    if (!store_transcript_parse(val, vat, &sp))
        return swing_err_set(c->err, SWING_ERR_INVALID, "malformed span record in export data");
    vl = strlen(vat);
    if (body.len <= vl + 1 || memcmp(body.ptr, vat, vl) != 0 || body.ptr[vl] != '.' ||
        body.len - vl - 1 >= sizeof tail)
        return swing_err_set(c->err, SWING_ERR_INVALID, "span record key does not match its vat");
    memcpy(tail, body.ptr + vl + 1, body.len - vl - 1);
    tail[body.len - vl - 1] = '\0';
    if (strcmp(tail, "current") != 0) {
        uint64_t start;
        if (!store_keys_parse_pos((const uint8_t *)tail, strlen(tail), &start) || start != sp.start ||
            sp.end == sp.start)
            return swing_err_set(c->err, SWING_ERR_INVALID, "closed span record key is malformed");
    }
    if (sp.end == sp.start) return SWING_OK;
    store_export_span_name(name, sizeof name, vat, sp.start, sp.end);
    a = find_art(c, name);
    if (strcmp(tail, "current") == 0 && !a)
        return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s is missing", name);
    if (a) {
        a->expected = true;
        a->required = true;
        a->span = sp;
        memcpy(a->vat, vat, sizeof a->vat);
    }
    return SWING_OK;
}

static swing_status check_bundle(import_ctx *c, swing_bytes body, swing_bytes val)
{
    char id[STORE_BUNDLE_ID_LEN + 1], name[STORE_PKEY_MAX];
    artifact *a;
    if (body.len != STORE_BUNDLE_ID_LEN || swing_bytes_cmp(body, val) != 0)
        return swing_err_set(c->err, SWING_ERR_INVALID, "malformed bundle entry in export data");
    memcpy(id, body.ptr, body.len);
    id[body.len] = '\0';
    if (!store_bundle_id_valid(id))
        return swing_err_set(c->err, SWING_ERR_INVALID, "malformed bundle ID in export data");
    snprintf(name, sizeof name, "%s%s", STORE_NS_BUNDLE, id);
    if (!(a = find_art(c, name)))
        return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s is missing", name);
    a->expected = a->required = true;
    return SWING_OK;
}

static swing_bytes after(swing_bytes k, const char *ns)
{
    size_t n = strlen(ns);
    return swing_bytes_of(k.ptr + n, k.len - n);
}

static swing_status check_entry(import_ctx *c, swing_bytes k, swing_bytes v, void *arg)
{
    (void)arg;
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KV))) {
        swing_bytes key = after(k, STORE_NS_KV);
        if (key.len == 0 || key.len > STORE_KEY_MAX || store_keys_class(key) != STORE_CLASS_CONSENSUS)
            return swing_err_set(c->err, SWING_ERR_INVALID, "export data names a non-consensus kv key");
        return SWING_OK;
    }
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KVC))) return check_chunk(c, after(k, STORE_NS_KVC), v);
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KVH))) return check_header(c, after(k, STORE_NS_KVH), v);
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_SPAN))) return check_span(c, after(k, STORE_NS_SPAN), v);
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_BUNDLE))) return check_bundle(c, after(k, STORE_NS_BUNDLE), v);
    return swing_err_set(c->err, SWING_ERR_INVALID, "export data holds an unknown key");
}

/* Pass 1b: an inline kv.<key> must not coexist with a chunked form. */
static swing_status check_inline(import_ctx *c, swing_bytes k, swing_bytes v, void *arg)
{
    (void)v;
    (void)arg;
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KV)) &&
        store_overlay_find(&c->chunks, after(k, STORE_NS_KV)))
        return SWING_CORRUPT(c->err, "a kv key is exported both inline and chunked");
    return SWING_OK;
}

static swing_status check_tallies(import_ctx *c)
{
    for (store_ov_entry *e = store_overlay_first(&c->chunks); e; e = store_overlay_next(e)) {
        tally t;
        memcpy(&t, e->data + e->klen, sizeof t);
        if (!t.header) return SWING_CORRUPT(c->err, "export data holds chunks without a header");
    }
    return SWING_OK;
}

/* ===== pass 2: artifacts against the export data ===== */

static swing_status check_span_bytes(import_ctx *c, artifact *a, swing_bytes data)
{
    char hash[SWING_SHA256_HEX_LEN + 1];
    uint64_t n = 0;
    size_t off = 0;
    store_transcript_seed(hash);
    while (off < data.len) {
        uint32_t il;
        if (data.len - off < 4) break;
        il = store_export_get_u32(data.ptr + off);
        if (data.len - off - 4 < il) break;
        store_transcript_step(hash, swing_bytes_of(data.ptr + off + 4, il));
        off += 4 + (size_t)il;
        n++;
    }
    if (off != data.len)
        return SWING_CORRUPT(c->err, "artifact %s is truncated", a->name);
    if (n != a->span.end - a->span.start || strcmp(hash, a->span.hash) != 0)
        return SWING_CORRUPT(c->err, "artifact %s does not match its span hash", a->name);
    return SWING_OK;
}

static swing_status verify_artifact(import_ctx *c, artifact *a)
{
    swing_buf data = {0};
    swing_status s;
    if (!a->expected)
        return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s is not named by the export data", a->name);
    s = read_file(a->path, &data, (size_t)STORE_BUNDLE_MAX + (1u << 30), c->err);
    if (s) return s;
    if (strncmp(a->name, STORE_NS_BUNDLE, strlen(STORE_NS_BUNDLE)) == 0) {
        char hex[SWING_SHA256_HEX_LEN + 1];
        swing_sha256_hex(data.ptr, data.len, hex);
        if (strcmp(hex, a->name + strlen(STORE_NS_BUNDLE) + 3) != 0)
            s = SWING_CORRUPT(c->err, "artifact %s does not match its hash", a->name);
    } else {
        s = check_span_bytes(c, a, swing_buf_view(&data));
    }
    swing_buf_free(&data);
    if (s == SWING_OK) a->verified = true;
    return s;
}

/* ===== pass 3: writing ===== */

typedef struct writer {
    leveldb_t *db;
    leveldb_writebatch_t *batch;
    leveldb_writeoptions_t *wo;
    size_t pending;
} writer;

static swing_status flush(import_ctx *c, writer *w, bool sync)
{
    char *msg = NULL;
    leveldb_writeoptions_set_sync(w->wo, sync ? 1 : 0);
    leveldb_write(w->db, w->wo, w->batch, &msg);
    leveldb_writebatch_clear(w->batch);
    w->pending = 0;
    if (!msg) return SWING_OK;
    swing_err_set(c->err, SWING_ERR_IO, "import write failed: %s", msg);
    leveldb_free(msg);
    return SWING_ERR_IO;
}

static swing_status put(import_ctx *c, writer *w, swing_bytes k, swing_bytes v)
{
    leveldb_writebatch_put(w->batch, (const char *)k.ptr, k.len, (const char *)v.ptr, v.len);
    w->pending += k.len + v.len;
    return w->pending >= IMPORT_BATCH_BYTES ? flush(c, w, false) : SWING_OK;
}

static swing_status write_entry(import_ctx *c, swing_bytes k, swing_bytes v, void *arg)
{
    writer *w = arg;
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_BUNDLE))) {
        artifact *a;
        char name[STORE_PKEY_MAX];
        swing_buf data = {0};
        swing_status s;
        snprintf(name, sizeof name, "%.*s", (int)k.len, (const char *)k.ptr);
        a = find_art(c, name);
        if (!a || !a->verified) return swing_err_set(c->err, SWING_ERR_INTERNAL, "unverified bundle");
        s = read_file(a->path, &data, STORE_BUNDLE_MAX, c->err);
        if (s == SWING_OK) s = put(c, w, k, swing_buf_view(&data));
        swing_buf_free(&data);
        return s;
    }
    return put(c, w, k, v);
}

static swing_status write_items(import_ctx *c, writer *w, artifact *a)
{
    swing_buf data = {0};
    size_t off = 0;
    uint64_t pos = a->span.start;
    swing_status s = read_file(a->path, &data, (size_t)STORE_BUNDLE_MAX + (1u << 30), c->err);
    while (s == SWING_OK && off < data.len) {
        char key[STORE_PKEY_MAX], p[21];
        uint32_t il = store_export_get_u32(data.ptr + off);
        int kl;
        store_keys_pos(p, pos++);
        kl = snprintf(key, sizeof key, "%s%s.%s", STORE_NS_ITEM, a->vat, p);
        s = put(c, w, swing_bytes_of(key, (size_t)kl), swing_bytes_of(data.ptr + off + 4, il));
        off += 4 + (size_t)il;
    }
    swing_buf_free(&data);
    return s;
}

static swing_status write_store(import_ctx *c, const char *db_dir)
{
    leveldb_options_t *o = leveldb_options_create();
    writer w = {0};
    char *msg = NULL, hbuf[24];
    swing_status s = SWING_OK;
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_options_set_error_if_exists(o, 1);
    leveldb_options_set_write_buffer_size(o, 64u << 20);
    w.db = leveldb_open(o, db_dir, &msg);
    if (msg) {
        s = swing_err_set(c->err, SWING_ERR_IO, "cannot create %s: %s", db_dir, msg);
        leveldb_free(msg);
        leveldb_options_destroy(o);
        return s;
    }
    w.batch = leveldb_writebatch_create();
    w.wo = leveldb_writeoptions_create();
    s = for_each_entry(c, write_entry, &w);
    for (size_t i = 0; s == SWING_OK && i < c->narts; i++)
        if (c->arts[i].verified && c->arts[i].vat[0]) s = write_items(c, &w, &c->arts[i]);
    if (s == SWING_OK) {
        snprintf(hbuf, sizeof hbuf, "%llu", (unsigned long long)c->height);
        s = put(c, &w, swing_str(STORE_NS_KV STORE_KEY_HEIGHT), swing_str(hbuf));
    }
    if (s == SWING_OK) s = put(c, &w, swing_str(STORE_KEY_FORMAT), swing_str(STORE_FORMAT));
    if (s == SWING_OK) s = flush(c, &w, true);
    leveldb_writebatch_destroy(w.batch);
    leveldb_writeoptions_destroy(w.wo);
    leveldb_close(w.db);
    if (s) {
        char *m2 = NULL;
        leveldb_destroy_db(o, db_dir, &m2);
        leveldb_free(m2);
    }
    leveldb_options_destroy(o);
    return s;
}

static void ctx_free(import_ctx *c)
{
    for (size_t i = 0; i < c->narts; i++) {
        swing_mfree(c->arts[i].name);
        swing_mfree(c->arts[i].path);
    }
    swing_mfree(c->arts);
    swing_mfree(c->data_path);
    store_overlay_clear(&c->chunks);
}

swing_status store_import_dir(const char *export_dir, const char *db_dir, swing_err *err)
{
    import_ctx c;
    swing_status s;
    bool created = false;
    struct stat sb;
    memset(&c, 0, sizeof c);
    c.dir = export_dir;
    c.err = err;
    store_overlay_init(&c.chunks);
    if (stat(db_dir, &sb) == 0 && (!S_ISDIR(sb.st_mode) || !store_export_dir_empty(db_dir)))
        return swing_err_set(err, SWING_ERR_INVALID, "import target %s exists and is not an empty directory", db_dir);
    s = load_manifest(&c);
    if (s == SWING_OK) s = for_each_entry(&c, check_entry, NULL);
    if (s == SWING_OK) s = check_tallies(&c);
    if (s == SWING_OK && c.chunks.count) s = for_each_entry(&c, check_inline, NULL);
    for (size_t i = 0; s == SWING_OK && i < c.narts; i++) s = verify_artifact(&c, &c.arts[i]);
    if (s == SWING_OK) {
        created = stat(db_dir, &sb) != 0;
        s = store_export_prepare_dir(db_dir, err);
        if (s == SWING_OK) s = write_store(&c, db_dir);
        if (s && created) rmdir(db_dir);
    }
    ctx_free(&c);
    return s;
}
