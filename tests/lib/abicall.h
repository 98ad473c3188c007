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

#endif /* LIBSWING_TESTS_ABICALL_H */
