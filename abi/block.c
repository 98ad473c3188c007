/*
 * block.c - the block operations of the host ABI: begin_block,
 * queue_inbound, end_block (one kern_work_block: normal work under the
 * compute budget, then the block-end clean-up under its own budget) and
 * commit, the pending inbound results (and, through upgrade.c, the finished
 * upgrades), and the replay of an already committed block (cosmic-swingset's
 * hangover rule): the inputs must hash to what was recorded and the recorded
 * outputs are returned without running anything.
 */
#include "abi/host.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/scan.h"

void host_fold_input(swing_handle *h, const ProtobufCMessage *m)
{
    uint8_t small[512], *buf = small;
    size_t n = protobuf_c_message_get_packed_size(m);
    char hdr[80];
    int hl;
    if (n > sizeof small && !(buf = swing_malloc(n))) {
        /* Out of memory: fold the size only; a replay comparison may then fail, never pass wrongly. */
        hl = snprintf(hdr, sizeof hdr, "%s %zu nomem\n", m->descriptor->name, n);
        swing_sha256_update(&h->inputs, hdr, (size_t)hl);
        return;
    }
    protobuf_c_message_pack(m, buf);
    hl = snprintf(hdr, sizeof hdr, "%s %zu\n", m->descriptor->name, n);
    swing_sha256_update(&h->inputs, hdr, (size_t)hl);
    swing_sha256_update(&h->inputs, buf, n);
    if (buf != small) swing_mfree(buf);
}

static swing_status need_phase(host_call *c, host_phase want, const char *op)
{
    static const char *const names[] = {"between blocks", "inside a block", "after end_block"};
    if (c->h->phase == want) return SWING_OK;
    return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "%s is allowed %s, but the handle is %s", op,
                         names[want], names[c->h->phase]);
}

static swing_status host_get(swing_handle *h, const char *key, swing_buf *v, bool *found,
                             swing_err *err)
{
    return store_get(h->st, swing_str(key), v, found, err);
}

/* ---- begin_block ---- */

swing_status host_begin_block(host_call *c)
{
    swing_handle *h = c->h;
    const Swing__V1__BeginBlockRequest *r = c->req->begin_block;
    Swing__V1__BeginBlockResponse *out;
    uint64_t committed = store_height(h->st);
    bool replay = false, found = false;
    swing_status s;
    if ((s = need_phase(c, HOST_IDLE, "begin_block"))) return s;
    if (!kern_initialized(h->k))
        return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "begin_block before init (or import)");
    if (r->height == committed && committed > 0) {
        if ((s = host_get(h, HOST_KEY_INPUTS, NULL, &found, c->err))) return s;
        if (!found)
            return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER,
                                 "height %llu is committed but has no record to replay (imported state)",
                                 (unsigned long long)r->height);
        replay = true;
    } else if (r->height != committed + 1) {
        return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER,
                             "begin_block height %llu: the committed height is %llu, so %llu (or %llu to replay) was expected",
                             (unsigned long long)r->height, (unsigned long long)committed,
                             (unsigned long long)committed + 1, (unsigned long long)committed);
    }
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    if ((s = host_upgrade_begin(h, replay, c->err))) return s;
    if ((s = host_refusals_begin(h, replay, c->err))) return s;
    swing__v1__begin_block_response__init(out);
    out->replay = replay;
    h->phase = HOST_IN_BLOCK;
    h->replay = replay;
    h->height = r->height;
    swing_sha256_init(&h->inputs);
    host_fold_input(h, &r->base);
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_BEGIN_BLOCK;
    c->resp->begin_block = out;
    return SWING_OK;
}

/* ---- queue_inbound ---- */

