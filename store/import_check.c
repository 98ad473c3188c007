/*
 * import_check.c - verification of an export directory, writing nothing
 * (format in export.h, docs/store.md "Import"). Order: the trusted
 * expectation is well formed; the manifest; its height is the expected
 * one; the export data against itself (known key forms, strictly sorted,
 * chunk sets complete, span records canonical, bundle IDs) while its state
 * digest is summed; the committed activity hash those entries give at the
 * expected height is the expected one; every artifact against the export
 * data (bundle hash, span item count and hash chain).
 */
#include "store/import_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "store/export_int.h"
#include "store/store_int.h"
#include "store/transcript.h"

/* Chunk tally per chunked key: chunks seen, bytes seen, last chunk size,
 * header (chunks, size) once seen. Stored as the overlay value. */
typedef struct tally {
    uint32_t seen;
    uint64_t bytes, last;
    bool header;
} tally;

void store_import_ctx_init(store_import_ctx *c, const char *dir, const store_import_expect *expect,
                           swing_err *err)
{
    memset(c, 0, sizeof *c);
    c->dir = dir;
    c->expect = expect;
    c->err = err;
    store_overlay_init(&c->chunks);
    store_digest_init(&c->dig);
}

void store_import_ctx_free(store_import_ctx *c)
{
    for (size_t i = 0; i < c->narts; i++) {
        swing_mfree(c->arts[i].name);
        swing_mfree(c->arts[i].path);
    }
    swing_mfree(c->arts);
    swing_mfree(c->data_path);
    store_overlay_clear(&c->chunks);
    c->arts = NULL;
    c->narts = 0;
    c->data_path = NULL;
}

/* ===== reading files ===== */

swing_status store_import_read_file(const char *path, swing_buf *out, size_t max, swing_err *err)
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
    out->ptr = swing_malloc(n ? (size_t)n : 1);
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

static swing_status read_exact(FILE *f, void *p, size_t n, bool *eof)
{
    size_t got = n ? fread(p, 1, n, f) : 0;
    *eof = got == 0 && feof(f);
    return got == n ? SWING_OK : SWING_ERR_INVALID;
}

swing_status store_import_entries(store_import_ctx *c, store_import_entry_fn fn, void *arg)
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
        kl = swing_get_u32be(hdr);
        if (kl == 0 || kl > STORE_PKEY_MAX || read_exact(f, kb, kl, &eof) ||
            read_exact(f, hdr, 4, &eof)) {
            s = swing_err_set(c->err, SWING_ERR_INVALID, "export data entry is malformed");
            break;
        }
        vl = swing_get_u32be(hdr);
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

/* ===== the expectation and the manifest ===== */

static bool lower_hex64(const char *h)
{
    size_t n = 0;
    if (!h) return false;
    for (; h[n]; n++)
        if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f'))) return false;
    return n == SWING_SHA256_HEX_LEN;
}

static swing_status check_expect(store_import_ctx *c)
{
    const store_import_expect *x = c->expect;
    if (!x || x->height == 0 || !lower_hex64(x->activity_hash))
        return swing_err_set(c->err, SWING_ERR_INVALID,
                             "import needs the expected height and activity hash of the exported state "
                             "(from the chain, 64 lowercase hex digits); an unverified import is refused");
    return SWING_OK;
}

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
    return strcmp(((const store_import_art *)a)->name, ((const store_import_art *)b)->name);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = swing_malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static swing_status load_artifacts(store_import_ctx *c, json_t *arts)
{
    c->narts = json_array_size(arts);
    c->arts = swing_calloc(c->narts ? c->narts : 1, sizeof *c->arts);
    if (!c->arts) {
        c->narts = 0;
        return SWING_NOMEM(c->err);
    }
    for (size_t i = 0; i < c->narts; i++) {
        json_t *pair = json_array_get(arts, i);
        const char *name = json_string_value(json_array_get(pair, 0));
        const char *file = json_string_value(json_array_get(pair, 1));
        if (json_array_size(pair) != 2 || !name || !file || !safe_file_name(file) ||
            strlen(name) >= STORE_PKEY_MAX)
            return swing_err_set(c->err, SWING_ERR_INVALID, "manifest artifact %zu is malformed", i);
        c->arts[i].name = swing_strdup(name);
        c->arts[i].path = join_path(c->dir, file);
        if (!c->arts[i].name || !c->arts[i].path) return SWING_NOMEM(c->err);
    }
    if (c->narts) qsort(c->arts, c->narts, sizeof *c->arts, art_cmp);
    for (size_t i = 1; i < c->narts; i++)
        if (strcmp(c->arts[i - 1].name, c->arts[i].name) == 0)
            return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s listed twice", c->arts[i].name);
    return SWING_OK;
}

