/*
 * bundle.c - content-addressed, immutable vat code: bundle.<id> holds the
 * bytes, id = "b1-" + SHA-256 hex of the bytes. Export data carries
 * bundle.<id> = id; the bytes travel as an artifact.
 */
#include "store/store_int.h"

#include <stdio.h>

bool store_bundle_id_valid(const char *id)
{
    if (!id || strncmp(id, "b1-", 3) != 0 || strlen(id) != STORE_BUNDLE_ID_LEN) return false;
    for (const char *p = id + 3; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}

static swing_status bundle_key(store *st, const char *id, uint8_t *pk, size_t *pl,
                               swing_err *err)
{
    swing_status s = store_check_usable(st, err);
    if (s) return s;
    if (!store_bundle_id_valid(id))
        return swing_err_set(err, SWING_ERR_INVALID, "invalid bundle ID");
    *pl = store_keys_join(pk, STORE_PKEY_MAX, STORE_NS_BUNDLE, swing_str(id));
    return SWING_OK;
}

void store_bundle_id_of(swing_bytes bundle, char id[STORE_BUNDLE_ID_LEN + 1])
{
    char hex[SWING_SHA256_HEX_LEN + 1];
    swing_sha256_hex(bundle.ptr, bundle.len, hex);
    snprintf(id, STORE_BUNDLE_ID_LEN + 1, "b1-%s", hex);
}

swing_status store_bundle_put(store *st, swing_bytes bundle,
                              char id[STORE_BUNDLE_ID_LEN + 1], swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl;
    swing_status s;
    id[0] = '\0';
    if (bundle.len > STORE_BUNDLE_MAX)
        return swing_err_set(err, SWING_ERR_LIMIT, "bundle of %zu bytes exceeds %u", bundle.len,
                             STORE_BUNDLE_MAX);
    store_bundle_id_of(bundle, id);
    if ((s = bundle_key(st, id, pk, &pl, err))) {
        id[0] = '\0';
        return s;
    }
    s = store_layers_put(st, swing_bytes_of(pk, pl), bundle, false, err);
    if (s) id[0] = '\0';
    return s;
}

swing_status store_bundle_get(store *st, const char *id, swing_buf *bundle, bool *found,
                              swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl;
    swing_status s = bundle_key(st, id, pk, &pl, err);
    *found = false;
    if (bundle) bundle->ptr = NULL, bundle->len = 0;
    if (s) return s;
    return store_layers_get(st, swing_bytes_of(pk, pl), bundle, found, err);
}

swing_status store_bundle_has(store *st, const char *id, bool *found, swing_err *err)
{
    return store_bundle_get(st, id, NULL, found, err);
}

swing_status store_bundle_delete(store *st, const char *id, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl;
    swing_status s = bundle_key(st, id, pk, &pl, err);
    if (s) return s;
    return store_layers_put(st, swing_bytes_of(pk, pl), swing_bytes_of(NULL, 0), true, err);
}
