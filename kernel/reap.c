/*
 * reap.c - dirt and the dirty-vat list (DESIGN.md §6.4; reference/kernel-gc.md
 * §4): what decides when a vat gets bringOutYourDead.
 *
 *   vNN.reapDirt          "<deliveries>,<gcKrefs>,<computrons>,<seq>,<due>"
 *   reap.dirty.<seq>      vNN: the dirty list, seq as 20 digits (FIFO order)
 *   reap.dirtyNext        next seq (from 1)
 *
 * Every delivery but BOYD and changeVatOptions adds dirt: one delivery, the
 * krefs of a GC delivery, the computrons used. A counter accumulates only
 * while its threshold (the vat's reapDirtThreshold over the kernel default)
 * is a number, as in SwingSet; when one reaches its threshold the vat gets a
 * BOYD from the reapQueue in normal runs (due = 1 until it is delivered, so
 * it is queued once). Any delivery also puts the vat on the dirty list
 * (seq != 0: listed) unless its threshold says "never": true. A BOYD resets
 * the dirt; one that found nothing takes the vat off the list, one that
 * found something (or was stopped by its budget) moves it to the tail, so
 * the clean-up's BOYDs (work.c) go round the vats that still have garbage.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "store/scan.h"

#define DIRTY_NS "reap.dirty."
#define DIRTY_NEXT "reap.dirtyNext"
#define REAP_EVENT_MAX 160

typedef struct dirt {
    uint64_t n[KERN_DIRT_FIELDS]; /* deliveries, gcKrefs, computrons */
    uint64_t seq;                 /* dirty-list position, 0 = not listed */
    bool due;                     /* a threshold BOYD is queued */
} dirt;

static const char *const field_names[KERN_DIRT_FIELDS] = {"deliveries", "gcKrefs", "computrons"};

bool kern_reap_threshold_valid(const json_t *t)
{
    const char *key;
    json_t *x;
    if (!json_is_object(t)) return false;
    json_object_foreach((json_t *)t, key, x) {
        bool field = false;
        for (int i = 0; i < KERN_DIRT_FIELDS; i++) field |= strcmp(key, field_names[i]) == 0;
        if (field && ((json_is_integer(x) && json_integer_value(x) > 0) ||
                      (json_is_string(x) && strcmp(json_string_value(x), "never") == 0)))
            continue;
        if (strcmp(key, "never") == 0 && json_is_boolean(x)) continue;
        return false;
    }
    return true;
}

void kern_reap_threshold_merge(kern_reap_threshold *t, const json_t *j)
{
    json_t *nv = json_object_get(j, "never");
    for (int i = 0; i < KERN_DIRT_FIELDS; i++) {
        json_t *x = json_object_get(j, field_names[i]);
        if (json_is_integer(x) && json_integer_value(x) > 0) t->limit[i] = (uint64_t)json_integer_value(x);
        else if (json_is_string(x)) t->limit[i] = 0; /* "never" */
    }
    if (json_is_boolean(nv)) t->never = json_is_true(nv);
}

void kern_reap_threshold_default(kern_reap_threshold *t)
{
    memset(t, 0, sizeof *t);
    t->limit[0] = KERN_DEFAULT_REAP_DELIVERIES;
    t->limit[1] = KERN_DEFAULT_REAP_GC_KREFS;
    t->limit[2] = 0; /* computrons: never */
}

static swing_status dirt_get(kern *k, const char *vat, dirt *d, swing_err *err)
{
    char *v = NULL;
    bool found;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.reapDirt", vat);
    memset(d, 0, sizeof *d);
    if (s || !found) return s;
    {
        uint64_t f[5];
        if (!kern_kv_parse_u64s(v, f, 5) || f[4] > 1) s = SWING_CORRUPT(err, "bad reapDirt \"%s\" of %s", v, vat);
        else {
            memcpy(d->n, f, sizeof d->n);
            d->seq = f[3];
            d->due = f[4] == 1;
        }
    }
    swing_mfree(v);
    return s;
}

static swing_status dirt_put(kern *k, const char *vat, const dirt *d, swing_err *err)
{
    char v[128];
    if (!d->n[0] && !d->n[1] && !d->n[2] && !d->seq && !d->due) return kern_kv_del(k, err, "%s.reapDirt", vat);
    kern_kv_format(v, sizeof v, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d", d->n[0], d->n[1], d->n[2],
                d->seq, d->due ? 1 : 0);
    return kern_kv_set(k, v, err, "%s.reapDirt", vat);
}

static void seq_key(char out[64], uint64_t seq)
{
    char pos[21];
    store_keys_pos(pos, seq);
    kern_kv_format(out, 64, DIRTY_NS "%s", pos);
}

static swing_status list_append(kern *k, const char *vat, dirt *d, swing_err *err)
{
    char key[64];
    swing_status s = kern_kv_next_id(k, DIRTY_NEXT, 1, &d->seq, err);
    if (s) return s;
    seq_key(key, d->seq);
    return kern_kv_set(k, vat, err, "%s", key);
}

static swing_status list_remove(kern *k, dirt *d, swing_err *err)
{
    char key[64];
    if (!d->seq) return SWING_OK;
    seq_key(key, d->seq);
    d->seq = 0;
    return kern_kv_del(k, err, "%s", key);
}