swing_status host_queue_inbound(host_call *c)
{
    swing_handle *h = c->h;
    const Swing__V1__QueueInboundRequest *r = c->req->queue_inbound;
    Swing__V1__QueueInboundResponse *out;
    char kpid[24];
    swing_status s;
    if ((s = need_phase(c, HOST_IN_BLOCK, "queue_inbound"))) return s;
    /* Every request of the block counts, refused ones too: a replay sees the same list. */
    host_fold_input(h, &r->base);
    if (!host_name_ok(r->id))
        return swing_err_set(c->err, SWING_ERR_INVALID, "inbound id must be 1-%d characters of [A-Za-z0-9_.:-]", HOST_ID_MAX);
    if (!host_name_ok(r->vat)) return swing_err_set(c->err, SWING_ERR_INVALID, "bad vat name");
    if (!r->method || !r->method[0]) return swing_err_set(c->err, SWING_ERR_INVALID, "no method");
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__queue_inbound_response__init(out);
    /* The id is recorded with the message, as consensus state (kernel.inbound.<id>). */
    if (!h->replay &&
        (s = kern_inbound_queue(h->k, r->id, r->vat, r->method, r->args_json && r->args_json[0] ? r->args_json : "[]",
                                kpid, c->err)))
        return s;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_QUEUE_INBOUND;
    c->resp->queue_inbound = out;
    return SWING_OK;
}

/* ---- end_block ---- */

/* The block's budget: the request's, its clean-up fields the kernel's
 * defaults when it carries no CleanupBudget. */
static void block_budget(const Swing__V1__EndBlockRequest *r, kern_budget *b)
{
    kern_budget_default(b);
    b->compute = r->compute_budget;
    if (r->cleanup) {
        b->gc_krefs = r->cleanup->gc_krefs;
        b->boyds = r->cleanup->boyds;
        b->units = r->cleanup->terminated_units;
    }
}

/* The kernel's report as the ABI's EndBlockResponse fields (no arithmetic:
 * the kernel counted). */
static swing_status report_work(host_call *c, const kern_work_report *r, Swing__V1__EndBlockResponse *out)
{
    static const char *const phases[KERN_PHASES] = {"exports", "imports", "promises", "kv",
                                                    "transcripts"};
    const kern_work_counts *cl = &r->cleanup;
    Swing__V1__CleanupReport *o = host_alloc(c->ar, sizeof *o);
    if (!o) return SWING_NOMEM(c->err);
    swing__v1__cleanup_report__init(o);
    out->cranks = r->total.cranks;
    out->computrons = r->normal.computrons;
    out->work_left = r->work_left;
    out->gc_krefs = r->total.gc_krefs;
    out->boyds = r->total.boyds;
    out->syscalls = r->total.syscalls;
    o->gc_krefs = cl->gc_krefs;
    o->gc_deliveries = cl->gc_deliveries;
    o->boyds = cl->boyds;
    o->exports = cl->units[KERN_PHASE_EXPORTS];
    o->imports = cl->units[KERN_PHASE_IMPORTS];
    o->promises = cl->units[KERN_PHASE_PROMISES];
    o->kv = cl->units[KERN_PHASE_KV];
    o->transcripts = cl->units[KERN_PHASE_TRANSCRIPTS];
    o->vats_deleted = cl->vats_deleted;
    o->cranks = cl->cranks;
    o->computrons = cl->computrons;
    o->gc_krefs_left = r->gc_krefs_left;
    o->dirty_vats = r->dirty_vats;
    o->terminated_vats = r->terminated_vats;
    o->wind_down_items = cl->wind_down_items;
    o->winding_down = r->winding_down;
    o->wind_down_left = r->wind_down_left;
    o->wind_down_counting = r->wind_down_counting;
    /* A static name: the arena frees only what it allocated. */
    o->phase = (char *)(r->phase >= 0 && r->phase < KERN_PHASES ? phases[r->phase] : "");
    out->cleanup = o;
    return SWING_OK;
}