static swing_status load_manifest(store_import_ctx *c)
{
    char *path = join_path(c->dir, STORE_EXPORT_MANIFEST);
    json_error_t je;
    json_t *m, *arts, *h;
    const char *fmt, *data, *claimed;
    swing_status s;
    if (!path) return SWING_NOMEM(c->err);
    m = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    swing_mfree(path);
    if (!m) return swing_err_set(c->err, SWING_ERR_INVALID, "bad manifest: %s (line %d)", je.text, je.line);
    fmt = json_string_value(json_object_get(m, "format"));
    data = json_string_value(json_object_get(m, "data"));
    claimed = json_string_value(json_object_get(m, "activityHash"));
    h = json_object_get(m, "height");
    arts = json_object_get(m, "artifacts");
    if (!fmt || strcmp(fmt, STORE_EXPORT_FORMAT) != 0 || !data || !safe_file_name(data) ||
        !json_is_integer(h) || json_integer_value(h) < 0 || !json_is_array(arts)) {
        json_decref(m);
        return swing_err_set(c->err, SWING_ERR_INVALID, "manifest lacks a valid format, data, height or artifacts");
    }
    c->height = (uint64_t)json_integer_value(h);
    snprintf(c->claimed, sizeof c->claimed, "%s", lower_hex64(claimed) ? claimed : "?");
    c->data_path = join_path(c->dir, data);
    s = c->data_path ? load_artifacts(c, arts) : SWING_NOMEM(c->err);
    json_decref(m);
    return s;
}

store_import_art *store_import_find_art(store_import_ctx *c, const char *name)
{
    store_import_art key;
    key.name = (char *)name;
    return c->narts ? bsearch(&key, c->arts, c->narts, sizeof *c->arts, art_cmp) : NULL;
}

/* ===== the export data checked against itself ===== */

static void get_tally(store_import_ctx *c, swing_bytes key, tally *t)
{
    store_ov_entry *e = store_overlay_find(&c->chunks, key);
    memset(t, 0, sizeof *t);
    if (e && e->vlen == sizeof *t) memcpy(t, e->data + e->klen, sizeof *t);
}

static swing_status put_tally(store_import_ctx *c, swing_bytes key, const tally *t)
{
    return store_overlay_put(&c->chunks, key, swing_bytes_of(t, sizeof *t), false, c->err);
}

static swing_status check_chunk(store_import_ctx *c, swing_bytes body, swing_bytes val)
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

static swing_status check_header(store_import_ctx *c, swing_bytes key, swing_bytes val)
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

static swing_status check_span(store_import_ctx *c, swing_bytes body, swing_bytes val)
{
    char vat[STORE_VAT_ID_MAX + 1], name[STORE_PKEY_MAX], tail[32];
    store_span sp;
    store_import_art *a;
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
    a = store_import_find_art(c, name);
    if (strcmp(tail, "current") == 0 && !a)
        return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s is missing", name);
    if (a) {
        a->expected = true;
        a->span = sp;
        memcpy(a->vat, vat, sizeof a->vat);
    }
    return SWING_OK;
}

static swing_status check_bundle(store_import_ctx *c, swing_bytes body, swing_bytes val)
{
    char id[STORE_BUNDLE_ID_LEN + 1], name[STORE_PKEY_MAX];
    store_import_art *a;
    if (body.len != STORE_BUNDLE_ID_LEN || swing_bytes_cmp(body, val) != 0)
        return swing_err_set(c->err, SWING_ERR_INVALID, "malformed bundle entry in export data");
    memcpy(id, body.ptr, body.len);
    id[body.len] = '\0';
    if (!store_bundle_id_valid(id))
        return swing_err_set(c->err, SWING_ERR_INVALID, "malformed bundle ID in export data");
    snprintf(name, sizeof name, "%s%s", STORE_NS_BUNDLE, id);
    if (!(a = store_import_find_art(c, name)))
        return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s is missing", name);
    a->expected = true;
    return SWING_OK;
}

static swing_bytes after(swing_bytes k, const char *ns)
{
    size_t n = strlen(ns);
    return swing_bytes_of(k.ptr + n, k.len - n);
}

static swing_status check_kv(store_import_ctx *c, swing_bytes key, swing_bytes v)
{
    if (key.len == 0 || key.len > STORE_KEY_MAX || store_keys_class(key) != STORE_CLASS_CONSENSUS)
        return swing_err_set(c->err, SWING_ERR_INVALID, "export data names a non-consensus kv key");
    if (swing_bytes_cmp(key, swing_str(STORE_KEY_ACTIVITY)) == 0) {
        char chain[SWING_SHA256_HEX_LEN + 1];
        snprintf(chain, sizeof chain, "%.*s", (int)(v.len < sizeof chain ? v.len : 0), (const char *)v.ptr);
        if (v.len != SWING_SHA256_HEX_LEN || !lower_hex64(chain))
            return swing_err_set(c->err, SWING_ERR_INVALID, "export data holds a malformed activityhash");
        memcpy(c->chain, chain, sizeof chain);
    }
    return SWING_OK;
}

