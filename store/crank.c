/*
 * crank.c - cranks: begin (start the journal), end (keep the writes and fold
 * the crank hash into the activity hash), abort (roll the journal back,
 * discarding writes, export data and hash contributions). DESIGN.md §3,
 * reference/store-host-abi.md §1.5. The committed activity hash, which binds
 * the chain to the state digest at commit, is in digest.c.
 */
#include "store/store_int.h"

swing_status store_crank_begin(store *st, swing_err *err)
{
    swing_status s = store_check_usable(st, err);
    if (s) return s;
    if (st->in_crank) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "a crank is already open");
    st->in_crank = true;
    store_journal_begin(&st->journal);
    swing_sha256_init(&st->crank_hash);
    return SWING_OK;
}

swing_status store_crank_end(store *st, swing_err *err)
{
    char crank[SWING_SHA256_HEX_LEN + 1], next[SWING_SHA256_HEX_LEN + 1];
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl;
    swing_sha256 h;
    swing_status s = store_check_usable(st, err);
    if (s) return s;
    if (!st->in_crank) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "no crank is open");
    swing_sha256_final_hex(&st->crank_hash, crank);
    swing_sha256_init(&h);
    swing_sha256_update(&h, "activityhash\n", 13);
    swing_sha256_update(&h, st->activity, strlen(st->activity));
    swing_sha256_update(&h, "\n", 1);
    swing_sha256_update(&h, crank, SWING_SHA256_HEX_LEN);
    swing_sha256_update(&h, "\n", 1);
    swing_sha256_final_hex(&h, next);
    pl = store_keys_join(pk, sizeof pk, STORE_NS_KV, swing_str(STORE_KEY_ACTIVITY));
    /* The only step that can fail comes first: the crank stays open on error. */
    s = store_overlay_put(&st->block, swing_bytes_of(pk, pl), swing_bytes_of(next, SWING_SHA256_HEX_LEN),
                          false, err);
    if (s) return s;
    store_journal_commit(&st->journal);
    memcpy(st->activity, next, sizeof next);
    st->in_crank = false;
    st->gen++;
    st->xgen++;
    return SWING_OK;
}

swing_status store_crank_abort(store *st, swing_err *err)
{
    swing_status s = store_check_usable(st, err);
    if (s) return s;
    if (!st->in_crank) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "no crank is open");
    store_journal_rollback(&st->journal, &st->block);
    swing_sha256_init(&st->crank_hash);
    st->in_crank = false;
    st->gen++;
    st->xgen++;
    return SWING_OK;
}
