/*
 * err.c - fills swing_err records (see err.h). Never allocates. A message
 * longer than the buffer is cut at a UTF-8 character boundary, so that a
 * well-formed message stays well-formed (the ABI copies it into a protobuf
 * string field).
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

swing_status swing_err_setf(swing_err *err, swing_status code, const char *file,
                            int line, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        int n;
        err->code = code;
        err->file = file;
        err->line = line;
        va_start(ap, fmt);
        n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (n >= (int)sizeof err->msg) {
            size_t len = strlen(err->msg);
            err->msg[swing_utf8_cut((const uint8_t *)err->msg, len)] = '\0';
        }
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