/* TerminationKind mirrors kern_term_kind value for value. */
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_HOST == (int)KERN_TERM_HOST, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_COMPUTE_LIMIT == (int)KERN_TERM_COMPUTE_LIMIT, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_MEMORY_LIMIT == (int)KERN_TERM_MEMORY_LIMIT, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_ILLEGAL_SYSCALL == (int)KERN_TERM_ILLEGAL_SYSCALL,
               "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_START_FAILED == (int)KERN_TERM_START_FAILED, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_TRANSCRIPT_MISMATCH == (int)KERN_TERM_TRANSCRIPT_MISMATCH,
               "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_EXIT == (int)KERN_TERM_EXIT, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_EXIT_FAILURE == (int)KERN_TERM_EXIT_FAILURE, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_DELIVERY_FAILED == (int)KERN_TERM_DELIVERY_FAILED,
               "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_LOAD_FAILED == (int)KERN_TERM_LOAD_FAILED, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_FORBIDDEN == (int)KERN_TERM_FORBIDDEN, "TerminationKind");
_Static_assert(SWING__V1__TERMINATION_KIND__TERMINATION_ADMIN == (int)KERN_TERM_ADMIN &&
                   KERN_TERM_KINDS == KERN_TERM_ADMIN + 1,
               "TerminationKind");

/* One termination as the ABI reports it (in the call's arena). */
Swing__V1__VatTermination *host_termination(host_call *c, const kern_termination *t)
{
    Swing__V1__VatTermination *o = host_alloc(c->ar, sizeof *o);
    if (!o) return NULL;
    swing__v1__vat_termination__init(o);
    o->vat_id = host_strdup(c->ar, t->vat_id);
    o->name = host_strdup(c->ar, t->name);
    o->kind = (Swing__V1__TerminationKind)t->kind; /* same values */
    o->kind_name = host_strdup(c->ar, kern_term_kind_name(t->kind));
    o->reason = host_strdup(c->ar, t->reason);
    return o->vat_id && o->name && o->kind_name && o->reason ? o : NULL;
}

/* The block's terminations (requests, normal work, clean-up) as events;
 * vats_failed counts those a failure caused. */
static swing_status report_terminations(host_call *c, Swing__V1__EndBlockResponse *out)
{
    kern_termination *list = NULL;
    size_t n = 0;
    swing_status s = kern_terminations_take(c->h->k, &list, &n, c->err);
    for (size_t i = 0; !s && i < n; i++) {
        Swing__V1__VatTermination *e = host_termination(c, &list[i]);
        if (!e || !host_push(c->ar, (void ***)&out->terminations, &out->n_terminations, e)) s = SWING_NOMEM(c->err);
        if (list[i].kind != KERN_TERM_HOST && list[i].kind != KERN_TERM_EXIT) out->vats_failed++;
    }
    swing_mfree(list);
    return s;
}

/* Reports and releases the inbound results whose promises settled, in id order. */
static swing_status collect_results(host_call *c, Swing__V1__EndBlockResponse *out)
{
    swing_handle *h = c->h;
    store_scan sc;
    swing_status s;
    const size_t pl = strlen(KERN_KEY_INBOUND);
    store_scan_init(&sc, h->st, swing_str(KERN_KEY_INBOUND));
    for (;;) {
        swing_buf kp = {0}, body = {0};
        swing_bytes key;
        bool found;
        kern_promise_state st;
        char kpid[24], id[HOST_ID_MAX + 1];
        Swing__V1__InboundResult *ir;
        if ((s = store_scan_next(&sc, &key, &found, c->err)) || !found) break;
        if (key.len <= pl || key.len - pl > HOST_ID_MAX) {
            s = SWING_CORRUPT(c->err, "bad inbound key");
            break;
        }
        memcpy(id, key.ptr + pl, key.len - pl);
        id[key.len - pl] = '\0';
        if ((s = store_scan_value(&sc, &kp, &found, c->err))) break;
        if (!found || kp.len == 0 || kp.len >= sizeof kpid) {
            swing_buf_free(&kp);
            s = SWING_CORRUPT(c->err, "bad inbound entry %s", id);
            break;
        }
        memcpy(kpid, kp.ptr, kp.len);
        kpid[kp.len] = '\0';
        swing_buf_free(&kp);
        if ((s = kern_promise_status(h->k, kpid, &st, &body, c->err))) break;
        if (st == KERN_PROMISE_UNRESOLVED) {
            swing_buf_free(&body);
            continue;
        }
        ir = host_alloc(c->ar, sizeof *ir);
        if (ir) {
            swing__v1__inbound_result__init(ir);
            ir->id = host_strdup(c->ar, id);
            ir->rejected = st != KERN_PROMISE_FULFILLED;
            ir->body = host_strndup(c->ar, body.ptr, body.len);
        }
        swing_buf_free(&body);
        if (!ir || !ir->id || !ir->body ||
            !host_push(c->ar, (void ***)&out->results, &out->n_results, ir)) {
            s = SWING_NOMEM(c->err);
            break;
        }
        if ((s = kern_inbound_release(h->k, id, c->err))) break;
    }
    store_scan_free(&sc);
    return s;
}