static swing_status check_entry(store_import_ctx *c, swing_bytes k, swing_bytes v, void *arg)
{
    swing_status s;
    (void)arg;
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KV))) s = check_kv(c, after(k, STORE_NS_KV), v);
    else if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KVC))) s = check_chunk(c, after(k, STORE_NS_KVC), v);
    else if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KVH))) s = check_header(c, after(k, STORE_NS_KVH), v);
    else if (swing_bytes_has_prefix(k, swing_str(STORE_NS_SPAN))) s = check_span(c, after(k, STORE_NS_SPAN), v);
    else if (swing_bytes_has_prefix(k, swing_str(STORE_NS_BUNDLE))) s = check_bundle(c, after(k, STORE_NS_BUNDLE), v);
    else s = swing_err_set(c->err, SWING_ERR_INVALID, "export data holds an unknown key");
    if (s == SWING_OK) store_digest_add(&c->dig, k, v);
    return s;
}

/* An inline kv.<key> must not coexist with a chunked form. */
static swing_status check_inline(store_import_ctx *c, swing_bytes k, swing_bytes v, void *arg)
{
    (void)v;
    (void)arg;
    if (swing_bytes_has_prefix(k, swing_str(STORE_NS_KV)) &&
        store_overlay_find(&c->chunks, after(k, STORE_NS_KV)))
        return SWING_CORRUPT(c->err, "a kv key is exported both inline and chunked");
    return SWING_OK;
}

static swing_status check_tallies(store_import_ctx *c)
{
    for (store_ov_entry *e = store_overlay_first(&c->chunks); e; e = store_overlay_next(e)) {
        tally t;
        memcpy(&t, e->data + e->klen, sizeof t);
        if (!t.header) return SWING_CORRUPT(c->err, "export data holds chunks without a header");
    }
    return SWING_OK;
}

/* The export data, as summed, is the expected state: same committed hash. */
static swing_status check_binding(store_import_ctx *c)
{
    char got[SWING_SHA256_HEX_LEN + 1];
    store_digest_activity_hash(c->expect->height, c->chain, &c->dig, got);
    if (strcmp(got, c->expect->activity_hash) == 0) return SWING_OK;
    return SWING_CORRUPT(c->err,
                         "export data is not the expected state: at height %llu it gives activity hash %s, "
                         "expected %s (the manifest claims %s)",
                         (unsigned long long)c->expect->height, got, c->expect->activity_hash, c->claimed);
}

/* ===== artifacts against the export data ===== */

static swing_status check_span_bytes(store_import_ctx *c, const store_import_art *a, swing_bytes data)
{
    char hash[SWING_SHA256_HEX_LEN + 1];
    uint64_t n = 0;
    size_t off = 0;
    store_transcript_seed(hash);
    while (off < data.len) {
        uint32_t il;
        if (data.len - off < 4) break;
        il = swing_get_u32be(data.ptr + off);
        if (data.len - off - 4 < il) break;
        store_transcript_step(hash, swing_bytes_of(data.ptr + off + 4, il));
        off += 4 + (size_t)il;
        n++;
    }
    if (off != data.len) return SWING_CORRUPT(c->err, "artifact %s is truncated", a->name);
    if (n != a->span.end - a->span.start || strcmp(hash, a->span.hash) != 0)
        return SWING_CORRUPT(c->err, "artifact %s does not match its span hash", a->name);
    return SWING_OK;
}

swing_status store_import_check_artifact(store_import_ctx *c, const store_import_art *a,
                                         swing_bytes data)
{
    if (!a->vat[0]) {
        char hex[SWING_SHA256_HEX_LEN + 1];
        swing_sha256_hex(data.ptr, data.len, hex);
        if (strcmp(hex, a->name + strlen(STORE_NS_BUNDLE) + 3) != 0)
            return SWING_CORRUPT(c->err, "artifact %s does not match its hash", a->name);
        return SWING_OK;
    }
    return check_span_bytes(c, a, data);
}

static swing_status verify_artifact(store_import_ctx *c, store_import_art *a)
{
    swing_buf data = {0};
    swing_status s;
    if (!a->expected)
        return swing_err_set(c->err, SWING_ERR_INVALID, "artifact %s is not named by the export data", a->name);
    s = store_import_read_file(a->path, &data, a->vat[0] ? STORE_IMPORT_ARTIFACT_MAX : STORE_BUNDLE_MAX,
                               c->err);
    if (s == SWING_OK) s = store_import_check_artifact(c, a, swing_buf_view(&data));
    swing_buf_free(&data);
    if (s == SWING_OK) a->verified = true;
    return s;
}

swing_status store_import_verify(store_import_ctx *c)
{
    swing_status s = check_expect(c);
    if (s || (s = load_manifest(c))) return s;
    if (c->height != c->expect->height)
        return SWING_CORRUPT(c->err, "export is of height %llu, but height %llu was expected",
                             (unsigned long long)c->height, (unsigned long long)c->expect->height);
    if ((s = store_import_entries(c, check_entry, NULL))) return s;
    if ((s = check_tallies(c))) return s;
    if (c->chunks.count && (s = store_import_entries(c, check_inline, NULL))) return s;
    if ((s = check_binding(c))) return s;
    for (size_t i = 0; s == SWING_OK && i < c->narts; i++) s = verify_artifact(c, &c->arts[i]);
    return s;
}
