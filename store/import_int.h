/*
 * import_int.h - the import context shared by import_check.c (reading and
 * verifying an export directory, writing nothing) and import.c (writing a
 * verified export into a store). Format in export.h and docs/store.md.
 */
#ifndef LIBSWING_STORE_IMPORT_INT_H
#define LIBSWING_STORE_IMPORT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/digest.h"
#include "store/export.h"
#include "store/overlay.h"

/* Largest artifact file read (a transcript span can exceed a bundle). */
#define STORE_IMPORT_ARTIFACT_MAX ((size_t)STORE_BUNDLE_MAX + (1u << 30))

typedef struct store_import_art {
    char *name;                     /* artifact name from the manifest */
    char *path;                     /* its file inside the export dir */
    bool expected;                  /* named by the export data */
    bool verified;                  /* its bytes matched the export data */
    store_span span;                /* for transcript artifacts */
    char vat[STORE_VAT_ID_MAX + 1]; /* for transcript artifacts ("" for bundles) */
} store_import_art;

typedef struct store_import_ctx {
    const char *dir;                    /* export directory */
    const store_import_expect *expect;  /* trusted height and hash */
    uint64_t height;                    /* manifest height (untrusted) */
    char claimed[SWING_SHA256_HEX_LEN + 1]; /* manifest activityHash (untrusted, reported) */
    char *data_path;                    /* export-data file */
    store_import_art *arts;             /* manifest artifacts, sorted by name */
    size_t narts;
    store_overlay chunks;               /* logical key -> chunk tally */
    store_digest dig;                   /* state digest of the export data */
    char chain[SWING_SHA256_HEX_LEN + 1]; /* its kv.activityhash, "" if none */
    swing_err *err;
} store_import_ctx;

void store_import_ctx_init(store_import_ctx *c, const char *dir, const store_import_expect *expect,
                           swing_err *err);
void store_import_ctx_free(store_import_ctx *c);

/* Everything before writing: expect, the manifest, the export data against
 * itself and against expect (state digest), every artifact. */
swing_status store_import_verify(store_import_ctx *c);

/* Streams the export-data file (header, framing, strictly ascending keys),
 * calling fn per entry; the views are valid for the call only. */
typedef swing_status (*store_import_entry_fn)(store_import_ctx *c, swing_bytes key,
                                              swing_bytes val, void *arg);
swing_status store_import_entries(store_import_ctx *c, store_import_entry_fn fn, void *arg);

store_import_art *store_import_find_art(store_import_ctx *c, const char *name);

/* Reads a whole file (at most max bytes) into *out. */
swing_status store_import_read_file(const char *path, swing_buf *out, size_t max, swing_err *err);

/* Checks one artifact's bytes against the hash the export data holds for it. */
swing_status store_import_check_artifact(store_import_ctx *c, const store_import_art *a,
                                         swing_bytes data);

#endif /* LIBSWING_STORE_IMPORT_INT_H */
