/*
 * status.c - the names of status codes (status.h), for messages in every
 * layer and for hosts (an ABI symbol).
 */
#include "base/status.h"

const char *swing_status_name(swing_status s)
{
    switch (SWING_STATUS_PRIMARY(s)) {
    case SWING_OK: return "ok";
    case SWING_ERR_INVALID: return "invalid";
    case SWING_ERR_OUT_OF_ORDER: return "out_of_order";
    case SWING_ERR_USER: return "user";
    case SWING_ERR_VAT: return "vat";
    case SWING_ERR_CORRUPT: return "corrupt";
    case SWING_ERR_NOMEM: return "nomem";
    case SWING_ERR_IO: return "io";
    case SWING_ERR_LIMIT: return "limit";
    case SWING_ERR_BUSY: return "busy";
    case SWING_ERR_INTERNAL: return "internal";
    case SWING_ERR_PANIC: return "panic";
    }
    return "unknown";
}
