/*
 * handle.c - swing_open / swing_call / swing_close: checks the request's
 * strings on the wire, decodes the protobuf envelope, checks the ABI version
 * and the sticky panic, dispatches one operation, and packs the response
 * (its strings repaired to UTF-8) into a buffer the caller frees with
 * swing_free. Also the per-call arena of host.h.
 */
#include "abi/host.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "liveslots/lua/runtime.h"
#include "base/vec.h"

/* ---- arena ---- */

/* Appends p to a growing pointer array (*v, *n, *cap). */
static bool keep_ptr(void ***v, size_t *n, size_t *cap, void *p)
{
    if (SWING_VEC_RESERVE(*v, *cap, *n + 1, 16, NULL)) return false;
    (*v)[(*n)++] = p;
    return true;
}

void *host_alloc(host_arena *a, size_t n)
{
    void *p = swing_calloc(1, n ? n : 1);
    if (p && !keep_ptr(&a->v, &a->n, &a->cap, p)) {
        swing_mfree(p);
        return NULL;
    }
    return p;
}

char *host_strndup(host_arena *a, const void *p, size_t n)
{
    char *s = host_alloc(a, n + 1);
    if (s && n) memcpy(s, p, n);
    return s;
}

char *host_strdup(host_arena *a, const char *s) { return host_strndup(a, s, strlen(s)); }

bool host_push(host_arena *a, void ***arr, size_t *n, void *elem)
{
    /* The array has no capacity field (a protobuf repeated field): it is
     * full when *n is 0 or a power of two, and moves to a new one twice as
     * big (4 at first); old arrays stay in the arena until the call ends. */
    if ((*n & (*n - 1)) == 0) {
        size_t cap;
        void **v;
        if (swing_vec_cap(*n, *n + 1, 4, sizeof *v, &cap, NULL)) return false;
        v = host_alloc(a, cap * sizeof *v);
        if (!v) return false;
        if (*n) memcpy(v, *arr, *n * sizeof *v);
        *arr = v;
    }
    (*arr)[(*n)++] = elem;
    return true;
}

bool host_keep_unpacked(host_arena *a, ProtobufCMessage *m)
{
    return keep_ptr(&a->msgs, &a->nm, &a->mcap, m);
}

void host_arena_free(host_arena *a)
{
    for (size_t i = 0; i < a->n; i++) swing_mfree(a->v[i]);
    for (size_t i = 0; i < a->nm; i++) protobuf_c_message_free_unpacked((ProtobufCMessage *)a->msgs[i], NULL);
    swing_mfree(a->v);
    swing_mfree(a->msgs);
    memset(a, 0, sizeof *a);
}

bool host_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > HOST_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == '.' || ch == ':' || ch == '-';
        if (!ok) return false;
    }
    return true;
}

/* ---- store and kernel ---- */

void host_shut(swing_handle *h)
{
    if (h->k) kern_close(h->k);
    if (h->st) store_close(h->st);
    h->k = NULL;
    h->st = NULL;
}

swing_status host_reopen(swing_handle *h, swing_err *err)
{
    store_options o = store_options_default();
    kern_options ko;
    swing_status s;
    host_shut(h);
    o.create_if_missing = true;
    o.sync = !h->no_sync;
    if (h->cache_bytes) o.cache_size = h->cache_bytes;
    if (h->write_buffer_bytes) o.write_buffer_size = h->write_buffer_bytes;
    if ((s = store_open(h->dir, &o, &h->st, err))) return s;
    memset(&ko, 0, sizeof ko);
    ls_lua_runtime(&h->lua);
    ko.runtimes = &h->lua;
    ko.nruntimes = 1;
    if ((s = kern_open(h->st, &ko, &h->k, err))) {
        store_close(h->st);
        h->st = NULL;
    }
    h->phase = HOST_IDLE;
    h->replay = false;
    return s;
}

/* ---- packing ---- */

static swing_status pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = swing_malloc(n ? n : 1);
    *out = NULL;
    *out_len = 0;
    if (!b) return SWING_ERR_NOMEM;
    protobuf_c_message_pack(m, b);
    host_wire_repair(m->descriptor, b, n);
    *out = b;
    *out_len = n;
    return SWING_OK;
}

/* Packs a bare error response when building the full one failed. */
static swing_status pack_error(bool open, swing_status s, const char *msg, uint8_t **out,
                               size_t *out_len)
{
    if (open) {
        Swing__V1__OpenResponse r = SWING__V1__OPEN_RESPONSE__INIT;
        r.status = (Swing__V1__Status)s;
        r.error = (char *)msg;
        r.abi_version = SWING_ABI_VERSION;
        r.library_version = (char *)swing_version();
        if (pack(&r.base, out, out_len)) return SWING_ERR_NOMEM;
    } else {
        Swing__V1__Response r = SWING__V1__RESPONSE__INIT;
        r.status = (Swing__V1__Status)s;
        r.error = (char *)msg;
        if (pack(&r.base, out, out_len)) return SWING_ERR_NOMEM;
    }
    return s;
}

