/*
 * cmd_run.c - `swing run`: a chain host in C over the protobuf ABI. Genesis
 * from a chain config on a fresh directory, then one begin_block /
 * queue_inbound* (and the script's terminations and upgrades) / end_block /
 * commit per height up to --blocks, printing a row per block (a table with a
 * progress bar on a terminal, or JSON lines; the vats terminated and the
 * upgrades finished in the block follow the row, or are its "terminations"
 * and "upgrades").
 * end_block carries the compute limit and the clean-up budget (flags over
 * the config over the ABI defaults). Reopening a directory continues after
 * its committed height.
 */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/chain.h"
#include "cli/client.h"

/* A clean-up budget flag: its name, whether it was given, and its value. */
typedef struct cleanup_flag {
    const char *name;
    bool given;
    uint64_t value;
} cleanup_flag;

enum { FLAG_GC, FLAG_BOYDS, FLAG_UNITS, N_CLEANUP_FLAGS };

typedef struct run_opts {
    const char *config, *db, *actions;
    uint64_t blocks, compute_limit;
    cleanup_flag cleanup[N_CLEANUP_FLAGS];
    bool json, no_sync, progress;
} run_opts;

typedef struct block_row {
    uint64_t height, cranks, computrons, gc_krefs, boyds, results, vats_failed;
    uint64_t export_entries, export_bytes, rejected;
    /* the clean-up report: done, then left */
    uint64_t cleanup_gc_krefs, cleanup_boyds, cleanup_units, vats_deleted;
    uint64_t gc_krefs_left, dirty_vats, terminated_vats;
    uint64_t wind_down_items, winding_down, wind_down_left; /* deleted; vats winding down; items left */
    bool wind_down_counting;                                /* wind_down_left is a count so far */
    char cleanup_phase[16];
    bool work_left;
    char activity_hash[65];
    json_t *terminations; /* owned: [{"id","kind","name","reason"}] of the vats terminated */
    uint64_t upgrades_ok, upgrades_failed, upgrades_left; /* finished in the block; still queued */
    json_t *upgrades; /* owned: [{"upgrade_id","name","id","ok","incarnation","reason"}] finished */
} block_row;

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return 1; /* no sign, no blanks */
    errno = 0;
    *out = strtoull(s, &end, 10);
    return *end != '\0' || errno == ERANGE;
}

static int genesis(cli_client *c, const cli_chain *ch)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__Bundle *bundles = calloc(ch->n_bundles + 1, sizeof *bundles);
    Swing__V1__Bundle **ptrs = calloc(ch->n_bundles + 1, sizeof *ptrs);
    Swing__V1__Response *r = NULL;
    int rc;
    if (!bundles || !ptrs) {
        free(bundles);
        free(ptrs);
        return cli_fail("out of memory");
    }
    for (size_t i = 0; i < ch->n_bundles; i++) {
        swing__v1__bundle__init(&bundles[i]);
        bundles[i].name = ch->bundles[i].name;
        bundles[i].source.data = ch->bundles[i].source;
        bundles[i].source.len = ch->bundles[i].len;
        ptrs[i] = &bundles[i];
    }
    init.config_json.data = (uint8_t *)ch->kernel_json;
    init.config_json.len = strlen(ch->kernel_json);
    init.bundles = ptrs;
    init.n_bundles = ch->n_bundles;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    rc = cli_client_ask(c, &req, "genesis", &r);
    swing__v1__response__free_unpacked(r, NULL);
    free(bundles);
    free(ptrs);
    return rc;
}

/* The bodies an action's request may point to. */
typedef struct action_msgs {
    Swing__V1__QueueInboundRequest qi;
    Swing__V1__TerminateVatRequest tv;
    Swing__V1__UpgradeVatRequest uv;
    Swing__V1__UpgradeAllVatsRequest ua;
    Swing__V1__WindDownVatRequest wd;
} action_msgs;

