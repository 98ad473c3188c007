/*
 * promises.c - kernel promises (reference/kernel-gc.md §1.5, §2.7): state,
 * decider, policy, subscribers (one key each), the queue of messages sent to
 * an unresolved promise, resolution and deletion.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

swing_status kern_kp_create(kern *k, const char *decider, kern_kp_policy policy,
                            char kpid[KERN_ID_MAX], swing_err *err)
{
    uint64_t id;
    swing_status s = kern_kv_next_id(k, "kp.nextID", 1, &id, err);
    if (s) return s;
    snprintf(kpid, KERN_ID_MAX, "kp%" PRIu64, id);
    if ((s = kern_kv_set(k, "unresolved", err, "%s.state", kpid))) return s;
    if ((s = kern_kv_set(k, "0", err, "%s.refCount", kpid))) return s;
    if ((s = kern_kv_set(k, decider, err, "%s.decider", kpid))) return s;
    if (policy == KERN_POLICY_PANIC) s = kern_kv_set(k, "panic", err, "%s.policy", kpid);
    return s;
}

swing_status kern_kp_incref(kern *k, const char *kpid, swing_err *err)
{
    uint64_t n;
    bool found;
    swing_status s = kern_kv_getu(k, &n, &found, err, "%s.refCount", kpid);
    if (s) return s;
    if (!found) return swing_err_set(err, SWING_ERR_INTERNAL, "incref of missing promise %s", kpid);
    return kern_kv_setu(k, n + 1, err, "%s.refCount", kpid);
}

swing_status kern_kp_decref(kern *k, const char *kpid, swing_err *err)
{
    uint64_t n;
    bool found;
    swing_status s = kern_kv_getu(k, &n, &found, err, "%s.refCount", kpid);
    if (s || !found) return s;
    if (n == 0) return swing_err_set(err, SWING_ERR_INTERNAL, "refcount underflow on %s", kpid);
    if ((s = kern_kv_setu(k, n - 1, err, "%s.refCount", kpid))) return s;
    return n == 1 ? kern_gc_maybe_free(k, kpid, err) : SWING_OK;
}

swing_status kern_kp_state(kern *k, const char *kpid, kern_promise_state *state,
                           char decider[KERN_ID_MAX], swing_err *err)
{
    char *v = NULL;
    bool found;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.state", kpid);
    *state = KERN_PROMISE_UNKNOWN;
    if (decider) decider[0] = '\0';
    if (s || !found) return s;
    if (strcmp(v, "unresolved") == 0) *state = KERN_PROMISE_UNRESOLVED;
    else if (strcmp(v, "fulfilled") == 0) *state = KERN_PROMISE_FULFILLED;
    else if (strcmp(v, "rejected") == 0) *state = KERN_PROMISE_REJECTED;
    else s = SWING_CORRUPT(err, "bad state of %s", kpid);
    swing_mfree(v);
    if (s || *state != KERN_PROMISE_UNRESOLVED || !decider) return s;
    if ((s = kern_kv_get(k, &v, &found, err, "%s.decider", kpid))) return s;
    if (found && strlen(v) < KERN_ID_MAX) strcpy(decider, v);
    swing_mfree(v);
    return SWING_OK;
}

swing_status kern_kp_set_decider(kern *k, const char *kpid, const char *decider, swing_err *err)
{
    return kern_kv_set(k, decider, err, "%s.decider", kpid);
}

/* kpNN.subscribers: sorted comma-joined vat IDs (bounded by the number of
 * vats), so resolving reads one key instead of scanning. */
swing_status kern_kp_subscribe(kern *k, const char *kpid, const char *vat, swing_err *err)
{
    kern_promise_state st;
    char *v = NULL, *out;
    bool found;
    size_t vl = strlen(vat);
    swing_status s = kern_kp_state(k, kpid, &st, NULL, err);
    if (s) return s;
    if (st != KERN_PROMISE_UNRESOLVED) return kern_queue_notify(k, vat, kpid, err);
    if ((s = kern_kv_get(k, &v, &found, err, "%s.subscribers", kpid))) return s;
    out = swing_malloc((v ? strlen(v) : 0) + vl + 2);
    if (!out) {
        swing_mfree(v);
        return SWING_NOMEM(err);
    }
    out[0] = '\0';
    {
        /* Copy the sorted list, inserting vat at its place (once). */
        const char *p = v ? v : "";
        bool placed = false;
        while (*p) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            int cmp;
            char cur[KERN_ID_MAX];
            snprintf(cur, sizeof cur, "%.*s", (int)(n < KERN_ID_MAX ? n : KERN_ID_MAX - 1), p);
            cmp = strcmp(vat, cur);
            if (!placed && cmp <= 0) {
                if (out[0]) strcat(out, ",");
                strcat(out, vat);
                placed = true;
            }
            if (cmp != 0) {
                if (out[0]) strcat(out, ",");
                strcat(out, cur);
            }
            p += n + (c ? 1 : 0);
        }
        if (!placed) {
            if (out[0]) strcat(out, ",");
            strcat(out, vat);
        }
    }
    s = kern_kv_set(k, out, err, "%s.subscribers", kpid);
    swing_mfree(out);
    swing_mfree(v);
    return s;
}

swing_status kern_kp_enqueue(kern *k, const char *kpid, const char *msg_json, swing_err *err)
{
    uint64_t n;
    bool found;
    swing_status s = kern_kv_getu(k, &n, &found, err, "%s.queue.nextID", kpid);
    if (s || (s = kern_kv_set(k, msg_json, err, "%s.queue.%" PRIu64, kpid, n))) return s;
    return kern_kv_setu(k, n + 1, err, "%s.queue.nextID", kpid);
}

