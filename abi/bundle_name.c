/*
 * bundle_name.c - bundle names: the names init's bundles carry and
 * install_bundle may give, kept as consensus state so that upgrade_vat and
 * upgrade_all_vats can name a bundle on every node, state-synced ones too:
 *
 *   bundle.name.<name>   the bundle ID registered under the name
 *
 * The key and its rules (1-64 bytes, no '.', an installed bundle; a later
 * registration moves the name) are the kernel's (kern_bundle_names).
 */
#include "abi/host.h"

#include <string.h>

bool host_bundle_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= HOST_BUNDLE_NAME_MAX && !strchr(name, '.');
}

swing_status host_bundle_names_set(swing_handle *h, const char *const *names, const char *const *ids, size_t n,
                                   swing_err *err)
{
    return kern_bundle_names(h->k, names, ids, n, err);
}

swing_status host_bundle_name_get(swing_handle *h, const char *name, char id[STORE_BUNDLE_ID_LEN + 1],
                                  bool *found, swing_err *err)
{
    return kern_bundle_named(h->k, name, id, found, err);
}
