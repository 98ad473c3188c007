/*
 * route.c - where a send goes (reference/kernel-gc.md §2.7): to an object's
 * live owner, through a fulfilled promise to its object, onto an unresolved
 * promise's queue, to a pipelining decider, or splat. Also the routing crank
 * that moves acceptance-queue events to the run queue.
 */
#include "kernel/kernel_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

static swing_status splat_with(kern_route *r, const char *why, swing_err *err)
{
    r->kind = KERN_ROUTE_SPLAT;
    return kern_cd_error(why, &r->reject, err);
}

/* True if data is exactly one object presence: #"$0..." with slot ko. */
static bool single_object(const kern_cd *d)
{
    return d->nslots == 1 && kern_ids_is_kobj(d->slots[0]) && strncmp(d->body, "#\"$0", 4) == 0 &&
           (d->body[4] == '"' || d->body[4] == '.') && strchr(d->body + 4, '"') &&
           strchr(d->body + 4, '"')[1] == '\0';
}

/* A splat for a dead vat: its termination reason when it has a record,
 * else (an orphan: abandoned, or its vat's exports are deleted) the
 * plain "vat terminated". */
static swing_status splat_dead(kern *k, const char *vat, kern_route *r, swing_err *err)
{
    kern_termination t;
    bool found = false;
    swing_status s = vat[0] ? kern_term_of_vat(k, vat, &t, &found, err) : SWING_OK;
    if (s) return s;
    if (!found) return splat_with(r, "vat terminated", err);
    r->kind = KERN_ROUTE_SPLAT;
    return kern_term_rejection(&t, &r->reject, err);
}

static swing_status route_object(kern *k, const char *kref, kern_route *r, swing_err *err)
{
    bool has, alive;
    swing_status s = kern_obj_owner(k, kref, r->vat, &has, err);
    if (s) return s;
    if (!has) return splat_with(r, "vat terminated", err);
    if ((s = kern_vats_alive(k, r->vat, &alive, err))) return s;
    if (!alive) {
        s = splat_dead(k, r->vat, r, err);
        r->vat[0] = '\0';
        return s;
    }
    r->kind = KERN_ROUTE_DELIVER;
    return SWING_OK;
}

swing_status kern_route_target(kern *k, const char *target, const char *methargs_body,
                               kern_route *r, swing_err *err)
{
    kern_promise_state st;
    char decider[KERN_ID_MAX];
    swing_status s;
    memset(r, 0, sizeof *r);
    snprintf(r->target, sizeof r->target, "%s", target);
    if (kern_ids_is_kobj(target)) return route_object(k, target, r, err);
    if ((s = kern_kp_state(k, target, &st, decider, err))) return s;
    if (st == KERN_PROMISE_UNKNOWN)
        return swing_err_set(err, SWING_ERR_INTERNAL, "send to missing promise %s", target);
    if (st == KERN_PROMISE_FULFILLED || st == KERN_PROMISE_REJECTED) {
        kern_cd data;
        if ((s = kern_kp_data(k, target, &data, err))) return s;
        if (st == KERN_PROMISE_REJECTED) {
            r->kind = KERN_ROUTE_SPLAT;
            r->reject = data; /* contagion */
            return SWING_OK;
        }
        if (single_object(&data)) {
            snprintf(r->target, sizeof r->target, "%s", data.slots[0]);
            kern_cd_free(&data);
            return route_object(k, r->target, r, err);
        }
        kern_cd_free(&data);
        {
            char why[160], *m = kern_cd_method(methargs_body);
            snprintf(why, sizeof why, "data is not callable, has no method %.100s", m ? m : "(none)");
            swing_mfree(m);
            return splat_with(r, why, err);
        }
    }
    if (decider[0]) {
        bool alive, pipelining;
        if ((s = kern_vats_alive(k, decider, &alive, err))) return s;
        if (!alive) return splat_dead(k, decider, r, err);
        if ((s = kern_vats_pipelining(k, decider, &pipelining, err))) return s;
        if (pipelining) {
            r->kind = KERN_ROUTE_DELIVER;
            snprintf(r->vat, sizeof r->vat, "%s", decider);
            return SWING_OK;
        }
    }
    r->kind = KERN_ROUTE_QUEUE;
    return SWING_OK;
}