/* The request of one action (pointing into a and m). */
static void action_request(const cli_action *a, uint64_t h, size_t idx, char id[64], Swing__V1__Request *req,
                           action_msgs *m)
{
    switch (a->type) {
    case CLI_ACTION_INBOUND:
        snprintf(id, 64, "h%" PRIu64 "-a%zu", h, idx);
        m->qi.id = a->id ? a->id : id;
        m->qi.vat = a->vat;
        m->qi.method = a->method;
        m->qi.args_json = a->args_json;
        req->op_case = SWING__V1__REQUEST__OP_QUEUE_INBOUND;
        req->queue_inbound = &m->qi;
        return;
    case CLI_ACTION_TERMINATE:
        m->tv.name = a->vat;
        m->tv.reason = a->reason ? a->reason : "terminated by the action script";
        req->op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
        req->terminate_vat = &m->tv;
        return;
    case CLI_ACTION_UPGRADE:
        m->uv.vat = a->vat;
        if (a->bundle) m->uv.bundle_name = a->bundle;
        if (a->params_json) m->uv.vat_parameters_json = a->params_json;
        m->uv.has_vat_parameters = a->params_json != NULL;
        if (a->message) m->uv.upgrade_message = a->message;
        req->op_case = SWING__V1__REQUEST__OP_UPGRADE_VAT;
        req->upgrade_vat = &m->uv;
        return;
    case CLI_ACTION_UPGRADE_ALL:
        req->op_case = SWING__V1__REQUEST__OP_UPGRADE_ALL_VATS;
        req->upgrade_all_vats = &m->ua;
        return;
    case CLI_ACTION_WIND_DOWN:
        m->wd.name = a->vat;
        req->op_case = SWING__V1__REQUEST__OP_WIND_DOWN_VAT;
        req->wind_down_vat = &m->wd;
        return;
    }
}

/* Sends one action; refusals a live chain expects (a message to a dead vat, a
 * vat that cannot be upgraded, a bad argument in the script) are counted
 * (and, with verbose, told on stderr), anything else stops the run. */
static int send_action(cli_client *c, const cli_action *a, uint64_t h, size_t idx, bool verbose,
                       block_row *row)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    action_msgs m = {SWING__V1__QUEUE_INBOUND_REQUEST__INIT, SWING__V1__TERMINATE_VAT_REQUEST__INIT,
                     SWING__V1__UPGRADE_VAT_REQUEST__INIT, SWING__V1__UPGRADE_ALL_VATS_REQUEST__INIT,
                     SWING__V1__WIND_DOWN_VAT_REQUEST__INIT};
    Swing__V1__Response *r = NULL;
    char id[64];
    swing_status s;
    int rc = 0;
    action_request(a, h, idx, id, &req, &m);
    s = cli_client_call(c, &req, &r);
    if (s == SWING_ERR_USER || s == SWING_ERR_INVALID) {
        if (verbose)
            fprintf(stderr, "swing: height %" PRIu64 ": action %zu refused: %s\n", h, idx,
                    cli_client_why(r, s));
        row->rejected++;
    } else if (s != SWING_OK) {
        rc = cli_fail("height %" PRIu64 ": action %zu: %s", h, idx, cli_client_why(r, s));
    }
    if (r) swing__v1__response__free_unpacked(r, NULL);
    return rc;
}

/* cli_client_ask with the height in the failure message. */
static int ask_at(cli_client *c, Swing__V1__Request *req, uint64_t h, const char *what,
                  Swing__V1__Response **r)
{
    char label[64];
    snprintf(label, sizeof label, "height %" PRIu64 ": %s", h, what);
    return cli_client_ask(c, req, label, r);
}

/* The upgrades an end_block response reports, into the row. */
static void take_upgrades(const Swing__V1__EndBlockResponse *e, block_row *row)
{
    row->upgrades_left = e->upgrades_left;
    row->upgrades = e->n_upgrades ? json_array() : NULL;
    for (size_t i = 0; i < e->n_upgrades; i++) {
        const Swing__V1__UpgradeResult *u = e->upgrades[i];
        if (u->ok) row->upgrades_ok++;
        else row->upgrades_failed++;
        if (row->upgrades)
            json_array_append_new(row->upgrades,
                                  json_pack("{sIsssssbsIss}", "upgrade_id", (json_int_t)u->upgrade_id, "name", u->name,
                                            "id", u->vat_id, "ok", u->ok, "incarnation", (json_int_t)u->incarnation,
                                            "reason", u->reason));
    }
}

