/*
 * utf8oracle.c - decodes each code point and checks it; walks messages by
 * their descriptors (see utf8oracle.h).
 */
#include "tests/lib/utf8oracle.h"

#include <string.h>

bool oracle_utf8_valid(const char *s, size_t n)
{
    static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000}; /* no overlongs */
    size_t i = 0;
    while (i < n) {
        unsigned c = (unsigned char)s[i];
        unsigned long cp;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            unsigned d = (unsigned char)s[i + k];
            if ((d & 0xC0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3F);
        }
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

/* One string or nested message (NULL: absent). */
static const char *bad_value(const ProtobufCFieldDescriptor *f, const void *v)
{
    if (!v) return NULL;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) return oracle_bad_string(v);
    return oracle_utf8_valid(v, strlen(v)) ? NULL : f->name;
}

const char *oracle_bad_string(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m, *bad = NULL;
    for (unsigned i = 0; !bad && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *member = base + f->offset;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue; /* another member of the oneof is set */
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base + f->quantifier_offset);
            void *const *v = *(void *const *const *)member;
            for (size_t k = 0; !bad && k < count; k++) bad = bad_value(f, v[k]);
        } else {
            bad = bad_value(f, *(void *const *)member);
        }
    }
    return bad;
}
