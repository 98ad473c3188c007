/*
 * cmd_state.c - node inspection and state sync over the host ABI: `kv`
 * (paged kv_prefix queries), `vats` (with the kind and reason of each
 * termination, deleted vats included, and the incarnation of each live vat
 * ever upgraded), `export` and `import`.
 */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"

/* Prints p, escaping what is not printable ASCII (bytes >= 0x80 pass
 * when utf8: text the kernel checked). */
static void print_escaped(const uint8_t *p, size_t len, size_t max, bool utf8)
{
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char ch = p[i];
        if ((ch >= 0x20 && ch < 0x7f && ch != '\\') || (utf8 && ch >= 0x80)) putchar(ch);
        else printf("\\x%02x", ch);
    }
    if (len > max) printf("...(%zu bytes)", len);
}

int cli_cmd_kv(int argc, char **argv)
{
    const char *db = cli_opt(argc, argv, "--db"), *prefix = cli_opt(argc, argv, "--prefix");
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    cli_client c;
    char *after = NULL;
    int rc = 0;
    if (!db) return cli_fail("kv needs --db DIR [--prefix P]");
    if (cli_client_open(&c, db, false, true, NULL)) return 1;
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_KV_PREFIX;
    q.kv_prefix = (char *)(prefix ? prefix : "");
    q.limit = 10000;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    for (bool more = true; more && !rc;) {
        Swing__V1__Response *r;
        q.kv_after = after ? after : "";
        if ((rc = cli_client_ask(&c, &req, "kv", &r))) break;
        for (size_t i = 0; i < r->query->n_kv; i++) {
            const Swing__V1__KvEntry *e = r->query->kv[i];
            print_escaped((const uint8_t *)e->key, strlen(e->key), 200, false);
            putchar('=');
            print_escaped(e->value.data, e->value.len, 120, false);
            putchar('\n');
        }
        more = r->query->truncated && r->query->n_kv > 0;
        free(after);
        after = more ? strdup(r->query->kv[r->query->n_kv - 1]->key) : NULL;
        if (more && !after) rc = cli_fail("out of memory");
        swing__v1__response__free_unpacked(r, NULL);
    }
    free(after);
    cli_client_close(&c);
    return rc;
}

int cli_cmd_vats(int argc, char **argv)
{
    const char *db = cli_opt(argc, argv, "--db");
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__Response *r;
    cli_client c;
    int rc;
    if (!db) return cli_fail("vats needs --db DIR");
    if (cli_client_open(&c, db, false, true, NULL)) return 1;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_STATS;
    q.stats = true;
    if ((rc = cli_client_ask(&c, &req, "stats", &r))) goto out;
    printf("height %" PRIu64 ", activity hash %s\n", r->query->stats->committed_height,
           r->query->stats->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_VATS;
    q.vats = true;
    if ((rc = cli_client_ask(&c, &req, "vats", &r))) goto out;
    printf("%-24s %-8s %-10s %s\n", "name", "id", "state", "why");
    for (size_t i = 0; i < r->query->n_vats; i++) {
        const Swing__V1__VatInfo *v = r->query->vats[i];
        const Swing__V1__VatTermination *t = v->termination;
        printf("%-24s %-8s %s", v->name, v->id, v->deleted ? "deleted   " : v->terminated ? "terminated" : "live");
        if (t) { /* the reason is printable UTF-8 (the kernel clips it) */
            printf(" %s: ", t->kind_name);
            print_escaped((const uint8_t *)t->reason, strlen(t->reason), 300, true);
        } else if (v->incarnation) {
            printf("       incarnation %" PRIu64, v->incarnation);
        }
        putchar('\n');
    }
    swing__v1__response__free_unpacked(r, NULL);
out:
    cli_client_close(&c);
    return rc;
}

int cli_cmd_export(int argc, char **argv)
{
    const char *db = cli_opt(argc, argv, "--db"), *out = cli_opt(argc, argv, "--out");
    const char *mode = cli_opt(argc, argv, "--mode");
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__ExportRequest ex = SWING__V1__EXPORT_REQUEST__INIT;
    Swing__V1__Response *r;
    cli_client c;
    int rc;
    if (!db || !out) return cli_fail("export needs --db DIR --out DIR2 [--mode operational|archival]");
    if (mode && strcmp(mode, "archival") == 0) ex.archival = true;
    else if (mode && strcmp(mode, "operational") != 0) return cli_fail("unknown mode %s", mode);
    if (cli_client_open(&c, db, false, true, NULL)) return 1;
    ex.out_dir = (char *)out;
    req.op_case = SWING__V1__REQUEST__OP_EXPORT;
    req.export = &ex;
    if (!(rc = cli_client_ask(&c, &req, "export", &r))) {
        printf("exported height %" PRIu64 " (activity hash %s) to %s: %" PRIu64 " export-data entries, %" PRIu64
               " artifacts\n",
               r->export->height, r->export->activity_hash, out, r->export->export_data_entries,
               r->export->artifacts);
        swing__v1__response__free_unpacked(r, NULL);
    }
    cli_client_close(&c);
    return rc;
}

int cli_cmd_import(int argc, char **argv)
{
    const char *in = cli_opt(argc, argv, "--in"), *db = cli_opt(argc, argv, "--db");
    const char *height = cli_opt(argc, argv, "--height"), *hash = cli_opt(argc, argv, "--activity-hash");
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__ImportRequest im = SWING__V1__IMPORT_REQUEST__INIT;
    Swing__V1__Response *r;
    cli_client c;
    char *end = NULL;
    int rc;
    if (!in || !db || !height || !hash)
        return cli_fail("import needs --in DIR2 --db DIR3 --height H --activity-hash HEX "
                        "(the height and activity hash the chain committed, from a trusted source)");
    im.expected_height = strtoull(height, &end, 10);
    if (!end || *end || height[0] < '0' || height[0] > '9' || im.expected_height == 0)
        return cli_fail("--height needs a positive integer, not %s", height);
    if (cli_client_open(&c, db, false, false, NULL)) return 1;
    im.in_dir = (char *)in;
    im.expected_activity_hash = (char *)hash;
    req.op_case = SWING__V1__REQUEST__OP_IMPORT;
    req.import = &im;
    if (!(rc = cli_client_ask(&c, &req, "import", &r))) {
        printf("imported height %" PRIu64 ", activity hash %s (verified)\n", r->import->height,
               r->import->activity_hash);
        swing__v1__response__free_unpacked(r, NULL);
    }
    cli_client_close(&c);
    return rc;
}