/* Copies an end_block response into the row. */
static void take_end_block(const Swing__V1__EndBlockResponse *e, block_row *row)
{
    const Swing__V1__CleanupReport *cl = e->cleanup;
    row->cranks = e->cranks;
    row->computrons = e->computrons;
    row->work_left = e->work_left;
    row->results = e->n_results;
    row->gc_krefs = e->gc_krefs;
    row->boyds = e->boyds;
    row->vats_failed = e->vats_failed;
    take_upgrades(e, row);
    if (!cl) return;
    row->cleanup_gc_krefs = cl->gc_krefs;
    row->cleanup_boyds = cl->boyds;
    row->cleanup_units = cl->exports + cl->imports + cl->promises + cl->kv + cl->transcripts;
    row->vats_deleted = cl->vats_deleted;
    row->gc_krefs_left = cl->gc_krefs_left;
    row->dirty_vats = cl->dirty_vats;
    row->terminated_vats = cl->terminated_vats;
    row->wind_down_items = cl->wind_down_items;
    row->winding_down = cl->winding_down;
    row->wind_down_left = cl->wind_down_left;
    row->wind_down_counting = cl->wind_down_counting;
    snprintf(row->cleanup_phase, sizeof row->cleanup_phase, "%s", cl->phase ? cl->phase : "");
    row->terminations = e->n_terminations ? json_array() : NULL;
    for (size_t i = 0; row->terminations && i < e->n_terminations; i++) {
        const Swing__V1__VatTermination *t = e->terminations[i];
        json_array_append_new(row->terminations, json_pack("{ssssssss}", "name", t->name, "id", t->vat_id, "kind",
                                                           t->kind_name, "reason", t->reason));
    }
}

static int run_block(cli_client *c, const cli_chain *ch, const Swing__V1__CleanupBudget *defaults,
                     const cli_actions *acts, uint64_t h, uint64_t compute_limit, bool verbose, block_row *row)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__BeginBlockRequest bb = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    Swing__V1__EndBlockRequest eb = SWING__V1__END_BLOCK_REQUEST__INIT;
    Swing__V1__CleanupBudget cb = SWING__V1__CLEANUP_BUDGET__INIT;
    Swing__V1__CommitRequest cm = SWING__V1__COMMIT_REQUEST__INIT;
    Swing__V1__Response *r = NULL;
    memset(row, 0, sizeof *row);
    row->height = h;
    bb.height = h;
    bb.time_unix = ch->genesis_time + (int64_t)(h - 1) * ch->block_interval;
    req.op_case = SWING__V1__REQUEST__OP_BEGIN_BLOCK;
    req.begin_block = &bb;
    if (ask_at(c, &req, h, "begin_block", &r)) return 1;
    swing__v1__response__free_unpacked(r, NULL);
    for (size_t i = 0; i < acts->n; i++)
        if (cli_chain_action_due(&acts->v[i], h) && send_action(c, &acts->v[i], h, i, verbose, row)) return 1;

    eb.compute_budget = compute_limit;
    if (cli_chain_cleanup_resolve(&ch->cleanup, defaults, &cb)) eb.cleanup = &cb;
    req.op_case = SWING__V1__REQUEST__OP_END_BLOCK;
    req.end_block = &eb;
    if (ask_at(c, &req, h, "end_block", &r)) return 1;
    take_end_block(r->end_block, row);
    swing__v1__response__free_unpacked(r, NULL);

    req.op_case = SWING__V1__REQUEST__OP_COMMIT;
    req.commit = &cm;
    if (ask_at(c, &req, h, "commit", &r)) return 1;
    row->export_entries = r->commit->n_export_data;
    for (size_t i = 0; i < r->commit->n_export_data; i++)
        row->export_bytes += strlen(r->commit->export_data[i]->key) + r->commit->export_data[i]->value.len;
    snprintf(row->activity_hash, sizeof row->activity_hash, "%s", r->commit->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
    return 0;
}

static void print_header(void)
{
    printf("%7s %7s %11s %8s %5s %7s %8s %8s %9s %7s %5s %4s %5s %8s  %s\n", "height", "cranks", "computrons",
           "gc_krefs", "boyds", "results", "rejected", "exp_keys", "exp_bytes", "gc_left", "dirty", "term",
           "upg", "upg_left", "activity hash");
}