/* The message for an envelope of another ABI version. */
static const char *version_mismatch(uint32_t host, char msg[96])
{
    snprintf(msg, 96, "ABI version mismatch: host %u, library %u", (unsigned)host, (unsigned)SWING_ABI_VERSION);
    return msg;
}

/* Hands the packed response to the caller; when either out-parameter is
 * NULL nobody could free it, so it is freed here (and the other cleared). */
static void deliver(uint8_t *out, size_t out_len, uint8_t **response, size_t *response_len)
{
    if (response && response_len) {
        *response = out;
        *response_len = out_len;
        return;
    }
    if (response) *response = NULL;
    if (response_len) *response_len = 0;
    swing_mfree(out);
}

/* ---- open / close ---- */

static swing_status open_envelope(const uint8_t *request, size_t request_len, swing_handle **handle,
                                  uint8_t **response, size_t *response_len)
{
    Swing__V1__OpenRequest *req;
    Swing__V1__OpenResponse r = SWING__V1__OPEN_RESPONSE__INIT;
    Swing__V1__CleanupBudget def = SWING__V1__CLEANUP_BUDGET__INIT;
    kern_budget b;
    swing_err err = {0};
    swing_handle *h;
    swing_status s;
    if (handle) *handle = NULL;
    if (!handle) return pack_error(true, SWING_ERR_INVALID, "handle out-parameter is NULL", response, response_len);
    if (!request && request_len) return pack_error(true, SWING_ERR_INVALID, "request is NULL", response, response_len);
    if ((s = host_wire_check(&swing__v1__open_request__descriptor, request, request_len, &err)))
        return pack_error(true, s, err.msg, response, response_len);
    req = swing__v1__open_request__unpack(NULL, request_len, request);
    if (!req) return pack_error(true, SWING_ERR_INVALID, "malformed OpenRequest", response, response_len);
    if (req->abi_version != SWING_ABI_VERSION) {
        char msg[96];
        version_mismatch(req->abi_version, msg);
        swing__v1__open_request__free_unpacked(req, NULL);
        return pack_error(true, SWING_ERR_INVALID, msg, response, response_len);
    }
    if (!req->data_dir || !req->data_dir[0]) {
        swing__v1__open_request__free_unpacked(req, NULL);
        return pack_error(true, SWING_ERR_INVALID, "data_dir is empty", response, response_len);
    }
    if ((req->cache_bytes && (req->cache_bytes < (1u << 20) || req->cache_bytes > (64ull << 30))) ||
        (req->write_buffer_bytes &&
         (req->write_buffer_bytes < (64u << 10) || req->write_buffer_bytes > (1ull << 30)))) {
        swing__v1__open_request__free_unpacked(req, NULL);
        return pack_error(true, SWING_ERR_INVALID, "cache_bytes or write_buffer_bytes out of range",
                          response, response_len);
    }
    h = swing_calloc(1, sizeof *h);
    if (h) h->dir = swing_malloc(strlen(req->data_dir) + 1);
    if (!h || !h->dir) {
        swing_mfree(h);
        swing__v1__open_request__free_unpacked(req, NULL);
        return pack_error(true, SWING_ERR_NOMEM, "out of memory", response, response_len);
    }
    strcpy(h->dir, req->data_dir);
    h->no_sync = req->no_sync;
    h->cache_bytes = (size_t)req->cache_bytes;
    h->write_buffer_bytes = (size_t)req->write_buffer_bytes;
    swing__v1__open_request__free_unpacked(req, NULL);
    if ((s = host_reopen(h, &err))) {
        swing_close(h);
        return pack_error(true, s, err.msg, response, response_len);
    }
    r.abi_version = SWING_ABI_VERSION;
    r.library_version = (char *)swing_version();
    r.committed_height = store_height(h->st);
    r.activity_hash = (char *)store_committed_hash(h->st);
    r.initialized = r.committed_height > 0;
    kern_budget_default(&b);
    def.gc_krefs = b.gc_krefs;
    def.boyds = b.boyds;
    def.terminated_units = b.units;
    r.default_cleanup = &def;
    if (pack(&r.base, response, response_len)) {
        swing_close(h);
        return SWING_ERR_NOMEM;
    }
    *handle = h;
    return SWING_OK;
}

swing_status swing_open(const uint8_t *request, size_t request_len, swing_handle **handle,
                        uint8_t **response, size_t *response_len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    swing_status s = open_envelope(request, request_len, handle, &out, &out_len);
    deliver(out, out_len, response, response_len);
    return s;
}

