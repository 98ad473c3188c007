/*
 * err.h - the error record every fallible internal function fills in.
 *
 * A status code is always returned; `swing_err *err` (may be NULL) receives
 * the code, the source location and a message in a fixed buffer, so that
 * reporting out-of-memory never allocates.
 */
#ifndef LIBSWING_BASE_ERR_H
#define LIBSWING_BASE_ERR_H

#include "base/status.h"

#define SWING_ERR_MSG_MAX 512

typedef struct swing_err {
    swing_status code;           /* SWING_OK until something fails */
    const char *file;            /* source file that set the error */
    int line;                    /* source line that set the error */
    char msg[SWING_ERR_MSG_MAX]; /* NUL-terminated, truncated if long */
} swing_err;

/* Records the error in `err` (if not NULL) and returns `code`. */
swing_status swing_err_setf(swing_err *err, swing_status code, const char *file,
                            int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define swing_err_set(err, code, ...) \
    swing_err_setf((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Corruption of stored data: one place to break on, records the location. */
#define SWING_CORRUPT(err, ...) swing_err_set((err), SWING_ERR_CORRUPT, __VA_ARGS__)

#define SWING_NOMEM(err) swing_err_set((err), SWING_ERR_NOMEM, "out of memory")

/* Resets `err` to SWING_OK (accepts NULL). */
void swing_err_clear(swing_err *err);

#endif /* LIBSWING_BASE_ERR_H */
