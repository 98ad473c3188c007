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
