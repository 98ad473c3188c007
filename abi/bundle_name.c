/*
 * bundle_name.c - bundle names: the names init's bundles carry and
 * install_bundle may give, kept as consensus state so that upgrade_vat and
 * upgrade_all_vats can name a bundle on every node, state-synced ones too:
 *
 *   bundle.name.<name>   the bundle ID registered under the name
 *
 * The key and its rules (1-64 bytes, no '.', an installed bundle; a later
 * registration moves the name) are kern_bundle_name's (kernel/vatadmin.c on
 * main). Until this branch's kernel.h declares it, the names are written
 * here, in a kernel crank of their own; once it does, this file becomes
 * calls to it. Reads go through the store like any query.
 */
#include "abi/host.h"

#include <string.h>

#include "kernel/kernel_int.h"

#define NAME_PREFIX "bundle.name."

bool host_bundle_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= HOST_BUNDLE_NAME_MAX && !strchr(name, '.');
}

swing_status host_bundle_names_set(swing_handle *h, const char *const *names, const char *const *ids, size_t n,
                                   swing_err *err)
{
    swing_status s;
    for (size_t i = 0; i < n; i++) {
        bool have;
        if (!host_bundle_name_ok(names[i]))
            return swing_err_set(err, SWING_ERR_INVALID, "bundle name %.80s: 1-%d bytes without '.'",
                                 names[i] ? names[i] : "", HOST_BUNDLE_NAME_MAX);
        if (!store_bundle_id_valid(ids[i])) return swing_err_set(err, SWING_ERR_INVALID, "bad bundle ID");
        if ((s = store_bundle_has(h->st, ids[i], &have, err))) return s;
        if (!have) return swing_err_set(err, SWING_ERR_INVALID, "bundle %s is not installed", ids[i]);
    }
    if (n == 0) return SWING_OK;
    if ((s = kern_crank_begin(h->k, err))) return s;
    for (size_t i = 0; !s && i < n; i++) s = kern_kv_set(h->k, ids[i], err, NAME_PREFIX "%s", names[i]);
    if (s) {
        kern_crank_abort(h->k, NULL);
        return s;
    }
    return kern_crank_end(h->k, err);
}

swing_status host_bundle_name_get(swing_handle *h, const char *name, char id[STORE_BUNDLE_ID_LEN + 1],
                                  bool *found, swing_err *err)
{
    char key[sizeof NAME_PREFIX + HOST_BUNDLE_NAME_MAX];
    swing_buf v = {0};
    swing_status s;
    *found = false;
    id[0] = '\0';
    if (!host_bundle_name_ok(name)) return SWING_OK;
    memcpy(key, NAME_PREFIX, sizeof NAME_PREFIX - 1);
    strcpy(key + sizeof NAME_PREFIX - 1, name);
    if ((s = store_get(h->st, swing_str(key), &v, found, err)) || !*found) return s;
    if (v.len != STORE_BUNDLE_ID_LEN) s = SWING_CORRUPT(err, "bad bundle ID under %s", key);
    else memcpy(id, v.ptr, v.len + 1);
    swing_buf_free(&v);
    if (s) *found = false;
    return s;
}
