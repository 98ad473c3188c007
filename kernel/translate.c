/*
 * translate.c - vat <-> kernel reference translation with the c-list checks
 * of reference/kernel-gc.md §2.3. Anything illegal a vat does returns
 * SWING_ERR_VAT (vat-fatal); kernel-side impossibilities return INTERNAL.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/alloc.h"

static swing_status vat_fatal(swing_err *err, const char *vat, const char *what, const char *vref)
{
    return swing_err_set(err, SWING_ERR_VAT, "vat %s: %s: %.80s", vat, what, vref);
}

swing_status kern_tr_v2k(kern *k, const char *vat, const char *vref, kern_tr_use use,
                         char kref[KERN_ID_MAX], swing_err *err)
{
    char type, cur[KERN_VREF_MAX];
    bool exported, found, reachable;
    swing_status s;
    kref[0] = '\0';
    if (!vref || !kern_ids_vref_parse(vref, &type, &exported))
        return vat_fatal(err, vat, "malformed vref", vref ? vref : "(null)");
    if (use == KERN_TR_RESULT && type != 'p') return vat_fatal(err, vat, "result is not a promise", vref);
    if ((s = kern_clist_kref(k, vat, vref, kref, &found, err))) return s;
    if (!found) {
        if (!exported) return vat_fatal(err, vat, "unknown vref", vref);
        if (type == 'o') s = kern_obj_create(k, vat, kref, err);
        else s = kern_kp_create(k, vat, KERN_POLICY_IGNORE, kref, err);
        if (s) return s;
        return kern_clist_add(k, vat, kref, vref, true, err);
    }
    if (type == 'p') {
        kern_promise_state st;
        char decider[KERN_ID_MAX];
        if (use != KERN_TR_RESULT) return SWING_OK;
        if ((s = kern_kp_state(k, kref, &st, decider, err))) return s;
        if (st != KERN_PROMISE_UNRESOLVED || strcmp(decider, vat) != 0)
            return vat_fatal(err, vat, "result promise is not decided by the vat", vref);
        return SWING_OK;
    }
    if (exported) return kern_clist_set_reachable(k, vat, kref, true, err); /* re-export */
    if ((s = kern_clist_vref(k, vat, kref, cur, &reachable, &found, err))) return s;
    if (!reachable) return vat_fatal(err, vat, "access to an unreachable import", vref);
    return SWING_OK;
}

swing_status kern_tr_k2v(kern *k, const char *vat, const char *kref, char vref[KERN_VREF_MAX],
                         swing_err *err)
{
    bool reachable, found;
    uint64_t id;
    swing_status s = kern_clist_vref(k, vat, kref, vref, &reachable, &found, err);
    if (s) return s;
    if (found) {
        if (vref[1] == '+') {
            if (kern_ids_is_kobj(kref) && !reachable)
                return swing_err_set(err, SWING_ERR_INTERNAL, "%s sent back to %s after a drop",
                                     kref, vat);
            return SWING_OK;
        }
        return reachable ? SWING_OK : kern_clist_set_reachable(k, vat, kref, true, err);
    }
    if (!kern_ids_kref_valid(kref)) return swing_err_set(err, SWING_ERR_INTERNAL, "bad kref %s", kref);
    {
        char counter[40];
        bool obj = kern_ids_is_kobj(kref);
        snprintf(counter, sizeof counter, "%s.%c.nextID", vat, obj ? 'o' : 'p');
        if ((s = kern_kv_next_id(k, counter, 1, &id, err))) return s;
        snprintf(vref, KERN_VREF_MAX, "%c-%" PRIu64, obj ? 'o' : 'p', id);
    }
    return kern_clist_add(k, vat, kref, vref, true, err);
}

static swing_status alloc_cd(vp_capdata in, kern_cd *out, swing_err *err)
{
    memset(out, 0, sizeof *out);
    out->body = swing_strdup(in.body ? in.body : "");
    out->slots = swing_calloc(in.nslots ? in.nslots : 1, sizeof *out->slots);
    if (!out->body || !out->slots) {
        kern_cd_free(out);
        return SWING_NOMEM(err);
    }
    return SWING_OK;
}

swing_status kern_tr_cd_v2k(kern *k, const char *vat, vp_capdata in, kern_cd *out, swing_err *err)
{
    swing_status s = alloc_cd(in, out, err);
    for (size_t i = 0; s == SWING_OK && i < in.nslots; i++) {
        char kref[KERN_ID_MAX];
        if ((s = kern_tr_v2k(k, vat, in.slots[i], KERN_TR_ACCESS, kref, err))) break;
        if (!(out->slots[i] = swing_strdup(kref))) s = SWING_NOMEM(err);
        else out->nslots = i + 1;
    }
    if (s) kern_cd_free(out);
    return s;
}

swing_status kern_tr_cd_k2v(kern *k, const char *vat, vp_capdata in, kern_cd *out, swing_err *err)
{
    swing_status s = alloc_cd(in, out, err);
    for (size_t i = 0; s == SWING_OK && i < in.nslots; i++) {
        char vref[KERN_VREF_MAX];
        if ((s = kern_tr_k2v(k, vat, in.slots[i], vref, err))) break;
        if (!(out->slots[i] = swing_strdup(vref))) s = SWING_NOMEM(err);
        else out->nslots = i + 1;
    }
    if (s) kern_cd_free(out);
    return s;
}