swing_status host_record_load(swing_handle *h, const char *key, uint8_t **rec, size_t *len, size_t *cap,
                              swing_err *err)
{
    swing_buf v = {0};
    bool found;
    swing_status s = store_get(h->st, swing_str(key), &v, &found, err);
    if (s || !found) return s;
    swing_mfree(*rec); /* the value's buffer becomes the record */
    *rec = v.ptr;
    *len = *cap = v.len;
    return SWING_OK;
}

void swing_close(swing_handle *h)
{
    if (!h) return;
    host_shut(h);
    host_upgrade_free(h);
    host_refusals_free(h);
    swing_mfree(h->dir);
    swing_mfree(h);
}

/* ---- call ---- */

static swing_status dispatch(host_call *c)
{
    swing_handle *h = c->h;
    swing_status s;
    /* A failed commit write leaves the store unusable until reopened:
     * every operation, queries included, answers its error. */
    if ((s = store_check_usable(h->st, c->err))) return s;
    if (c->req->op_case != SWING__V1__REQUEST__OP_QUERY && (s = kern_panicked(h->k, c->err)))
        return s;
    switch (c->req->op_case) {
    case SWING__V1__REQUEST__OP_INIT: return host_init(c);
    case SWING__V1__REQUEST__OP_BEGIN_BLOCK: return host_begin_block(c);
    case SWING__V1__REQUEST__OP_QUEUE_INBOUND: return host_refusals_run(c, host_queue_inbound);
    case SWING__V1__REQUEST__OP_END_BLOCK: return host_end_block(c);
    case SWING__V1__REQUEST__OP_COMMIT: return host_commit(c);
    case SWING__V1__REQUEST__OP_EXPORT: return host_export(c);
    case SWING__V1__REQUEST__OP_IMPORT: return host_import(c);
    case SWING__V1__REQUEST__OP_INSTALL_BUNDLE: return host_refusals_run(c, host_install_bundle);
    case SWING__V1__REQUEST__OP_CREATE_VAT: return host_refusals_run(c, host_create_vat);
    case SWING__V1__REQUEST__OP_QUERY: return host_query(c);
    case SWING__V1__REQUEST__OP_TERMINATE_VAT: return host_refusals_run(c, host_terminate_vat);
    case SWING__V1__REQUEST__OP_WIND_DOWN_VAT: return host_refusals_run(c, host_wind_down_vat);
    case SWING__V1__REQUEST__OP_UPGRADE_VAT: return host_upgrade_vat(c);
    case SWING__V1__REQUEST__OP_UPGRADE_ALL_VATS: return host_upgrade_all_vats(c);
    default: return swing_err_set(c->err, SWING_ERR_INVALID, "request names no operation");
    }
}

static swing_status call_envelope(swing_handle *h, const uint8_t *request, size_t request_len,
                                  uint8_t **response, size_t *response_len)
{
    Swing__V1__Request *req;
    Swing__V1__Response resp = SWING__V1__RESPONSE__INIT;
    host_arena ar = {0};
    swing_err err = {0};
    host_call c;
    swing_status s;
    if (!h) return pack_error(false, SWING_ERR_INVALID, "handle is NULL", response, response_len);
    if (!h->k) return pack_error(false, SWING_ERR_IO, "handle lost its store (a failed import could not reopen it)", response, response_len);
    if (!request && request_len) return pack_error(false, SWING_ERR_INVALID, "request is NULL", response, response_len);
    if ((s = host_wire_check(&swing__v1__request__descriptor, request, request_len, &err)))
        return pack_error(false, s, err.msg, response, response_len);
    req = swing__v1__request__unpack(NULL, request_len, request);
    if (!req) return pack_error(false, SWING_ERR_INVALID, "malformed Request", response, response_len);
    if (req->abi_version != SWING_ABI_VERSION) {
        char msg[96];
        version_mismatch(req->abi_version, msg);
        swing__v1__request__free_unpacked(req, NULL);
        return pack_error(false, SWING_ERR_INVALID, msg, response, response_len);
    }
    c.h = h;
    c.req = req;
    c.resp = &resp;
    c.ar = &ar;
    c.err = &err;
    s = dispatch(&c);
    if (s) {
        if (err.code == SWING_OK) swing_err_set(&err, s, "%s", swing_status_name(s));
        s = pack_error(false, s, err.msg, response, response_len);
    } else if (pack(&resp.base, response, response_len)) {
        s = pack_error(false, SWING_ERR_NOMEM, "out of memory", response, response_len);
    }
    host_arena_free(&ar);
    swing__v1__request__free_unpacked(req, NULL);
    return s;
}

swing_status swing_call(swing_handle *h, const uint8_t *request, size_t request_len,
                        uint8_t **response, size_t *response_len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    swing_status s = call_envelope(h, request, request_len, &out, &out_len);
    deliver(out, out_len, response, response_len);
    return s;
}