static void print_json_row(const block_row *r)
{
    json_t *o = json_pack("{sI sI sI sI sI sI sb sI sI sI sI sI sI sI sI sI sI sI ss ss}",
                          "height", (json_int_t)r->height,
                          "cranks", (json_int_t)r->cranks, "computrons", (json_int_t)r->computrons,
                          "gc_krefs", (json_int_t)r->gc_krefs, "boyds", (json_int_t)r->boyds,
                          "results", (json_int_t)r->results, "work_left", r->work_left,
                          "vats_failed", (json_int_t)r->vats_failed,
                          "export_entries", (json_int_t)r->export_entries,
                          "export_bytes", (json_int_t)r->export_bytes,
                          "rejected", (json_int_t)r->rejected,
                          "cleanup_gc_krefs", (json_int_t)r->cleanup_gc_krefs,
                          "cleanup_boyds", (json_int_t)r->cleanup_boyds,
                          "cleanup_units", (json_int_t)r->cleanup_units,
                          "vats_deleted", (json_int_t)r->vats_deleted,
                          "gc_krefs_left", (json_int_t)r->gc_krefs_left,
                          "dirty_vats", (json_int_t)r->dirty_vats,
                          "terminated_vats", (json_int_t)r->terminated_vats,
                          "cleanup_phase", r->cleanup_phase, "activity_hash", r->activity_hash);
    char *text;
    if (o && r->terminations) json_object_set(o, "terminations", r->terminations);
    if (o && (json_object_set_new(o, "upgrades_ok", json_integer((json_int_t)r->upgrades_ok)) ||
              json_object_set_new(o, "upgrades_failed", json_integer((json_int_t)r->upgrades_failed)) ||
              json_object_set_new(o, "upgrades_left", json_integer((json_int_t)r->upgrades_left)) ||
              json_object_set_new(o, "wind_down_items", json_integer((json_int_t)r->wind_down_items)) ||
              json_object_set_new(o, "winding_down", json_integer((json_int_t)r->winding_down)) ||
              json_object_set_new(o, "wind_down_left", json_integer((json_int_t)r->wind_down_left)) ||
              json_object_set_new(o, "wind_down_counting", json_boolean(r->wind_down_counting)) ||
              (r->upgrades && json_object_set(o, "upgrades", r->upgrades)))) {
        json_decref(o);
        o = NULL;
    }
    text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text) puts(text);
    else fputs("swing: out of memory printing a row\n", stderr);
    free(text);
    json_decref(o);
}

/* A member of a JSON record: string or integer. */
static const char *str_of(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static uint64_t int_of(json_t *o, const char *k) { return (uint64_t)json_integer_value(json_object_get(o, k)); }

static void print_row(const block_row *r, bool json)
{
    char upg[48];
    if (json) {
        print_json_row(r);
        return;
    }
    snprintf(upg, sizeof upg, "%" PRIu64 "/%" PRIu64, r->upgrades_ok, r->upgrades_failed);
    printf("%7" PRIu64 " %7" PRIu64 " %11" PRIu64 " %8" PRIu64 " %5" PRIu64 " %7" PRIu64 " %8" PRIu64
           " %8" PRIu64 " %9" PRIu64 " %7" PRIu64 " %5" PRIu64 " %4" PRIu64 " %5s %8" PRIu64 "  %.16s%s%s\n",
           r->height, r->cranks, r->computrons, r->gc_krefs, r->boyds, r->results, r->rejected,
           r->export_entries, r->export_bytes, r->gc_krefs_left, r->dirty_vats, r->terminated_vats, upg,
           r->upgrades_left, r->activity_hash, r->work_left ? "  (work left)" : "",
           r->vats_failed ? "  (a vat failed)" : "");
    for (size_t i = 0; i < json_array_size(r->terminations); i++) {
        json_t *t = json_array_get(r->terminations, i);
        printf("        vat %s (%s) terminated: %s: %s\n", str_of(t, "name"), str_of(t, "id"), str_of(t, "kind"),
               str_of(t, "reason"));
    }
    for (size_t i = 0; i < json_array_size(r->upgrades); i++) {
        json_t *u = json_array_get(r->upgrades, i);
        if (json_is_true(json_object_get(u, "ok")))
            printf("        vat %s (%s) upgraded: incarnation %" PRIu64 " (upgrade %" PRIu64 ")\n", str_of(u, "name"),
                   str_of(u, "id"), int_of(u, "incarnation"), int_of(u, "upgrade_id"));
        else
            printf("        vat %s (%s) upgrade %" PRIu64 " failed: %s (incarnation %" PRIu64 " goes on)\n",
                   str_of(u, "name"), str_of(u, "id"), int_of(u, "upgrade_id"), str_of(u, "reason"),
                   int_of(u, "incarnation"));
    }
}

/* One line at the bottom of a terminal, redrawn after every row. */
static void draw_progress(uint64_t done, uint64_t first, uint64_t last, uint64_t cranks)
{
    const int width = 30;
    uint64_t total = last - first + 1, n = done - first + 1;
    int fill = total ? (int)(n * (uint64_t)width / total) : width;
    printf("\r[%.*s%*s] %" PRIu64 "/%" PRIu64 " blocks, %" PRIu64 " cranks", fill,
           "##############################", width - fill, "", done, last, cranks);
    fflush(stdout);
}

static void clear_progress(void)
{
    fputs("\r\033[K", stdout);
}

/* A clean-up flag, if present: a non-negative integer must follow it. */
static int parse_cleanup_flag(int argc, char **argv, cleanup_flag *f)
{
    const char *v = cli_opt(argc, argv, f->name);
    bool present = false;
    for (int i = 1; i < argc; i++) present |= strcmp(argv[i], f->name) == 0;
    if (!present) return 0;
    if (!v || parse_u64(v, &f->value))
        return cli_fail("%s needs a non-negative integer, not %s%s%s", f->name, v ? "'" : "nothing",
                        v ? v : "", v ? "'" : "");
    f->given = true;
    return 0;
}

static int parse_run_opts(int argc, char **argv, run_opts *o)
{
    const char *blocks = cli_opt(argc, argv, "--blocks"), *cl = cli_opt(argc, argv, "--compute-limit");
    memset(o, 0, sizeof *o);
    o->cleanup[FLAG_GC].name = "--cleanup-gc";
    o->cleanup[FLAG_BOYDS].name = "--cleanup-boyds";
    o->cleanup[FLAG_UNITS].name = "--cleanup-units";
    o->config = cli_opt(argc, argv, "--config");
    o->db = cli_opt(argc, argv, "--db");
    o->actions = cli_opt(argc, argv, "--actions");
    o->blocks = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) o->json = true;
        if (strcmp(argv[i], "--no-sync") == 0) o->no_sync = true;
    }
    if (!o->config || !o->db)
        return cli_fail("run needs --config FILE --db DIR [--blocks N] [--actions FILE] "
                        "[--compute-limit C] [--cleanup-gc N] [--cleanup-boyds N] [--cleanup-units N] "
                        "[--json] [--no-sync]");
    if (blocks && parse_u64(blocks, &o->blocks)) return cli_fail("--blocks: not a number: %s", blocks);
    if (cl && parse_u64(cl, &o->compute_limit)) return cli_fail("--compute-limit: not a number: %s", cl);
    for (int i = 0; i < N_CLEANUP_FLAGS; i++)
        if (parse_cleanup_flag(argc, argv, &o->cleanup[i])) return 1;
    o->progress = !o->json && isatty(STDOUT_FILENO);
    return 0;
}

