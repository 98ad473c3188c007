/*
 * demo.c - `swing store-demo`: drives the store like a kernel would, block
 * by block (cranks that write state and transcripts, an aborted crank per
 * block, large chunked values, a rollover), and prints one row per block
 * with the export-data delta the host would write to IAVL.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"

typedef struct row {
    unsigned cranks, aborted;
    size_t entries, bytes, max_value;
} row;

static swing_status demo_crank(store *st, uint64_t h, unsigned c, swing_err *e)
{
    char key[64], val[96], vat[8];
    swing_status s = store_crank_begin(st, e);
    snprintf(vat, sizeof vat, "v%u", 1 + c % 3);
    for (unsigned i = 0; s == SWING_OK && i < 8; i++) {
        snprintf(key, sizeof key, "%s.counter.%u", vat, (unsigned)((h * 7 + i) % 50));
        snprintf(val, sizeof val, "{\"block\":%llu,\"crank\":%u}", (unsigned long long)h, c);
        s = store_set(st, swing_str(key), swing_str(val), e);
    }
    if (s == SWING_OK) {
        snprintf(val, sizeof val, "[\"message\",\"block %llu crank %u\"]", (unsigned long long)h, c);
        s = store_transcript_append(st, vat, swing_str(val), NULL, e);
    }
    if (s == SWING_OK && h % 5 == 0 && c == 0) {
        size_t n = 50000 + (size_t)h * 100;
        char *big = malloc(n);
        if (!big) return swing_err_set(e, SWING_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) big[i] = (char)('a' + (i + h) % 26);
        s = store_set(st, swing_str("v1.bigRecord"), swing_bytes_of(big, n), e);
        free(big);
    }
    if (s == SWING_OK && h % 4 == 0 && c == 1) {
        snprintf(key, sizeof key, "%s.counter.%u", vat, (unsigned)(h % 50));
        s = store_delete(st, swing_str(key), e);
    }
    if (s == SWING_OK && h == 10 && c == 2) s = store_transcript_rollover(st, "v2", e);
    return s == SWING_OK ? store_crank_end(st, e) : s;
}

/* A crank that fails: its writes, export data and hash contribution vanish. */
static swing_status demo_aborted(store *st, uint64_t h, swing_err *e)
{
    char val[48];
    swing_status s = store_crank_begin(st, e);
    snprintf(val, sizeof val, "never committed %llu", (unsigned long long)h);
    if (s == SWING_OK) s = store_set(st, swing_str("v3.failed"), swing_str(val), e);
    return s == SWING_OK ? store_crank_abort(st, e) : s;
}

int cli_cmd_store_demo(int argc, char **argv)
{
    const char *db = cli_opt(argc, argv, "--db"), *nb = cli_opt(argc, argv, "--blocks");
    uint64_t blocks = nb ? strtoull(nb, NULL, 10) : 20;
    store *st = NULL;
    swing_err e;
    swing_status s = SWING_OK;
    if (!db) return cli_fail("store-demo needs --db DIR");
    if (blocks == 0 || blocks > 1000000) return cli_fail("--blocks must be 1..1000000");
    if (store_open(db, NULL, &st, &e)) return cli_fail("%s", e.msg);
    printf("%6s %6s %7s %8s %10s %9s  %s\n", "height", "cranks", "aborted", "exports", "bytes",
           "max_value", "activity_hash");
    for (uint64_t h = store_height(st) + 1, end = h + blocks; h < end && s == SWING_OK; h++) {
        row r = {0};
        store_delta *d = NULL;
        unsigned cranks = 3 + (unsigned)(h % 4);
        for (unsigned c = 0; c < cranks && s == SWING_OK; c++, r.cranks++) s = demo_crank(st, h, c, &e);
        if (s == SWING_OK && (s = demo_aborted(st, h, &e)) == SWING_OK) r.aborted = 1;
        if (s == SWING_OK) s = store_commit(st, h, &d, &e);
        if (s) break;
        for (size_t i = 0; i < d->count; i++) {
            r.bytes += d->entries[i].key.len + d->entries[i].value.len;
            if (d->entries[i].value.len > r.max_value) r.max_value = d->entries[i].value.len;
        }
        r.entries = d->count;
        store_delta_destroy(d);
        printf("%6llu %6u %7u %8zu %10zu %9zu  %.16s\n", (unsigned long long)h, r.cranks, r.aborted,
               r.entries, r.bytes, r.max_value, store_activity_hash(st));
    }
    if (s == SWING_OK)
        printf("committed height %llu, activity hash %s\n", (unsigned long long)store_height(st),
               store_activity_hash(st));
    store_close(st);
    return s ? cli_fail("%s", e.msg) : 0;
}
