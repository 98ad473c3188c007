/*
 * clist.c - per-vat c-lists (reference/kernel-gc.md §2.1, §2.3):
 * vNN.c.<kref> = "R <vref>" | "_ <vref>" and vNN.c.<vref> = <kref>.
 * Counting: an object import adds recognizable, plus reachable while its
 * flag is R; an object export counts nothing; any promise entry adds +1.
 */
#include "kernel/kernel_int.h"

#include "base/alloc.h"

swing_status kern_clist_vref(kern *k, const char *vat, const char *kref, char vref[KERN_VREF_MAX],
                             bool *reachable, bool *found, swing_err *err)
{
    char *v = NULL;
    swing_status s = kern_kv_get(k, &v, found, err, "%s.c.%s", vat, kref);
    vref[0] = '\0';
    *reachable = false;
    if (s || !*found) return s;
    if (strlen(v) < 4 || (v[0] != 'R' && v[0] != '_') || v[1] != ' ' ||
        strlen(v + 2) >= KERN_VREF_MAX) {
        swing_mfree(v);
        return SWING_CORRUPT(err, "bad c-list entry %s.c.%s", vat, kref);
    }
    *reachable = v[0] == 'R';
    strcpy(vref, v + 2);
    swing_mfree(v);
    return SWING_OK;
}

swing_status kern_clist_kref(kern *k, const char *vat, const char *vref, char kref[KERN_ID_MAX],
                             bool *found, swing_err *err)
{
    char *v = NULL;
    swing_status s = kern_kv_get(k, &v, found, err, "%s.c.%s", vat, vref);
    kref[0] = '\0';
    if (s || !*found) return s;
    if (!kern_ids_kref_valid(v)) s = SWING_CORRUPT(err, "bad c-list entry %s.c.%s", vat, vref);
    else strcpy(kref, v);
    swing_mfree(v);
    return s;
}

static bool is_import(const char *vref) { return vref[1] == '-'; }

static swing_status write_entry(kern *k, const char *vat, const char *kref, const char *vref,
                                bool reachable, swing_err *err)
{
    char v[KERN_VREF_MAX + 2];
    size_t n = strlen(vref);
    if (n + 3 > sizeof v) return swing_err_set(err, SWING_ERR_INTERNAL, "vref too long: %s", vref);
    v[0] = reachable ? 'R' : '_';
    v[1] = ' ';
    memcpy(v + 2, vref, n + 1);
    return kern_kv_set(k, v, err, "%s.c.%s", vat, kref);
}

swing_status kern_clist_add(kern *k, const char *vat, const char *kref, const char *vref,
                            bool reachable, swing_err *err)
{
    swing_status s = write_entry(k, vat, kref, vref, reachable, err);
    if (s || (s = kern_kv_set(k, kref, err, "%s.c.%s", vat, vref))) return s;
    if (kern_ids_is_kpromise(kref)) return kern_kp_incref(k, kref, err);
    if (is_import(vref)) return kern_obj_change(k, kref, reachable ? 1 : 0, 1, err);
    return SWING_OK;
}

swing_status kern_clist_set_reachable_known(kern *k, const char *vat, const char *kref, const char *vref,
                                            bool was, bool reachable, swing_err *err)
{
    swing_status s;
    if (was == reachable) return SWING_OK;
    if ((s = write_entry(k, vat, kref, vref, reachable, err))) return s;
    if (kern_ids_is_kobj(kref) && is_import(vref)) return kern_obj_change(k, kref, reachable ? 1 : -1, 0, err);
    return SWING_OK;
}

swing_status kern_clist_set_reachable(kern *k, const char *vat, const char *kref, bool reachable,
                                      swing_err *err)
{
    char vref[KERN_VREF_MAX];
    bool was, found;
    swing_status s = kern_clist_vref(k, vat, kref, vref, &was, &found, err);
    if (s) return s;
    if (!found) return swing_err_set(err, SWING_ERR_INTERNAL, "no c-list entry %s.c.%s", vat, kref);
    return kern_clist_set_reachable_known(k, vat, kref, vref, was, reachable, err);
}

swing_status kern_clist_delete_known(kern *k, const char *vat, const char *kref, const char *vref,
                                     bool reachable, swing_err *err)
{
    swing_status s = SWING_OK;
    if (kern_ids_is_kpromise(kref)) s = kern_kp_decref(k, kref, err);
    else if (is_import(vref)) s = kern_obj_change(k, kref, reachable ? -1 : 0, -1, err);
    if (s) return s;
    return kern_clist_forget_known(k, vat, kref, vref, err);
}

swing_status kern_clist_delete(kern *k, const char *vat, const char *kref, swing_err *err)
{
    char vref[KERN_VREF_MAX];
    bool reachable, found;
    swing_status s = kern_clist_vref(k, vat, kref, vref, &reachable, &found, err);
    if (s || !found) return s;
    return kern_clist_delete_known(k, vat, kref, vref, reachable, err);
}

swing_status kern_clist_forget_known(kern *k, const char *vat, const char *kref, const char *vref,
                                     swing_err *err)
{
    swing_status s = kern_kv_del(k, err, "%s.c.%s", vat, kref);
    return s ? s : kern_kv_del(k, err, "%s.c.%s", vat, vref);
}

swing_status kern_clist_forget(kern *k, const char *vat, const char *kref, swing_err *err)
{
    char vref[KERN_VREF_MAX];
    bool reachable, found;
    swing_status s = kern_clist_vref(k, vat, kref, vref, &reachable, &found, err);
    if (s || !found) return s;
    return kern_clist_forget_known(k, vat, kref, vref, err);
}