swing_status kern_route_splat(kern *k, const char *target, const json_t *msg,
                              vp_capdata reject, swing_err *err)
{
    const char *result = json_string_value(json_object_get(msg, "result"));
    kern_cd ma;
    swing_status s = kern_cd_from_json(json_object_get(msg, "methargs"), &ma, err);
    if (s) return s;
    if (result) {
        kern_promise_state st;
        if ((s = kern_kp_state(k, result, &st, NULL, err)) == SWING_OK && st == KERN_PROMISE_UNRESOLVED)
            s = kern_kp_resolve(k, result, true, reject, err);
        if (s == SWING_OK) s = kern_kp_decref(k, result, err);
    }
    if (s == SWING_OK) s = kern_refs_decref(k, target, err);
    if (s == SWING_OK) s = kern_refs_decref_cd(k, kern_cd_view(&ma), err);
    kern_cd_free(&ma);
    return s;
}

/* Re-points a queued send from a fulfilled promise to its object. */
static swing_status retarget(kern *k, json_t *ev, const char *from, const char *to, swing_err *err)
{
    swing_status s;
    if (strcmp(from, to) == 0) return SWING_OK;
    if ((s = kern_refs_incref(k, to, err)) || (s = kern_refs_decref(k, from, err))) return s;
    return json_object_set_new(ev, "target", json_string(to)) ? SWING_NOMEM(err) : SWING_OK;
}

static swing_status push_event(kern *k, const char *queue, const json_t *ev, swing_err *err)
{
    char *text = kern_json_dump(ev);
    swing_status s;
    if (!text) return SWING_NOMEM(err);
    s = kern_queue_push(k, queue, text, err);
    free(text);
    return s;
}

swing_status kern_route_event(kern *k, const char *json, swing_err *err)
{
    json_t *ev = json_loads(json, 0, NULL), *msg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *target = json_string_value(json_object_get(ev, "target"));
    kern_route r;
    char from[KERN_ID_MAX];
    swing_status s;
    if (!type) {
        json_decref(ev);
        return SWING_CORRUPT(err, "bad acceptance-queue event");
    }
    if (strcmp(type, "send") != 0) {
        json_decref(ev);
        return kern_queue_push(k, KERN_RUN, json, err); /* unchanged */
    }
    msg = json_object_get(ev, "msg");
    if (!target || !msg || strlen(target) >= sizeof from) {
        json_decref(ev);
        return SWING_CORRUPT(err, "bad send event");
    }
    snprintf(from, sizeof from, "%s", target);
    s = kern_route_target(k, from,
                          json_string_value(json_object_get(json_object_get(msg, "methargs"), "body")),
                          &r, err);
    if (s == SWING_OK && r.kind != KERN_ROUTE_SPLAT) s = retarget(k, ev, from, r.target, err);
    if (s == SWING_OK) {
        if (r.kind == KERN_ROUTE_DELIVER) {
            /* Re-encode only when the target changed. */
            s = strcmp(from, r.target) == 0 ? kern_queue_push(k, KERN_RUN, json, err)
                                            : push_event(k, KERN_RUN, ev, err);
        } else if (r.kind == KERN_ROUTE_QUEUE) {
            char *m = kern_json_dump(msg);
            if (!m) s = SWING_NOMEM(err);
            else s = kern_kp_enqueue(k, r.target, m, err);
            free(m);
        } else {
            s = kern_route_splat(k, from, msg, kern_cd_view(&r.reject), err);
        }
    }
    kern_cd_free(&r.reject);
    json_decref(ev);
    return s;
}
