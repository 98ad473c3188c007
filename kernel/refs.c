/*
 * refs.c - the references a queued message, a resolution or retained
 * vatParameters hold: +1 reachable for objects, +1 for promises, per slot
 * (reference/kernel-gc.md §2.2).
 */
#include "kernel/kernel_int.h"

swing_status kern_refs_incref(kern *k, const char *kref, swing_err *err)
{
    if (kern_ids_is_kobj(kref)) return kern_obj_incref(k, kref, true, err);
    if (kern_ids_is_kpromise(kref)) return kern_kp_incref(k, kref, err);
    return swing_err_set(err, SWING_ERR_INTERNAL, "not a kref: %s", kref);
}

swing_status kern_refs_decref(kern *k, const char *kref, swing_err *err)
{
    if (kern_ids_is_kobj(kref)) return kern_obj_decref(k, kref, true, err);
    if (kern_ids_is_kpromise(kref)) return kern_kp_decref(k, kref, err);
    return swing_err_set(err, SWING_ERR_INTERNAL, "not a kref: %s", kref);
}

swing_status kern_refs_incref_cd(kern *k, vp_capdata cd, swing_err *err)
{
    for (size_t i = 0; i < cd.nslots; i++) {
        swing_status s = kern_refs_incref(k, cd.slots[i], err);
        if (s) return s;
    }
    return SWING_OK;
}

swing_status kern_refs_decref_cd(kern *k, vp_capdata cd, swing_err *err)
{
    for (size_t i = 0; i < cd.nslots; i++) {
        swing_status s = kern_refs_decref(k, cd.slots[i], err);
        if (s) return s;
    }
    return SWING_OK;
}
