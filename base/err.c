/*
 * err.c - fills swing_err records (see err.h). Never allocates.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

swing_status swing_err_setf(swing_err *err, swing_status code, const char *file,
                            int line, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->file = file;
        err->line = line;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void swing_err_clear(swing_err *err)
{
    if (err) {
        err->code = SWING_OK;
        err->file = NULL;
        err->line = 0;
        err->msg[0] = '\0';
    }
}