/* A recorded output of the committed block, decoded into the call's arena. */
static swing_status replay_output(host_call *c, const char *key, ProtobufCMessage **out,
                                  const ProtobufCMessageDescriptor *d)
{
    swing_buf v = {0};
    bool found;
    swing_status s = host_get(c->h, key, &v, &found, c->err);
    if (s) return s;
    if (!found) return SWING_CORRUPT(c->err, "no recorded %s to replay", key);
    *out = protobuf_c_message_unpack(d, NULL, v.len, v.ptr);
    swing_buf_free(&v);
    if (!*out) return SWING_CORRUPT(c->err, "recorded %s does not decode", key);
    if (!host_keep_unpacked(c->ar, *out)) {
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
        return SWING_NOMEM(c->err);
    }
    return SWING_OK;
}

static swing_status end_replay(host_call *c)
{
    swing_handle *h = c->h;
    char hex[SWING_SHA256_HEX_LEN + 1];
    swing_buf rec = {0};
    bool found;
    ProtobufCMessage *m = NULL;
    swing_sha256 copy = h->inputs;
    swing_status s = host_get(h, HOST_KEY_INPUTS, &rec, &found, c->err);
    if (s) return s;
    swing_sha256_final_hex(&copy, hex);
    if (!found || rec.len != SWING_SHA256_HEX_LEN || memcmp(rec.ptr, hex, rec.len) != 0) {
        swing_buf_free(&rec);
        return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER,
                             "replay of block %llu: its requests differ from the ones committed",
                             (unsigned long long)h->height);
    }
    swing_buf_free(&rec);
    if ((s = replay_output(c, HOST_KEY_END, &m, &swing__v1__end_block_response__descriptor))) return s;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_END_BLOCK;
    c->resp->end_block = (Swing__V1__EndBlockResponse *)m;
    /* Recorded with the hash it led to; a record written before the field
     * existed lacks it, and the committed hash of this height is that hash. */
    if (!c->resp->end_block->activity_hash || !c->resp->end_block->activity_hash[0]) {
        c->resp->end_block = host_alloc(c->ar, sizeof *c->resp->end_block);
        if (!c->resp->end_block) return SWING_NOMEM(c->err);
        *c->resp->end_block = *(Swing__V1__EndBlockResponse *)m;
        c->resp->end_block->activity_hash = host_strdup(c->ar, store_committed_hash(h->st));
        if (!c->resp->end_block->activity_hash) return SWING_NOMEM(c->err);
    }
    h->phase = HOST_ENDED;
    return SWING_OK;
}

