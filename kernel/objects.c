/*
 * objects.c - kernel objects: koN.owner and koN.refCount = "reachable,
 * recognizable" (reference/kernel-gc.md §1.4, §2.2). A decrement that leaves
 * either count at zero records the object as maybe-free; the decision is
 * made later by gc.c.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/alloc.h"
#include "base/check.h"

swing_status kern_obj_create(kern *k, const char *owner, char kref[KERN_ID_MAX], swing_err *err)
{
    uint64_t id;
    swing_status s = kern_kv_next_id(k, "ko.nextID", 1, &id, err);
    if (s) return s;
    kern_kv_format(kref, KERN_ID_MAX, "ko%" PRIu64, id);
    if ((s = kern_kv_set(k, owner, err, "%s.owner", kref))) return s;
    return kern_kv_set(k, "0,0", err, "%s.refCount", kref);
}

swing_status kern_obj_refs(kern *k, const char *kref, uint64_t *reach, uint64_t *recog,
                           bool *exists, swing_err *err)
{
    char *v = NULL;
    swing_status s = kern_kv_get(k, &v, exists, err, "%s.refCount", kref);
    *reach = *recog = 0;
    if (s || !*exists) return s;
    if (!kern_kv_parse_pair(v, reach, recog)) s = SWING_CORRUPT(err, "bad refCount \"%s\" for %s", v, kref);
    swing_mfree(v);
    return s;
}

static swing_status set_refs(kern *k, const char *kref, uint64_t reach, uint64_t recog,
                             swing_err *err)
{
    char v[48];
    if (SWING_NEVER(reach > recog))
        return swing_err_set(err, SWING_ERR_INTERNAL, "%s: reachable exceeds recognizable", kref);
    kern_kv_format(v, sizeof v, "%" PRIu64 ",%" PRIu64, reach, recog);
    return kern_kv_set(k, v, err, "%s.refCount", kref);
}

swing_status kern_obj_change(kern *k, const char *kref, int dreach, int drecog, swing_err *err)
{
    uint64_t r, c;
    bool exists;
    swing_status s = kern_obj_refs(k, kref, &r, &c, &exists, err);
    if (s) return s;
    if (!exists) {
        /* Decrements may name an object already retired; increments may not. */
        if (dreach > 0 || drecog > 0)
            return swing_err_set(err, SWING_ERR_INTERNAL, "incref of missing object %s", kref);
        return SWING_OK;
    }
    if ((dreach < 0 && r < (uint64_t)-dreach) || (drecog < 0 && c < (uint64_t)-drecog))
        return swing_err_set(err, SWING_ERR_INTERNAL, "refcount underflow on %s", kref);
    r = (uint64_t)((int64_t)r + dreach);
    c = (uint64_t)((int64_t)c + drecog);
    if ((s = set_refs(k, kref, r, c, err))) return s;
    if ((dreach < 0 || drecog < 0) && (r == 0 || c == 0)) return kern_gc_maybe_free(k, kref, err);
    return SWING_OK;
}

swing_status kern_obj_incref(kern *k, const char *kref, bool reachable, swing_err *err)
{
    return kern_obj_change(k, kref, reachable ? 1 : 0, 1, err);
}

swing_status kern_obj_decref(kern *k, const char *kref, bool reachable, swing_err *err)
{
    return kern_obj_change(k, kref, reachable ? -1 : 0, -1, err);
}

swing_status kern_obj_owner(kern *k, const char *kref, char owner[KERN_ID_MAX], bool *has,
                            swing_err *err)
{
    char *v = NULL;
    swing_status s = kern_kv_get(k, &v, has, err, "%s.owner", kref);
    owner[0] = '\0';
    if (s || !*has) return s;
    if (strlen(v) >= KERN_ID_MAX) s = SWING_CORRUPT(err, "bad owner of %s", kref);
    else strcpy(owner, v);
    swing_mfree(v);
    return s;
}

swing_status kern_obj_delete(kern *k, const char *kref, swing_err *err)
{
    swing_status s = kern_kv_del(k, err, "%s.owner", kref);
    return s ? s : kern_kv_del(k, err, "%s.refCount", kref);
}

swing_status kern_obj_orphan(kern *k, const char *kref, swing_err *err)
{
    char owner[KERN_ID_MAX];
    bool has;
    swing_status s = kern_obj_owner(k, kref, owner, &has, err);
    if (s) return s;
    if (has) {
        if ((s = kern_clist_forget(k, owner, kref, err))) return s;
        if ((s = kern_kv_del(k, err, "%s.owner", kref))) return s;
    }
    return kern_gc_maybe_free(k, kref, err);
}

swing_status kern_obj_retire(kern *k, const char *kref, swing_err *err)
{
    uint64_t nvats;
    swing_status s = kern_vats_count(k, &nvats, err);
    for (uint64_t i = 1; s == SWING_OK && i <= nvats; i++) {
        char vat[KERN_ID_MAX], vref[KERN_VREF_MAX];
        bool reachable, found, alive;
        snprintf(vat, sizeof vat, "v%" PRIu64, i);
        s = kern_vats_alive(k, vat, &alive, err);
        if (s || !alive) continue;
        s = kern_clist_vref(k, vat, kref, vref, &reachable, &found, err);
        if (s == SWING_OK && found && vref[1] == '-')
            s = kern_gc_add_action(k, vat, KERN_GC_RETIRE_IMPORT, kref, err);
    }
    return s ? s : kern_obj_delete(k, kref, err);
}
