/*
 * query.c - the read-only query operation of the host ABI: one kv key, a
 * bounded prefix listing (paged with kv_after), the vats (with why each
 * terminated one was terminated, deleted ones included, and each live one's
 * incarnation), and counters.
 * Queries read through the open block (uncommitted writes included) and
 * never write.
 */
#include "abi/host.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

#define QUERY_DEFAULT_LIMIT 1000u
#define QUERY_MAX_LIMIT 100000u

static swing_status add_kv(host_call *c, Swing__V1__QueryResponse *out, swing_bytes k, swing_bytes v)
{
    Swing__V1__KvEntry *e = host_alloc(c->ar, sizeof *e);
    if (!e) return SWING_NOMEM(c->err);
    swing__v1__kv_entry__init(e);
    e->key = host_strndup(c->ar, k.ptr, k.len);
    e->value.data = (uint8_t *)host_strndup(c->ar, v.ptr, v.len);
    e->value.len = v.len;
    if (!e->key || !e->value.data || !host_push(c->ar, (void ***)&out->kv, &out->n_kv, e))
        return SWING_NOMEM(c->err);
    return SWING_OK;
}

static swing_status kv_prefix(host_call *c, Swing__V1__QueryResponse *out, const char *prefix,
                              const char *after, uint32_t limit)
{
    store_iter *it = NULL;
    swing_status s = store_iter_create(c->h->st, swing_str(prefix), &it, c->err);
    if (!s && after && after[0]) s = store_iter_seek_after(it, swing_str(after), c->err);
    for (bool valid = true; !s && valid;) {
        swing_bytes k, v;
        s = store_iter_next(it, &k, &v, &valid, c->err);
        if (s || !valid) break;
        if (out->n_kv == limit) {
            out->truncated = true;
            break;
        }
        s = add_kv(c, out, k, v);
    }
    store_iter_destroy(it);
    return s;
}

/* Every vat, terminated and deleted ones too, with why it was terminated. */
static swing_status list_vats(host_call *c, Swing__V1__QueryResponse *out)
{
    kern_vat_info *list = NULL;
    size_t n = 0;
    swing_status s = kern_vats_list(c->h->k, &list, &n, c->err);
    for (size_t i = 0; !s && i < n; i++) {
        Swing__V1__VatInfo *v = host_alloc(c->ar, sizeof *v);
        if (!v) {
            s = SWING_NOMEM(c->err);
            break;
        }
        swing__v1__vat_info__init(v);
        v->name = host_strdup(c->ar, list[i].t.name);
        v->id = host_strdup(c->ar, list[i].t.vat_id);
        v->terminated = list[i].terminated;
        v->deleted = list[i].deleted;
        if (!list[i].terminated) {
            bool found;
            s = kern_vat_incarnation(c->h->k, list[i].t.name, &v->incarnation, &found, c->err);
        }
        if (!s && list[i].t.kind != KERN_TERM_NONE && !(v->termination = host_termination(c, &list[i].t)))
            s = SWING_NOMEM(c->err);
        if (!s && (!v->name || !v->id || !host_push(c->ar, (void ***)&out->vats, &out->n_vats, v)))
            s = SWING_NOMEM(c->err);
    }
    swing_mfree(list);
    return s;
}

static swing_status count_prefix(host_call *c, const char *prefix, uint64_t *n)
{
    store_iter *it = NULL;
    swing_status s = store_iter_create(c->h->st, swing_str(prefix), &it, c->err);
    *n = 0;
    for (bool valid = true; !s && valid;) {
        swing_bytes k, v;
        s = store_iter_next(it, &k, &v, &valid, c->err);
        if (!s && valid) (*n)++;
    }
    store_iter_destroy(it);
    return s;
}

static swing_status stats(host_call *c, Swing__V1__QueryResponse *out)
{
    Swing__V1__Stats *st = host_alloc(c->ar, sizeof *st);
    swing_status s;
    if (!st) return SWING_NOMEM(c->err);
    swing__v1__stats__init(st);
    st->committed_height = store_height(c->h->st);
    st->activity_hash = host_strdup(c->ar, store_committed_hash(c->h->st));
    if (!st->activity_hash) return SWING_NOMEM(c->err);
    if ((s = count_prefix(c, "vat.name.", &st->vats))) return s; /* vats holding a name */
    if ((s = count_prefix(c, KERN_KEY_INBOUND, &st->pending_inbound))) return s;
    if ((s = kern_run_queue_length(c->h->k, &st->run_queue, c->err))) return s;
    out->stats = st;
    return SWING_OK;
}

swing_status host_query(host_call *c)
{
    const Swing__V1__QueryRequest *r = c->req->query;
    Swing__V1__QueryResponse *out = host_alloc(c->ar, sizeof *out);
    uint32_t limit = r->limit ? r->limit : QUERY_DEFAULT_LIMIT;
    swing_status s = SWING_OK;
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__query_response__init(out);
    if (limit > QUERY_MAX_LIMIT) limit = QUERY_MAX_LIMIT;
    switch (r->query_case) {
    case SWING__V1__QUERY_REQUEST__QUERY_KV_GET: {
        swing_buf v = {0};
        bool found;
        if (!r->kv_get || !r->kv_get[0]) return swing_err_set(c->err, SWING_ERR_INVALID, "empty key");
        if ((s = store_get(c->h->st, swing_str(r->kv_get), &v, &found, c->err))) return s;
        out->found = found;
        if (found) s = add_kv(c, out, swing_str(r->kv_get), swing_buf_view(&v));
        swing_buf_free(&v);
        break;
    }
    case SWING__V1__QUERY_REQUEST__QUERY_KV_PREFIX:
        s = kv_prefix(c, out, r->kv_prefix ? r->kv_prefix : "", r->kv_after, limit);
        break;
    case SWING__V1__QUERY_REQUEST__QUERY_VATS:
        s = list_vats(c, out);
        break;
    case SWING__V1__QUERY_REQUEST__QUERY_STATS:
        s = stats(c, out);
        break;
    default:
        return swing_err_set(c->err, SWING_ERR_INVALID, "query names nothing to ask");
    }
    if (s) return s;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_QUERY;
    c->resp->query = out;
    return SWING_OK;
}