swing_status host_end_block(host_call *c)
{
    swing_handle *h = c->h;
    const Swing__V1__EndBlockRequest *r = c->req->end_block;
    Swing__V1__EndBlockResponse *out;
    kern_budget budget;
    kern_work_report work;
    char hex[SWING_SHA256_HEX_LEN + 1];
    swing_sha256 copy;
    uint8_t *packed;
    size_t n;
    swing_status s;
    if ((s = need_phase(c, HOST_IN_BLOCK, "end_block"))) return s;
    host_fold_input(h, &r->base);
    if (h->replay) return end_replay(c);
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__end_block_response__init(out);
    /* The block shape: normal work under the compute budget, then the
     * clean-up under its own budget (kernel/work.c). */
    block_budget(r, &budget);
    if ((s = kern_work_block(h->k, &budget, &work, c->err))) return s;
    if ((s = report_work(c, &work, out))) return s;
    if ((s = report_terminations(c, out))) return s;
    if ((s = host_upgrade_end(c, out))) return s;
    if ((s = collect_results(c, out))) return s;
    /* The hash the commit will give: host. writes below leave it unchanged. */
    out->activity_hash = host_alloc(c->ar, SWING_SHA256_HEX_LEN + 1);
    if (!out->activity_hash) return SWING_NOMEM(c->err);
    if ((s = store_pending_hash(h->st, h->height, out->activity_hash, c->err))) return s;
    /* Record the outputs and the input hash for a replay of this height. */
    n = protobuf_c_message_get_packed_size(&out->base);
    packed = host_alloc(c->ar, n);
    if (!packed) return SWING_NOMEM(c->err);
    protobuf_c_message_pack(&out->base, packed);
    if ((s = store_set(h->st, swing_str(HOST_KEY_END), swing_bytes_of(packed, n), c->err))) return s;
    copy = h->inputs;
    swing_sha256_final_hex(&copy, hex);
    if ((s = store_set(h->st, swing_str(HOST_KEY_INPUTS), swing_str(hex), c->err))) return s;
    if ((s = host_refusals_save(h, c->err))) return s;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_END_BLOCK;
    c->resp->end_block = out;
    h->phase = HOST_ENDED;
    return SWING_OK;
}

/* ---- commit ---- */

typedef struct commit_ctx {
    host_call *c;
    Swing__V1__CommitResponse *out;
} commit_ctx;

static swing_status build_commit(void *ctx, const store_delta *d, swing_buf *value, swing_err *err)
{
    commit_ctx *cc = ctx;
    host_arena *ar = cc->c->ar;
    Swing__V1__CommitResponse *out = cc->out;
    size_t n;
    out->activity_hash = host_strdup(ar, d->activity_hash);
    out->export_data = host_alloc(ar, (d->count ? d->count : 1) * sizeof *out->export_data);
    if (!out->activity_hash || !out->export_data) return SWING_NOMEM(err);
    for (size_t i = 0; i < d->count; i++) {
        Swing__V1__ExportDataEntry *e = host_alloc(ar, sizeof *e);
        if (!e) return SWING_NOMEM(err);
        swing__v1__export_data_entry__init(e);
        e->key = host_strndup(ar, d->entries[i].key.ptr, d->entries[i].key.len);
        e->value.data = (uint8_t *)host_strndup(ar, d->entries[i].value.ptr, d->entries[i].value.len);
        if (!e->key || !e->value.data) return SWING_NOMEM(err);
        e->value.len = d->entries[i].value.len;
        e->deleted = d->entries[i].deleted;
        out->export_data[out->n_export_data++] = e;
    }
    n = protobuf_c_message_get_packed_size(&out->base);
    value->ptr = swing_malloc(n ? n : 1);
    if (!value->ptr) return SWING_NOMEM(err);
    protobuf_c_message_pack(&out->base, value->ptr);
    value->len = n;
    return SWING_OK;
}

swing_status host_commit(host_call *c)
{
    swing_handle *h = c->h;
    Swing__V1__CommitResponse *out;
    commit_ctx cc;
    swing_status s;
    if ((s = need_phase(c, HOST_ENDED, "commit"))) return s;
    if (h->replay) {
        ProtobufCMessage *m = NULL;
        if ((s = replay_output(c, HOST_KEY_COMMIT, &m, &swing__v1__commit_response__descriptor))) return s;
        c->resp->result_case = SWING__V1__RESPONSE__RESULT_COMMIT;
        c->resp->commit = (Swing__V1__CommitResponse *)m;
        h->phase = HOST_IDLE;
        h->replay = false;
        return SWING_OK;
    }
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__commit_response__init(out);
    out->height = h->height;
    cc.c = c;
    cc.out = out;
    if ((s = store_commit_with(h->st, h->height, HOST_KEY_COMMIT, build_commit, &cc, NULL, c->err)))
        return s;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_COMMIT;
    c->resp->commit = out;
    h->phase = HOST_IDLE;
    return SWING_OK;
}
