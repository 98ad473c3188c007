/*
 * abicall.h - helpers for tests that drive the public ABI (swing_open,
 * swing_call): a node in a scratch directory, calls that check every
 * response's envelope rules (status equals the return code, a message
 * exactly when not OK, every string field well-formed UTF-8), and requests
 * patched after packing (to put bytes protobuf-c would not pack, e.g. NUL,
 * into string fields). Tests only.
 */
#ifndef LIBSWING_TESTS_ABICALL_H
#define LIBSWING_TESTS_ABICALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/swing.h"
#include "swing/v1/swing.pb-c.h"

typedef struct tl_node {
    char *tmp;      /* scratch directory (removed by tl_node_free) */
    char dir[512];  /* data directory inside it */
    bool sync;      /* commits fsync (OpenRequest.no_sync false) */
    swing_handle *h;
    Swing__V1__CleanupBudget default_cleanup; /* as the last open reported it (scalars only) */
} tl_node;

/* A fresh node: scratch directory, handle open on <tmp>/db (no fsync unless
 * sync). tl_node_open reopens after swing_close; its OpenResponse is kept
 * by the caller when resp is not NULL. */
void tl_node_new(tl_node *nd, bool sync);
void tl_node_open(tl_node *nd, Swing__V1__OpenResponse **resp);
void tl_node_free(tl_node *nd);

/* Asserts that every string field of m, at any depth, is well-formed UTF-8
 * (the independent oracle of utf8oracle.h). */
void tl_check_strings(const ProtobufCMessage *m);

/* Sends n packed bytes; returns the decoded Response (the caller frees it
 * with swing__v1__response__free_unpacked) after checking the envelope
 * rules above. */
Swing__V1__Response *tl_call_bytes(swing_handle *h, const uint8_t *buf, size_t n);
/* Packs req (abi_version filled in) and sends it. */
Swing__V1__Response *tl_call(swing_handle *h, Swing__V1__Request *req);
swing_status tl_call_status(swing_handle *h, Swing__V1__Request *req);
/* Packs m into a malloc'd buffer, then replaces every \x01 inside the first
 * occurrence of mark (which holds at least one \x01) with a NUL byte. */
uint8_t *tl_pack_patched(const ProtobufCMessage *m, const char *mark, size_t *n);

/* ---- a block at a time ---- */

/* A genesis config: vats "boot" (the bootstrap) and "counter" (a counter
 * starting at 100: increment(n) returns the new count, fail() raises
 * "counter refuses"). */
extern const char *const TL_ABI_BOOT;
extern const char *const TL_ABI_COUNTER;
extern const char *const TL_ABI_CONFIG;

/* Fails the test unless expr returns the status want (both named). */
#define TL_EXPECT_STATUS(want, expr)                                                  \
    do {                                                                              \
        swing_status got_ = (expr);                                                   \
        if (got_ != (want))                                                           \
            fail_msg("%s -> %s, expected %s", #expr, swing_status_name(got_),         \
                     swing_status_name(want));                                        \
    } while (0)

/* Opens dir (no fsync) with the given ABI version, block cache and write
 * buffer (0: defaults); *resp (the caller frees it) has the returned status. */
swing_status tl_abi_open_sized(const char *dir, uint32_t abi, uint64_t cache, uint64_t wbuf,
                               swing_handle **h, Swing__V1__OpenResponse **resp);
swing_status tl_abi_open_dir(const char *dir, uint32_t abi, swing_handle **h,
                             Swing__V1__OpenResponse **resp);
/* init with TL_ABI_BOOT as "boot" and counter_src as "counter". */
swing_status tl_abi_init(swing_handle *h, const char *config, const char *counter_src);
/* The same; hash (may be NULL) receives InitResponse.activity_hash. */
swing_status tl_abi_init_hash(swing_handle *h, const char *config, const char *counter_src, char hash[65]);
/* begin_block at height; *replay (may be NULL) says whether it replays. */
swing_status tl_abi_begin(swing_handle *h, uint64_t height, bool *replay);
swing_status tl_abi_inbound(swing_handle *h, const char *id, const char *vat, const char *method,
                            const char *args);
/* end_block with a clean-up budget (NULL: none, the defaults); *out (may be
 * NULL) keeps the response. */
swing_status tl_abi_end_block_cleanup(swing_handle *h, uint64_t budget, Swing__V1__CleanupBudget *cleanup,
                                      Swing__V1__Response **out);
swing_status tl_abi_end_block(swing_handle *h, uint64_t budget, Swing__V1__Response **out);
/* commit; *out (may be NULL) keeps the response. */
swing_status tl_abi_commit(swing_handle *h, Swing__V1__Response **out);
/* The result with this id in an end_block response, or NULL. */
const Swing__V1__InboundResult *tl_abi_result_of(const Swing__V1__Response *r, const char *id);
/* Genesis block 1 of TL_ABI_CONFIG: init, then a block that runs the
 * bootstrap; hash gets block 1's activity hash. */
void tl_abi_genesis(swing_handle *h, char hash[65]);
/* The stats query (asserted OK); the caller frees the response. */
Swing__V1__Response *tl_abi_query_stats(swing_handle *h);
/* Asserts that two messages encode to the same bytes. */
void tl_assert_same_encoding(const ProtobufCMessage *a, const ProtobufCMessage *b);

#endif /* LIBSWING_TESTS_ABICALL_H */
