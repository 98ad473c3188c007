/*
 * export.h - state sync: export a committed height and import it elsewhere
 * (DESIGN.md §4, reference/store-host-abi.md §1.6-§1.7).
 *
 * Export = export data (every consensus kv entry in its chunked form, span
 * records, bundle IDs; keys.h) + artifacts (bundle bytes, transcript spans).
 * An exporter reads a LevelDB snapshot taken by store_export_begin, so the
 * owning thread may keep committing while the exporter writes.
 *
 * Directory format written by store_exporter_write_dir:
 *   manifest.json    {"artifacts":[[name,file],...],"data":"export-data.bin",
 *                     "format":"libswing-export-1","height":H,"mode":M}
 *   export-data.bin  "SWXD1\n" then per entry: u32be klen, key, u32be vlen, value
 *   aNNNNNN          one file per artifact
 * Artifact names: bundle.<id> (the bytes), transcript.<vat>.<start>.<end>
 * (each item as u32be length + bytes, in position order).
 */
#ifndef LIBSWING_STORE_EXPORT_H
#define LIBSWING_STORE_EXPORT_H

#include "store/store.h"

typedef struct store_exporter store_exporter;

typedef enum store_export_mode {
    STORE_EXPORT_OPERATIONAL = 0, /* current spans of each vat, all bundles */
    STORE_EXPORT_ARCHIVAL = 1     /* every span still holding items, all bundles */
} store_export_mode;

/* Pins the last committed height (a LevelDB snapshot; the "started" point).
 * REQUIRES: the store outlives the exporter. */
swing_status store_export_begin(store *st, store_export_mode mode, store_exporter **out,
                                swing_err *err);
uint64_t store_exporter_height(const store_exporter *ex);

/* Export data in key order. On *valid, key and value view exporter-owned
 * bytes until the next call. */
swing_status store_exporter_data_next(store_exporter *ex, swing_bytes *key,
                                      swing_bytes *value, bool *valid, swing_err *err);

/* Artifact names required by the mode, sorted; owned by the exporter. */
swing_status store_exporter_artifacts(store_exporter *ex, const char *const **names,
                                      size_t *count, swing_err *err);
/* The bytes of one artifact (caller frees). INVALID for an unknown name. */
swing_status store_exporter_artifact(store_exporter *ex, const char *name, swing_buf *out,
                                     swing_err *err);

/* Writes the whole export into `dir` (created; must not exist or be empty). */
swing_status store_exporter_write_dir(store_exporter *ex, const char *dir, swing_err *err);
/* Export-data entries the last store_exporter_write_dir wrote. */
uint64_t store_exporter_written(const store_exporter *ex);
void store_exporter_destroy(store_exporter *ex);

/* Builds a new store in `db_dir` (must not exist or be empty) from an export
 * directory. Every artifact is checked against the export data and the
 * export data against itself (chunks, spans, bundle IDs) before anything is
 * written; on any failure nothing is left in db_dir. Errors: INVALID
 * (malformed export), CORRUPT (hash or size mismatch), IO, NOMEM. */
swing_status store_import_dir(const char *export_dir, const char *db_dir, swing_err *err);

#endif /* LIBSWING_STORE_EXPORT_H */