swing_status kern_reap_budget(kern *k, uint64_t *budget, swing_err *err)
{
    bool set;
    swing_status s = kern_kv_getu(k, budget, &set, err, "kernel.reapBudget");
    if (s == SWING_OK && !set) *budget = KERN_DEFAULT_REAP_BUDGET;
    return s;
}

/* The reapQueue event of a threshold BOYD. */
static swing_status reap_event(kern *k, const char *vat, char ev[REAP_EVENT_MAX], swing_err *err)
{
    uint64_t budget;
    swing_status s = kern_reap_budget(k, &budget, err);
    if (s) return s;
    kern_kv_format(ev, REAP_EVENT_MAX, "{\"budget\":%" PRIu64 ",\"type\":\"bringOutYourDead\",\"vatID\":\"%s\"}",
                budget, vat);
    return SWING_OK;
}

swing_status kern_reap_add_dirt(kern *k, const char *vat, uint64_t gc_krefs, uint64_t computrons,
                                swing_err *err)
{
    const kern_vat_flags *f;
    dirt d;
    bool changed = false, over = false;
    const uint64_t add[KERN_DIRT_FIELDS] = {1, gc_krefs, computrons};
    swing_status s = kern_vats_flags(k, vat, &f, err);
    if (s || f->reap.never) return s;
    if ((s = dirt_get(k, vat, &d, err))) return s;
    for (int i = 0; i < KERN_DIRT_FIELDS; i++) {
        if (!f->reap.limit[i] || !add[i]) continue;
        d.n[i] = d.n[i] > UINT64_MAX - add[i] ? UINT64_MAX : d.n[i] + add[i];
        changed = true;
        if (d.n[i] >= f->reap.limit[i]) over = true;
    }
    if (!d.seq) {
        if ((s = list_append(k, vat, &d, err))) return s;
        changed = true;
    }
    if (over && !d.due) {
        char ev[REAP_EVENT_MAX];
        d.due = true;
        if ((s = reap_event(k, vat, ev, err))) return s;
        if ((s = kern_queue_push(k, KERN_REAP, ev, err))) return s;
        changed = true;
    }
    return changed ? dirt_put(k, vat, &d, err) : SWING_OK;
}

swing_status kern_reap_done(kern *k, const char *vat, bool found_work, swing_err *err)
{
    dirt d;
    swing_status s = dirt_get(k, vat, &d, err);
    if (s) return s;
    if ((s = list_remove(k, &d, err))) return s;
    memset(d.n, 0, sizeof d.n);
    d.due = false;
    /* A vat that yielded garbage may have more (cycles, the budget): it goes
     * round again, at the tail. */
    if (found_work) {
        const kern_vat_flags *f;
        if ((s = kern_vats_flags(k, vat, &f, err))) return s;
        if (!f->reap.never && (s = list_append(k, vat, &d, err))) return s;
    }
    return dirt_put(k, vat, &d, err);
}

swing_status kern_reap_forget(kern *k, const char *vat, swing_err *err)
{
    dirt d;
    bool has;
    swing_status s = kern_kv_has(k, &has, err, "%s.reapDirt", vat);
    if (s || !has) return s; /* no write for a vat with no dirt (or deleted) */
    if ((s = dirt_get(k, vat, &d, err)) || (s = list_remove(k, &d, err))) return s;
    return kern_kv_del(k, err, "%s.reapDirt", vat);
}

/* The vat ID stored at dirty-list key `key`. */
static swing_status entry_vat(kern *k, swing_bytes key, char vat[KERN_ID_MAX], swing_err *err)
{
    swing_buf v = {0};
    bool found;
    swing_status s = store_get(k->st, key, &v, &found, err);
    if (s == SWING_OK && (!found || v.len == 0 || v.len >= KERN_ID_MAX)) s = SWING_CORRUPT(err, "bad dirty-list entry");
    if (s == SWING_OK) {
        memcpy(vat, v.ptr, v.len);
        vat[v.len] = '\0';
    }
    swing_buf_free(&v);
    return s;
}

swing_status kern_reap_dirty_head(kern *k, char vat[KERN_ID_MAX], bool *found, swing_err *err)
{
    swing_buf key = {0};
    swing_status s = store_next_key_in(k->st, swing_str(DIRTY_NS), swing_str(DIRTY_NS), &key, found, err);
    vat[0] = '\0';
    if (s == SWING_OK && *found) s = entry_vat(k, swing_buf_view(&key), vat, err);
    swing_buf_free(&key);
    return s;
}

swing_status kern_reap_dirty_list(kern *k, char (**vats)[KERN_ID_MAX], size_t *n, swing_err *err)
{
    store_scan sc;
    size_t cap = 0;
    swing_status s;
    *vats = NULL;
    *n = 0;
    store_scan_init(&sc, k->st, swing_str(DIRTY_NS));
    for (;;) {
        swing_bytes key;
        bool found;
        if ((s = store_scan_next(&sc, &key, &found, err)) || !found) break;
        if ((s = SWING_VEC_RESERVE(*vats, cap, *n + 1, 8, err))) break;
        if ((s = entry_vat(k, key, (*vats)[*n], err))) break;
        (*n)++;
    }
    store_scan_free(&sc);
    if (s) {
        swing_mfree(*vats);
        *vats = NULL;
        *n = 0;
    }
    return s;
}

swing_status kern_dirty_vats(kern *k, char (**vats)[24], size_t *n, swing_err *err)
{
    return kern_reap_dirty_list(k, (char(**)[KERN_ID_MAX])vats, n, err);
}
