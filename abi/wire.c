/*
 * wire.c - the string fields of packed protobuf messages, found by walking
 * the wire bytes with the message's descriptor (so every message of the
 * schema is covered, at any depth, without a per-field check):
 *   - requests: a string holding a NUL byte (protobuf-c hands strings on as
 *     NUL-terminated char *, so "ledger\0x" would silently become "ledger")
 *     or ill-formed UTF-8 is refused before the request is unpacked;
 *   - responses: bytes of a string that are not well-formed UTF-8 (text of
 *     vats or LevelDB, never of a checked request) are replaced in place,
 *     so strict decoders (Go's) always accept a response.
 *
 * Wire grammar walked (protobuf encoding):
 *   message := field*        field := tag:varint payload
 *   tag >> 3 = field number (> 0), tag & 7 = wire type:
 *     0 varint | 1 8 bytes | 2 length:varint bytes[length] | 5 4 bytes
 *   (3 and 4, groups, are not part of proto3 and protobuf-c refuses them.)
 * A length-delimited payload of a known string field is text; of a known
 * message field, a nested message. Unknown fields are skipped.
 */
#include "abi/host.h"

#include <string.h>

#include "base/utf8.h"

#define WIRE_MAX_DEPTH 32 /* the schema nests 4 deep; guards a cyclic schema */

typedef struct wire_walk {
    uint8_t *out;       /* repair: the writable buffer (NULL: check a request) */
    const uint8_t *base; /* start of the top-level message */
    const char *top;    /* its type name, for messages */
    swing_err *err;
} wire_walk;

static bool varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (*i >= n) return false;
        b = p[(*i)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static swing_status malformed(wire_walk *w)
{
    return swing_err_set(w->err, SWING_ERR_INVALID, "malformed %s", w->top);
}

static swing_status text(wire_walk *w, const ProtobufCMessageDescriptor *d,
                         const ProtobufCFieldDescriptor *f, const uint8_t *p, size_t n)
{
    if (w->out) {
        (void)swing_utf8_repair(w->out + (p - w->base), n);
        return SWING_OK;
    }
    if (memchr(p, 0, n))
        return swing_err_set(w->err, SWING_ERR_INVALID, "%s.%s holds a NUL byte", d->short_name, f->name);
    if (!swing_utf8_valid(p, n))
        return swing_err_set(w->err, SWING_ERR_INVALID, "%s.%s is not valid UTF-8", d->short_name, f->name);
    return SWING_OK;
}

static swing_status walk(wire_walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                         size_t n, unsigned depth)
{
    size_t i = 0;
    if (depth > WIRE_MAX_DEPTH) return malformed(w);
    while (i < n) {
        uint64_t tag, len;
        const ProtobufCFieldDescriptor *f;
        swing_status s = SWING_OK;
        if (!varint(p, n, &i, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) return malformed(w);
        f = protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
        switch (tag & 7) {
        case 0:
            if (!varint(p, n, &i, &len)) return malformed(w);
            break;
        case 1:
        case 5:
            len = (tag & 7) == 1 ? 8 : 4;
            if (len > n - i) return malformed(w);
            i += len;
            break;
        case 2:
            if (!varint(p, n, &i, &len) || len > n - i) return malformed(w);
            if (f && f->type == PROTOBUF_C_TYPE_STRING) s = text(w, d, f, p + i, (size_t)len);
            else if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) s = walk(w, f->descriptor, p + i, (size_t)len, depth + 1);
            if (s) return s;
            i += (size_t)len;
            break;
        default:
            return malformed(w);
        }
    }
    return SWING_OK;
}

swing_status host_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                             swing_err *err)
{
    wire_walk w = {NULL, p, d->short_name, err};
    if (!n) return SWING_OK;
    return walk(&w, d, p, n, 0);
}

void host_wire_repair(const ProtobufCMessageDescriptor *d, uint8_t *p, size_t n)
{
    wire_walk w = {p, p, d->short_name, NULL};
    if (n) (void)walk(&w, d, p, n, 0);
}
