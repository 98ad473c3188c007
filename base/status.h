/*
 * status.h - the status codes every fallible function returns, shared by
 * all layers and part of the public ABI: `make install` inlines this file
 * into the installed swing.h, so a host still includes one header. Plain C,
 * no includes. The names are base/status.c's.
 */
#ifndef LIBSWING_BASE_STATUS_H
#define LIBSWING_BASE_STATUS_H

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

/* Marks the symbols of the public ABI. */
#if defined(SWING_BUILDING_LIBRARY)
#define SWING_API __attribute__((visibility("default")))
#else
#define SWING_API
#endif

/* Short static name of a status code ("ok", "invalid", ...). */
SWING_API const char *swing_status_name(swing_status s);

#endif /* LIBSWING_BASE_STATUS_H */
