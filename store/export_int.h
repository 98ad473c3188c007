/*
 * export_int.h - the export directory format shared by export.c and
 * import.c (layout described in export.h).
 */
#ifndef LIBSWING_STORE_EXPORT_INT_H
#define LIBSWING_STORE_EXPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define STORE_EXPORT_FORMAT "libswing-export-1"
#define STORE_EXPORT_MANIFEST "manifest.json"
#define STORE_EXPORT_DATA_FILE "export-data.bin"
#define STORE_EXPORT_MAGIC "SWXD1\n"

static inline void store_export_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t store_export_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* "transcript.<vat>.<start>.<end>" with decimal positions. */
void store_export_span_name(char *out, size_t cap, const char *vat, uint64_t start,
                            uint64_t end);
bool store_export_parse_span_name(const char *name, char vat[STORE_VAT_ID_MAX + 1],
                                  uint64_t *start, uint64_t *end);

/* True if dir is a readable directory with no entries. */
bool store_export_dir_empty(const char *dir);

/* Creates dir, or accepts an existing empty directory. INVALID otherwise. */
swing_status store_export_prepare_dir(const char *dir, swing_err *err);

#endif /* LIBSWING_STORE_EXPORT_INT_H */