swing_status kern_kp_requeue(kern *k, const char *kpid, swing_err *err)
{
    uint64_t n;
    bool found;
    swing_status s = kern_kv_getu(k, &n, &found, err, "%s.queue.nextID", kpid);
    if (s || !found) return s;
    for (uint64_t i = 0; i < n && s == SWING_OK; i++) {
        char *msg = NULL;
        json_t *m, *ev;
        char *text;
        bool have;
        if ((s = kern_kv_get(k, &msg, &have, err, "%s.queue.%" PRIu64, kpid, i))) break;
        if (!have) {
            s = SWING_CORRUPT(err, "%s.queue.%" PRIu64 " is missing", kpid, i);
            break;
        }
        m = json_loads(msg, 0, NULL);
        swing_mfree(msg);
        ev = m ? json_pack("{sssssO}", "type", "send", "target", kpid, "msg", m) : NULL;
        text = ev ? kern_json_dump(ev) : NULL;
        json_decref(m);
        json_decref(ev);
        if (!text) {
            s = SWING_CORRUPT(err, "bad queued message on %s", kpid);
            break;
        }
        s = kern_queue_push(k, KERN_ACCEPTANCE, text, err);
        free(text);
        if (s == SWING_OK) s = kern_kv_del(k, err, "%s.queue.%" PRIu64, kpid, i);
    }
    return s ? s : kern_kv_del(k, err, "%s.queue.nextID", kpid);
}

/* Queues a notify for every subscriber and forgets the subscriptions. */
static swing_status notify_subscribers(kern *k, const char *kpid, swing_err *err)
{
    char *v = NULL, *p, *c;
    bool found;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.subscribers", kpid);
    if (s || !found) return s;
    for (p = v; s == SWING_OK && *p; p = c ? c + 1 : p + strlen(p)) {
        c = strchr(p, ',');
        if (c) *c = '\0';
        s = kern_queue_notify(k, p, kpid, err);
        if (!c) break;
    }
    swing_mfree(v);
    return s ? s : kern_kv_del(k, err, "%s.subscribers", kpid);
}

swing_status kern_kp_resolve(kern *k, const char *kpid, bool rejected, vp_capdata data,
                             swing_err *err)
{
    json_t *j;
    char *text;
    bool panics;
    swing_status s = kern_kv_has(k, &panics, err, "%s.policy", kpid);
    if (s || (s = notify_subscribers(k, kpid, err))) return s;
    if ((s = kern_refs_incref_cd(k, data, err))) return s;
    if ((s = kern_kp_requeue(k, kpid, err))) return s;
    if ((s = kern_kv_del(k, err, "%s.decider", kpid))) return s;
    if ((s = kern_kv_del(k, err, "%s.policy", kpid))) return s;
    j = kern_cd_to_json(data);
    text = j ? kern_json_dump(j) : NULL;
    json_decref(j);
    if (!text) return SWING_NOMEM(err);
    s = kern_kv_set(k, text, err, "%s.data", kpid);
    free(text);
    if (s) return s;
    s = kern_kv_set(k, rejected ? "rejected" : "fulfilled", err, "%s.state", kpid);
    if (s == SWING_OK && panics && rejected)
        return kern_crank_panic(k, err, "promise %s with policy panic was rejected: %.200s", kpid,
                                data.body);
    return s;
}

swing_status kern_kp_data(kern *k, const char *kpid, kern_cd *data, swing_err *err)
{
    char *v = NULL;
    bool found;
    json_t *j;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.data", kpid);
    memset(data, 0, sizeof *data);
    if (s) return s;
    if (!found) return swing_err_set(err, SWING_ERR_INTERNAL, "%s has no resolution data", kpid);
    j = json_loads(v, 0, NULL);
    swing_mfree(v);
    if (!j) return SWING_CORRUPT(err, "bad resolution data of %s", kpid);
    s = kern_cd_from_json(j, data, err);
    json_decref(j);
    return s;
}

/* Deletes key kpid.<suffix> if present (an absent key costs no write). */
static swing_status del_if(kern *k, const char *kpid, const char *suffix, swing_err *err)
{
    bool has;
    swing_status s = kern_kv_has(k, &has, err, "%s.%s", kpid, suffix);
    return s || !has ? s : kern_kv_del(k, err, "%s.%s", kpid, suffix);
}

swing_status kern_kp_delete(kern *k, const char *kpid, swing_err *err)
{
    static const char *const optional[] = {"decider", "policy", "data", "subscribers", "queue.nextID"};
    kern_promise_state st;
    swing_status s = kern_kp_state(k, kpid, &st, NULL, err);
    if (s || st == KERN_PROMISE_UNKNOWN) return s;
    if (st != KERN_PROMISE_UNRESOLVED) {
        kern_cd data;
        if ((s = kern_kp_data(k, kpid, &data, err))) return s;
        s = kern_refs_decref_cd(k, kern_cd_view(&data), err);
        kern_cd_free(&data);
        if (s) return s;
    }
    /* Messages can only be queued on a promise that something refers to
     * (each holds +1 on its target), so a dead promise has no queue items. */
    for (size_t i = 0; i < sizeof optional / sizeof *optional && s == SWING_OK; i++)
        s = del_if(k, kpid, optional[i], err);
    if (s == SWING_OK) s = kern_kv_del(k, err, "%s.state", kpid);
    if (s == SWING_OK) s = kern_kv_del(k, err, "%s.refCount", kpid);
    return s;
}
