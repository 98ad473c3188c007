/*
 * cmd_store.c - store inspection and state sync subcommands: kv, export,
 * import.
 */
#include "cli/cli.h"

#include <string.h>

#include "store/export.h"

static void print_escaped(swing_bytes b, size_t max)
{
    for (size_t i = 0; i < b.len && i < max; i++) {
        unsigned char c = b.ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') putchar(c);
        else printf("\\x%02x", c);
    }
    if (b.len > max) printf("...(%zu bytes)", b.len);
}

int cli_cmd_kv(int argc, char **argv)
{
    const char *db = cli_opt(argc, argv, "--db"), *prefix = cli_opt(argc, argv, "--prefix");
    store *st = NULL;
    store_iter *it = NULL;
    swing_err e;
    swing_status s;
    bool valid;
    swing_bytes k, v;
    if (!db) return cli_fail("kv needs --db DIR");
    store_options o = store_options_default();
    o.create_if_missing = false;
    if (store_open(db, &o, &st, &e)) return cli_fail("%s", e.msg);
    s = store_iter_create(st, swing_str(prefix ? prefix : ""), &it, &e);
    while (s == SWING_OK && (s = store_iter_next(it, &k, &v, &valid, &e)) == SWING_OK && valid) {
        print_escaped(k, 200);
        putchar('=');
        print_escaped(v, 120);
        putchar('\n');
    }
    store_iter_destroy(it);
    store_close(st);
    return s ? cli_fail("%s", e.msg) : 0;
}

int cli_cmd_export(int argc, char **argv)
{
    const char *db = cli_opt(argc, argv, "--db"), *out = cli_opt(argc, argv, "--out");
    const char *mode = cli_opt(argc, argv, "--mode");
    store_export_mode m = STORE_EXPORT_OPERATIONAL;
    store *st = NULL;
    store_exporter *ex = NULL;
    swing_err e;
    swing_status s;
    if (!db || !out) return cli_fail("export needs --db DIR --out DIR2");
    if (mode && strcmp(mode, "archival") == 0) m = STORE_EXPORT_ARCHIVAL;
    else if (mode && strcmp(mode, "operational") != 0) return cli_fail("unknown mode %s", mode);
    store_options o = store_options_default();
    o.create_if_missing = false;
    if (store_open(db, &o, &st, &e)) return cli_fail("%s", e.msg);
    s = store_export_begin(st, m, &ex, &e);
    if (s == SWING_OK) s = store_exporter_write_dir(ex, out, &e);
    if (s == SWING_OK)
        printf("exported height %llu to %s\n", (unsigned long long)store_exporter_height(ex), out);
    store_exporter_destroy(ex);
    store_close(st);
    return s ? cli_fail("%s", e.msg) : 0;
}

int cli_cmd_import(int argc, char **argv)
{
    const char *in = cli_opt(argc, argv, "--in"), *db = cli_opt(argc, argv, "--db");
    store *st = NULL;
    swing_err e;
    if (!in || !db) return cli_fail("import needs --in DIR2 --db DIR3");
    if (store_import_dir(in, db, &e)) return cli_fail("%s", e.msg);
    if (store_open(db, NULL, &st, &e)) return cli_fail("%s", e.msg);
    printf("imported height %llu, activity hash %s\n", (unsigned long long)store_height(st),
           store_activity_hash(st));
    store_close(st);
    return 0;
}
