/*
 * swing.h - the public C ABI of libswing (DESIGN.md §8).
 *
 * This is the only header a host includes. It names fixed-width types and
 * opaque handles only; no LevelDB, Lua or protobuf-c type ever appears here.
 * The operation envelope (swing_open/swing_call) arrives with the chain-host
 * issue; this header already fixes the status codes every layer returns.
 */
#ifndef LIBSWING_ABI_SWING_H
#define LIBSWING_ABI_SWING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SWING_BUILDING_LIBRARY)
#define SWING_API __attribute__((visibility("default")))
#else
#define SWING_API
#endif

/* Bumped on any incompatible change of a symbol, a status code or the envelope. */
#define SWING_ABI_VERSION 1

/*
 * Status codes. `code & 0xff` is the primary code; upper bits may carry a
 * subcode (SQLite style). Values are stable: never renumber.
 */
typedef enum swing_status {
    SWING_OK = 0,
    SWING_ERR_INVALID = 1,      /* malformed input or argument */
    SWING_ERR_OUT_OF_ORDER = 2, /* call not allowed in the current state */
    SWING_ERR_USER = 3,         /* deterministic failure caused by user code */
    SWING_ERR_VAT = 4,          /* a vat failed (terminated) */
    SWING_ERR_CORRUPT = 5,      /* stored or imported data is inconsistent */
    SWING_ERR_NOMEM = 6,        /* allocation failed */
    SWING_ERR_IO = 7,           /* filesystem or LevelDB I/O error */
    SWING_ERR_LIMIT = 8,        /* a budget, meter or size limit was reached */
    SWING_ERR_BUSY = 9,         /* resource locked by another handle */
    SWING_ERR_INTERNAL = 10,    /* broken invariant inside libswing */
    SWING_ERR_PANIC = 11        /* kernel panic (e.g. a critical vat failed): halt, do not commit */
} swing_status;

#define SWING_STATUS_PRIMARY(s) ((swing_status)((unsigned)(s) & 0xffu))

/* The ABI version this library was built with (compare with SWING_ABI_VERSION). */
SWING_API uint32_t swing_abi_version(void);

/* Library version string, static storage, never freed. */
SWING_API const char *swing_version(void);

/* Short static name of a status code ("ok", "invalid", ...). */
SWING_API const char *swing_status_name(swing_status s);

/* Releases a buffer allocated by libswing. Accepts NULL. Call exactly once. */
SWING_API void swing_free(void *buffer);

#ifdef __cplusplus
}
#endif
#endif /* LIBSWING_ABI_SWING_H */
