/*
 * upgrade.c - vat upgrade (DESIGN.md §6.5; reference/upgrade.md §3):
 * requests (one vat, or every eligible live vat), the run-queue event that
 * performs one upgrade in one crank, and the log of finished upgrades.
 * STUB: the interface only; the implementation follows.
 */
#include "kernel/kernel_int.h"

swing_status kern_upgrade_vat(kern *k, const char *vat_name, const kern_upgrade_request *req,
                              uint64_t *upgrade_id, swing_err *err)
{
    (void)k; (void)vat_name; (void)req; (void)upgrade_id;
    return swing_err_set(err, SWING_ERR_INVALID, "upgrade is not implemented yet");
}

swing_status kern_upgrade_all(kern *k, const char *const *names, const char *const *bundle_ids,
                              size_t nbundles, kern_upgrade_plan **list, size_t *n, swing_err *err)
{
    (void)k; (void)names; (void)bundle_ids; (void)nbundles;
    *list = NULL;
    *n = 0;
    return swing_err_set(err, SWING_ERR_INVALID, "upgrade is not implemented yet");
}

swing_status kern_upgrades_take(kern *k, kern_upgrade_result **list, size_t *n, swing_err *err)
{
    (void)k; (void)err;
    *list = NULL;
    *n = 0;
    return SWING_OK;
}

swing_status kern_upgrades_pending(kern *k, uint64_t *n, swing_err *err)
{
    (void)k; (void)err;
    *n = 0;
    return SWING_OK;
}

swing_status kern_vat_incarnation(kern *k, const char *vat_name, uint64_t *incarnation, bool *found,
                                  swing_err *err)
{
    (void)k; (void)vat_name; (void)err;
    *incarnation = 0;
    *found = false;
    return SWING_OK;
}