/* Flags override the config's clean-up budget, field by field. */
static void apply_cleanup_flags(const run_opts *o, cli_cleanup *cl)
{
    static const int field[N_CLEANUP_FLAGS] = {CLI_CLEANUP_GC_KREFS, CLI_CLEANUP_BOYDS, CLI_CLEANUP_UNITS};
    for (int i = 0; i < N_CLEANUP_FLAGS; i++) {
        if (!o->cleanup[i].given) continue;
        cl->value[field[i]] = o->cleanup[i].value;
        cl->given[field[i]] = true;
    }
}

int cli_cmd_run(int argc, char **argv)
{
    run_opts o;
    cli_chain ch;
    cli_actions acts = {0};
    cli_client c = {0};
    Swing__V1__OpenResponse *info = NULL;
    uint64_t first, total_cranks = 0;
    char why[512];
    int rc = 1;
    if (parse_run_opts(argc, argv, &o)) return 2;
    if (cli_chain_load(o.config, &ch, why, sizeof why)) return cli_fail("%s", why);
    if (o.compute_limit) ch.compute_limit = o.compute_limit;
    apply_cleanup_flags(&o, &ch.cleanup);
    if (o.actions && cli_chain_actions_load(o.actions, &acts, why, sizeof why)) {
        cli_chain_free(&ch);
        return cli_fail("%s", why);
    }
    if (cli_client_open(&c, o.db, o.no_sync, false, &info)) goto out;
    first = info->committed_height + 1;
    if (!info->initialized && genesis(&c, &ch)) goto out;
    if (!o.json) print_header();
    rc = 0;
    for (uint64_t h = first; h <= o.blocks && !rc; h++) {
        block_row row;
        rc = run_block(&c, &ch, info->default_cleanup, &acts, h, ch.compute_limit, o.json, &row);
        if (o.progress) clear_progress();
        if (!rc) print_row(&row, o.json);
        json_decref(row.terminations);
        json_decref(row.upgrades);
        total_cranks += row.cranks;
        if (!rc && o.progress && h < o.blocks) draw_progress(h, first, o.blocks, total_cranks);
    }
    fflush(stdout);
out:
    if (info) swing__v1__open_response__free_unpacked(info, NULL);
    cli_client_close(&c);
    cli_chain_actions_free(&acts);
    cli_chain_free(&ch);
    return rc;
}
