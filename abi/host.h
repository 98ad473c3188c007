/*
 * host.h - internals of the host ABI (handle.c, block.c, admin.c, query.c):
 * the handle, its block state machine, and the per-call arena that owns
 * every piece of a response until it is packed.
 *
 * Block protocol (docs/abi.md):
 *   IDLE --begin_block(h)--> IN_BLOCK --end_block--> ENDED --commit--> IDLE
 * begin_block takes the committed height + 1, or the committed height
 * itself, which replays that block: requests are checked against the
 * recorded input hash and the recorded outputs are returned; nothing runs.
 *
 * Strings at the boundary: every string field of a request is checked on
 * the wire before unpacking (no NUL, well-formed UTF-8), and every packed
 * response is repaired to well-formed UTF-8 (wire.c).
 */
#ifndef LIBSWING_ABI_HOST_H
#define LIBSWING_ABI_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/swing.h"
#include "base/bytes.h"
#include "base/err.h"
#include "base/sha256.h"
#include "kernel/kernel.h"
#include "store/store.h"
#include "swing/v1/swing.pb-c.h"

/* Host-owned keys (class host.: committed with the block, never hashed or
 * exported). The pending inbound results are consensus state instead
 * (kernel.h KERN_KEY_INBOUND): an imported node must know them. */
#define HOST_KEY_INPUTS "host.lastInputs"     /* input hash of the committed block */
#define HOST_KEY_END "host.lastEndBlock"      /* its packed EndBlockResponse */
#define HOST_KEY_COMMIT "host.lastCommit"     /* its packed CommitResponse */
#define HOST_KEY_UPGRADES "host.lastUpgrades" /* its upgrade requests' answers (upgrade.c) */
#define HOST_KEY_REFUSALS "host.lastRefusals" /* its other requests' refusals (refusals.c) */

#define HOST_ID_MAX 128 /* inbound ids and vat names */

typedef enum host_phase { HOST_IDLE = 0, HOST_IN_BLOCK = 1, HOST_ENDED = 2 } host_phase;

struct swing_handle {
    char *dir;          /* data directory (owned) */
    bool no_sync;
    size_t cache_bytes, write_buffer_bytes; /* 0: the store's defaults */
    store *st;
    kern *k;
    vp_runtime lua;     /* the vat runtime the kernel runs bundles with */
    host_phase phase;
    bool replay;        /* the open block is the committed height */
    uint64_t height;    /* the open block */
    swing_sha256 inputs; /* hash of the open block's requests, in order */
    /* The answers of the open block's upgrade requests, in order, as
     * records [4-byte big-endian length][packed Response] (upgrade.c):
     * kept with the block for a replay, which answers from them. */
    uint8_t *upg_rec;   /* owned; NULL when empty */
    size_t upg_len, upg_cap;
    size_t upg_at;      /* replay: offset of the next record to answer with */
    bool upg_lost;      /* a record could not be kept (out of memory): none is written */
    /* The open block's refused requests among queue_inbound, install_bundle,
     * create_vat, terminate_vat and wind_down_vat (refusals.c). */
    uint8_t *ref_rec;   /* owned; NULL when empty */
    size_t ref_len, ref_cap;
    size_t ref_at;      /* replay: offset of the next recorded refusal */
    uint32_t ref_turn;  /* such requests seen in the open block */
    bool ref_lost;      /* a refusal could not be kept (out of memory) */
};

/* Everything a response points to lives in the call's arena. */
typedef struct host_arena {
    void **v;
    size_t n, cap;
    void **msgs;             /* unpacked ProtobufCMessages, freed with protobuf-c */
    size_t nm, mcap;
} host_arena;

void *host_alloc(host_arena *a, size_t n); /* zeroed; NULL on NOMEM */
char *host_strdup(host_arena *a, const char *s);
char *host_strndup(host_arena *a, const void *p, size_t n);
/* Appends one element pointer to a repeated field (*arr, *n). */
bool host_push(host_arena *a, void ***arr, size_t *n, void *elem);
/* Takes an unpacked message (freed with the arena). false on NOMEM. */
bool host_keep_unpacked(host_arena *a, ProtobufCMessage *m);
void host_arena_free(host_arena *a);

/* One call: the request, the response under construction, its arena. */
typedef struct host_call {
    swing_handle *h;
    const Swing__V1__Request *req;
    Swing__V1__Response *resp;
    host_arena *ar;
    swing_err *err;
} host_call;

