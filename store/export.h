/*
 * export.h - state sync: export a committed height and import it elsewhere
 * (DESIGN.md §4, reference/store-host-abi.md §1.6-§1.7).
 *
 * Export = export data (every consensus kv entry in its chunked form, span
 * records, bundle IDs; keys.h) + artifacts (bundle bytes, transcript spans).
 * An exporter reads a LevelDB snapshot taken by store_export_begin, so the
 * owning thread may keep committing while the exporter writes.
 *
 * Directory format written by store_exporter_write_dir (docs/store.md):
 *   manifest.json    {"activityHash":A,"artifacts":[[name,file],...],
 *                     "data":"export-data.bin","format":"libswing-export-1",
 *                     "height":H,"mode":M}
 *   export-data.bin  "SWXD1\n" then per entry: u32be klen, key, u32be vlen, value
 *   aNNNNNN          one file per artifact
 * Artifact names: bundle.<id> (the bytes), transcript.<vat>.<start>.<end>
 * (each item as u32be length + bytes, in position order).
 *
 * Trust: an export is untrusted bytes. The importer is told the height and
 * committed activity hash (store_committed_hash) by the chain; the export
 * data must hash to that (its state digest, digest.h, is bound into the
 * activity hash) and every artifact must match a hash in the export data.
 * The manifest's height and activityHash are only reported, never trusted.
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
/* The committed activity hash of that height (what an importer expects). */
const char *store_exporter_activity_hash(const store_exporter *ex);

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

/* What an import trusts, from the chain (a light client or block header),
 * never from the export: the height and its committed activity hash. */
typedef struct store_import_expect {
    uint64_t height;           /* > 0 */
    const char *activity_hash; /* 64 lowercase hex */
} store_import_expect;

/* Imports an export directory into `st`, which must be empty: never
 * committed, nothing written (OUT_OF_ORDER otherwise). Before anything is
 * written, checks the manifest height against expect->height, the export
 * data against itself (key forms, order, chunk sets, span records, bundle
 * IDs) and against expect->activity_hash (state digest), and every
 * artifact against the export data (bundle hash, span item count and hash
 * chain). Then writes, checking everything again as it goes; on a
 * difference or a write error it deletes what it wrote. Afterwards st is
 * at expect->height with store_committed_hash() == expect->activity_hash.
 * A NULL expect is refused (INVALID): there is no unverified import.
 * Errors: INVALID (malformed export or expect), CORRUPT (the export is not
 * the expected state, or an artifact does not match), OUT_OF_ORDER, IO,
 * NOMEM. On error the store holds what it held before (IO during the
 * clean-up makes the error sticky; reopening then reports the interrupted
 * import). */
swing_status store_import(store *st, const char *export_dir, const store_import_expect *expect,
                          swing_err *err);

/* store_import into a new store in db_dir, which must not exist or be an
 * empty directory. Verification happens before db_dir is created; on a
 * later failure only what this call created is removed. */
swing_status store_import_dir(const char *export_dir, const char *db_dir,
                              const store_import_expect *expect, swing_err *err);

#endif /* LIBSWING_STORE_EXPORT_H */
