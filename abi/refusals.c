/*
 * refusals.c - the block's refused requests, kept for a replay of it.
 *
 * Inside a replayed block the requests that change state (queue_inbound,
 * install_bundle, create_vat, terminate_vat, wind_down_vat) run nothing and
 * recompute their answers from the committed state. That recomputes a
 * success faithfully, but not a refusal that depended on the state before
 * the block (a vat terminated since, a name taken by the block itself), and
 * a host turns answers into transaction results, which are consensus data.
 * So every such request inside a block takes a turn number, each refusal is
 * recorded as [u32 turn][u32 status][u32 length][message] (big-endian), and
 * the list is committed with the block (host.lastRefusals). A replay gives
 * the turns the recorded refusals, the other turns their recomputed
 * answers. A block committed without the record (none refused, or a
 * version before it) replays as before. A record that could not be kept
 * (out of memory) is written as one turn 0xffffffff: the replay then
 * refuses every such request (INTERNAL) rather than answer one wrongly.
 * Upgrades keep their whole answers themselves (upgrade.c).
 */
#include "abi/host.h"

#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"

#define LOST_TURN 0xffffffffu
#define HEADER 12u

swing_status host_refusals_begin(swing_handle *h, bool replay, swing_err *err)
{
    h->ref_len = h->ref_at = 0;
    h->ref_turn = 0;
    h->ref_lost = false;
    return replay ? host_record_load(h, HOST_KEY_REFUSALS, &h->ref_rec, &h->ref_len, &h->ref_cap, err) : SWING_OK;
}

void host_refusals_free(swing_handle *h)
{
    swing_mfree(h->ref_rec);
    h->ref_rec = NULL;
    h->ref_len = h->ref_cap = h->ref_at = 0;
}

static void note(swing_handle *h, uint32_t turn, swing_status s, const char *msg)
{
    size_t n = strlen(msg);
    uint8_t *p;
    if (h->ref_lost) return;
    if (n > SWING_ERR_MSG_MAX || SWING_VEC_RESERVE(h->ref_rec, h->ref_cap, h->ref_len + HEADER + n, 256, NULL)) {
        h->ref_lost = true;
        return;
    }
    p = h->ref_rec + h->ref_len;
    swing_put_u32be(p, turn);
    swing_put_u32be(p + 4, (uint32_t)s);
    swing_put_u32be(p + 8, (uint32_t)n);
    memcpy(p + HEADER, msg, n);
    h->ref_len += HEADER + n;
}

/* In a replay: the recorded refusal of this turn, if there is one. */
static swing_status replayed(host_call *c, uint32_t turn, swing_status s)
{
    swing_handle *h = c->h;
    while (h->ref_len - h->ref_at >= HEADER) {
        const uint8_t *p = h->ref_rec + h->ref_at;
        uint32_t t = swing_get_u32be(p), st = swing_get_u32be(p + 4), n = swing_get_u32be(p + 8);
        if (t == LOST_TURN)
            return swing_err_set(c->err, SWING_ERR_INTERNAL, "the answers of this block were not kept: it cannot be replayed");
        if (n > h->ref_len - h->ref_at - HEADER) { /* damaged: nothing more to answer from */
            h->ref_at = h->ref_len;
            break;
        }
        if (t > turn) break;
        h->ref_at += HEADER + n;
        if (t == turn) /* (t < turn: a turn this replay never had; end_block refuses it) */
            return swing_err_set(c->err, st == SWING_OK ? SWING_ERR_INTERNAL : (swing_status)st, "%.*s", (int)n,
                                 (const char *)p + HEADER);
    }
    return s;
}

swing_status host_refusals_run(host_call *c, swing_status (*op)(host_call *))
{
    swing_handle *h = c->h;
    uint32_t turn;
    swing_status s;
    if (h->phase != HOST_IN_BLOCK) return op(c); /* refused by its phase check, the same in any run */
    turn = h->ref_turn++;
    s = op(c);
    if (h->replay) return replayed(c, turn, s);
    if (s) note(h, turn, s, c->err->code ? c->err->msg : swing_status_name(s));
    return s;
}

swing_status host_refusals_save(swing_handle *h, swing_err *err)
{
    uint8_t lost[HEADER] = {0};
    if (h->ref_lost) {
        swing_put_u32be(lost, LOST_TURN);
        return store_set(h->st, swing_str(HOST_KEY_REFUSALS), swing_bytes_of(lost, sizeof lost), err);
    }
    if (!h->ref_len) return store_delete(h->st, swing_str(HOST_KEY_REFUSALS), err);
    return store_set(h->st, swing_str(HOST_KEY_REFUSALS), swing_bytes_of(h->ref_rec, h->ref_len), err);
}