/* (Re)opens store and kernel of h->dir; closes them. */
swing_status host_reopen(swing_handle *h, swing_err *err);
void host_shut(swing_handle *h);

/* Folds one request into the open block's input hash. */
void host_fold_input(swing_handle *h, const ProtobufCMessage *m);

/* Operations (block.c). */
swing_status host_begin_block(host_call *c);
swing_status host_queue_inbound(host_call *c);
swing_status host_end_block(host_call *c);
swing_status host_commit(host_call *c);
/* Operations (admin.c). */
swing_status host_init(host_call *c);
swing_status host_install_bundle(host_call *c);
swing_status host_create_vat(host_call *c);
swing_status host_terminate_vat(host_call *c);
swing_status host_wind_down_vat(host_call *c);
swing_status host_export(host_call *c);
swing_status host_import(host_call *c);
/* Operations (upgrade.c). */
swing_status host_upgrade_vat(host_call *c);
swing_status host_upgrade_all_vats(host_call *c);
/* begin_block: clears the block's upgrade answers, or, in a replay, loads
 * the recorded ones (host.lastUpgrades). */
swing_status host_upgrade_begin(swing_handle *h, bool replay, swing_err *err);
/* end_block: the upgrades finished in the block (kern_upgrades_take), the
 * ones left, and the block's upgrade answers recorded for a replay. */
swing_status host_upgrade_end(host_call *c, Swing__V1__EndBlockResponse *out);
void host_upgrade_free(swing_handle *h);
/* A block's record kept under a host. key (handle.c): replaces *rec
 * (owned, capacity *cap) by the key's value, *len its length; unchanged
 * when the key is absent. */
swing_status host_record_load(swing_handle *h, const char *key, uint8_t **rec, size_t *len, size_t *cap,
                              swing_err *err);
/* Refusals kept for a replay (refusals.c). host_refusals_run runs one of
 * the requests it covers: inside a block the request takes the next turn;
 * in a replay a refusal recorded for that turn is the answer, otherwise
 * the refusal (if any) is recorded. begin_block clears or, in a replay,
 * loads the record (host.lastRefusals); end_block saves it. */
swing_status host_refusals_begin(swing_handle *h, bool replay, swing_err *err);
swing_status host_refusals_run(host_call *c, swing_status (*op)(host_call *));
swing_status host_refusals_save(swing_handle *h, swing_err *err);
void host_refusals_free(swing_handle *h);
/* Operations (query.c). */
swing_status host_query(host_call *c);

/* Bundle names (bundle_name.c): consensus state bundle.name.<name> = the
 * bundle ID, the schema of kernel/SCHEMA.md. host_bundle_names_set
 * registers n names (moving one already taken) in one crank; INVALID on a
 * bad name (host_bundle_name_ok) or a bundle not installed, writing nothing.
 * host_bundle_name_get: *found false when no bundle has the name. */
#define HOST_BUNDLE_NAME_MAX 64
bool host_bundle_name_ok(const char *name);
swing_status host_bundle_names_set(swing_handle *h, const char *const *names, const char *const *ids, size_t n,
                                   swing_err *err);
swing_status host_bundle_name_get(swing_handle *h, const char *name, char id[STORE_BUNDLE_ID_LEN + 1],
                                  bool *found, swing_err *err);

/* A kernel termination record as a VatTermination in the call's arena
 * (block.c); NULL on NOMEM. */
Swing__V1__VatTermination *host_termination(host_call *c, const kern_termination *t);
/* String fields on the wire (wire.c). host_wire_check refuses (INVALID) a
 * packed message of type d that does not parse or any of whose string
 * fields, at any depth, holds a NUL byte or ill-formed UTF-8; run it before
 * unpacking. host_wire_repair replaces, in place, each byte of a string
 * field of a packed message that is not well-formed UTF-8 (lengths and
 * structure unchanged); every response goes through it.
 * REQUIRES: for host_wire_repair, p holds a message packed by protobuf-c. */
swing_status host_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                             swing_err *err);
void host_wire_repair(const ProtobufCMessageDescriptor *d, uint8_t *p, size_t n);

/* Checks a vat name or inbound id: 1..HOST_ID_MAX bytes of [A-Za-z0-9_.:-]. */
bool host_name_ok(const char *s);

#endif /* LIBSWING_ABI_HOST_H */
