/*
 * queue.c - the acceptance and run queues: header "<head>,<tail>" and items
 * at <queue>.<N> for head <= N < tail (reference/kernel-gc.md §6). Also
 * builds the two events kernel code creates: send and notify.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

static swing_status header(kern *k, const char *queue, uint64_t *head, uint64_t *tail,
                           swing_err *err)
{
    char *v = NULL;
    bool found;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s", queue);
    *head = *tail = 1;
    if (s || !found) return s;
    if (!kern_kv_parse_pair(v, head, tail)) s = SWING_CORRUPT(err, "bad queue header %s", queue);
    swing_mfree(v);
    return s;
}

static swing_status set_header(kern *k, const char *queue, uint64_t head, uint64_t tail,
                               swing_err *err)
{
    char v[48];
    snprintf(v, sizeof v, "%" PRIu64 ",%" PRIu64, head, tail);
    return kern_kv_set(k, v, err, "%s", queue);
}

swing_status kern_queue_push(kern *k, const char *queue, const char *event_json, swing_err *err)
{
    uint64_t h, t;
    swing_status s = header(k, queue, &h, &t, err);
    if (s || (s = kern_kv_set(k, event_json, err, "%s.%" PRIu64, queue, t))) return s;
    return set_header(k, queue, h, t + 1, err);
}

swing_status kern_queue_pop(kern *k, const char *queue, char **json, swing_err *err)
{
    uint64_t h, t;
    bool found;
    swing_status s = header(k, queue, &h, &t, err);
    *json = NULL;
    if (s || h == t) return s;
    if ((s = kern_kv_get(k, json, &found, err, "%s.%" PRIu64, queue, h))) return s;
    if (!found) return SWING_CORRUPT(err, "%s.%" PRIu64 " is missing", queue, h);
    if ((s = kern_kv_del(k, err, "%s.%" PRIu64, queue, h)) ||
        (s = set_header(k, queue, h + 1, t, err))) {
        swing_mfree(*json);
        *json = NULL;
    }
    return s;
}

swing_status kern_queue_length(kern *k, const char *queue, uint64_t *len, swing_err *err)
{
    uint64_t h, t;
    swing_status s = header(k, queue, &h, &t, err);
    *len = s ? 0 : t - h;
    return s;
}

static swing_status push_json(kern *k, const char *queue, json_t *ev, swing_err *err)
{
    char *text = ev ? kern_json_dump(ev) : NULL;
    swing_status s;
    json_decref(ev);
    if (!text) return SWING_NOMEM(err);
    s = kern_queue_push(k, queue, text, err);
    free(text);
    return s;
}

swing_status kern_queue_send(kern *k, const char *queue, const char *target, vp_capdata methargs,
                             const char *result, swing_err *err)
{
    json_t *ma, *msg, *ev;
    swing_status s = kern_refs_incref(k, target, err);
    if (s || (s = kern_refs_incref_cd(k, methargs, err))) return s;
    if (result && (s = kern_kp_incref(k, result, err))) return s;
    ma = kern_cd_to_json(methargs);
    msg = ma ? json_pack("{soso}", "methargs", ma, "result", result ? json_string(result) : json_null())
             : NULL;
    ev = msg ? json_pack("{sssssO}", "type", "send", "target", target, "msg", msg) : NULL;
    json_decref(msg);
    return push_json(k, queue, ev, err);
}

swing_status kern_queue_notify(kern *k, const char *vat, const char *kpid, swing_err *err)
{
    swing_status s = kern_kp_incref(k, kpid, err);
    if (s) return s;
    return push_json(k, KERN_ACCEPTANCE,
                     json_pack("{ssssss}", "type", "notify", "vatID", vat, "kpid", kpid), err);
}

swing_status kern_run_queue_length(kern *k, uint64_t *len, swing_err *err)
{
    return kern_queue_length(k, KERN_RUN, len, err);
}
