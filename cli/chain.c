/*
 * chain.c - reads chain configs and action scripts (JSON, JSON lines) with
 * jansson. Bundle files are relative to the config file; bundles are kept
 * in name order so that genesis does not depend on the file's key order.
 * The clean-up budget's members default to the ABI's (abi/swing.h).
 * KEEP IN SYNC: the action fields with go-bindings/sim/sim.go (Action).
 */
#include "cli/chain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "abi/swing.h"
#include "base/vec.h"

static int fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return 1;
}

static int read_file(const char *path, uint8_t **data, size_t *len, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) return fail(why, why_len, "%s: %s", path, strerror(errno));
    for (;;) {
        if (n == cap) {
            size_t ncap;
            uint8_t *nb = NULL;
            if (!swing_vec_cap(cap, n + 1, 4096, 1, &ncap, NULL)) nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return fail(why, why_len, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return fail(why, why_len, "%s: read error", path);
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

static int cmp_bundle(const void *a, const void *b)
{
    return strcmp(((const cli_bundle *)a)->name, ((const cli_bundle *)b)->name);
}

/* An optional non-negative integer member. */
static int get_uint(json_t *obj, const char *key, uint64_t *out, char *why, size_t n)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(why, n, "\"%s\" must be a non-negative integer", key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int load_bundles(const char *path, json_t *bundles, cli_chain *c, char *why, size_t n)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 1;
    const char *dir = slash ? path : ".";
    const char *name;
    json_t *file;
    if (!bundles) return 0;
    if (!json_is_object(bundles)) return fail(why, n, "%s: \"bundles\" must map names to files", path);
    c->bundles = calloc(json_object_size(bundles) + 1, sizeof *c->bundles);
    if (!c->bundles) return fail(why, n, "out of memory");
    json_object_foreach(bundles, name, file) {
        cli_bundle *b = &c->bundles[c->n_bundles];
        char full[4096];
        if (!json_is_string(file)) return fail(why, n, "%s: bundle %s: not a file name", path, name);
        if (json_string_value(file)[0] == '/')
            snprintf(full, sizeof full, "%s", json_string_value(file));
        else
            snprintf(full, sizeof full, "%.*s/%s", dirlen, dir, json_string_value(file));
        if (!(b->name = strdup(name))) return fail(why, n, "out of memory");
        c->n_bundles++;
        if (read_file(full, &b->source, &b->len, why, n)) return 1;
    }
    qsort(c->bundles, c->n_bundles, sizeof *c->bundles, cmp_bundle);
    return 0;
}

/* The optional "cleanup" object: each member given overrides its default. */
static int load_cleanup(const char *path, json_t *o, cli_cleanup *cl, char *why, size_t n)
{
    static const char *const known[CLI_CLEANUP_FIELDS] = {"gc_krefs", "boyds", "terminated_units"};
    const char *key;
    json_t *v;
    memset(cl, 0, sizeof *cl);
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o))
        return fail(why, n, "%s: \"cleanup\" must be an object of gc_krefs, boyds, terminated_units", path);
    json_object_foreach(o, key, v) {
        size_t i = 0;
        while (i < sizeof known / sizeof *known && strcmp(key, known[i]) != 0) i++;
        if (i == sizeof known / sizeof *known)
            return fail(why, n, "%s: \"cleanup\": unknown member \"%s\" (gc_krefs, boyds, terminated_units)",
                        path, key);
    }
    for (int i = 0; i < CLI_CLEANUP_FIELDS; i++) {
        if (!json_object_get(o, known[i])) continue;
        if (get_uint(o, known[i], &cl->value[i], why, n)) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", why);
            return fail(why, n, "%s: \"cleanup\": %s", path, msg);
        }
        cl->given[i] = true;
    }
    return 0;
}

int cli_chain_load(const char *path, cli_chain *c, char *why, size_t n)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *kernel;
    uint64_t gt = 1700000000, bi = 5;
    int rc = 1;
    memset(c, 0, sizeof *c);
    if (!root) return fail(why, n, "%s:%d: %s", path, je.line, je.text);
    if (!json_is_object(root)) {
        fail(why, n, "%s: not a JSON object", path);
        goto out;
    }
    kernel = json_object_get(root, "kernel");
    if (!json_is_object(kernel)) {
        fail(why, n, "%s: \"kernel\" (the genesis config) must be an object", path);
        goto out;
    }
    c->kernel_json = json_dumps(kernel, JSON_COMPACT);
    if (!c->kernel_json) {
        fail(why, n, "out of memory");
        goto out;
    }
    if (get_uint(root, "compute_limit", &c->compute_limit, why, n) ||
        get_uint(root, "genesis_time", &gt, why, n) || get_uint(root, "block_interval", &bi, why, n))
        goto out;
    if (gt == 0) gt = 1700000000;
    if (bi == 0) bi = 5;
    if (gt > INT32_MAX * 8ull || bi > 1000000) {
        fail(why, n, "%s: genesis_time or block_interval out of range", path);
        goto out;
    }
    c->genesis_time = (int64_t)gt;
    c->block_interval = (int64_t)bi;
    if (load_cleanup(path, json_object_get(root, "cleanup"), &c->cleanup, why, n)) goto out;
    rc = load_bundles(path, json_object_get(root, "bundles"), c, why, n);
out:
    json_decref(root);
    if (rc) cli_chain_free(c);
    return rc;
}

void cli_chain_free(cli_chain *c)
{
    free(c->kernel_json);
    for (size_t i = 0; i < c->n_bundles; i++) {
        free(c->bundles[i].name);
        free(c->bundles[i].source);
    }
    free(c->bundles);
    memset(c, 0, sizeof *c);
}

/* An optional string member, copied; *out stays NULL when absent. */
static int get_str(json_t *obj, const char *key, char **out, char *why, size_t n)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_string(v)) return fail(why, n, "\"%s\" must be a string", key);
    if (!(*out = strdup(json_string_value(v)))) return fail(why, n, "out of memory");
    return 0;
}

static const char *const action_types[] = {"inbound", "terminate", "upgrade", "upgrade_all", "wind_down"};

/* The type-specific members of an action: an inbound's method and args, an
 * upgrade's parameters (any JSON value). */
static int parse_action_members(json_t *o, cli_action *a, char *why, size_t n)
{
    json_t *args = json_object_get(o, "args"), *params = json_object_get(o, "parameters");
    if (a->type == CLI_ACTION_INBOUND) {
        if (!a->method) return fail(why, n, "an inbound action names no \"method\"");
        if (args && !json_is_array(args)) return fail(why, n, "\"args\" must be an array");
        if (!(a->args_json = args ? json_dumps(args, JSON_COMPACT) : strdup("[]"))) return fail(why, n, "out of memory");
    }
    if (a->type == CLI_ACTION_UPGRADE && params &&
        !(a->params_json = json_dumps(params, JSON_COMPACT | JSON_ENCODE_ANY)))
        return fail(why, n, "out of memory");
    return 0;
}

static int parse_action(json_t *o, cli_action *a, char *why, size_t n)
{
    char *type = NULL;
    size_t t = 0;
    int rc;
    if (!json_is_object(o)) return fail(why, n, "an action must be a JSON object");
    if (get_uint(o, "height", &a->height, why, n) || get_uint(o, "every", &a->every, why, n) ||
        get_str(o, "type", &type, why, n) || get_str(o, "id", &a->id, why, n) ||
        get_str(o, "vat", &a->vat, why, n) || get_str(o, "method", &a->method, why, n) ||
        get_str(o, "reason", &a->reason, why, n) || get_str(o, "bundle", &a->bundle, why, n) ||
        get_str(o, "message", &a->message, why, n)) {
        free(type);
        return 1;
    }
    while (type && t < sizeof action_types / sizeof *action_types && strcmp(type, action_types[t]) != 0) t++;
    free(type);
    a->type = (cli_action_type)t;
    if (t == sizeof action_types / sizeof *action_types)
        rc = fail(why, n, "\"type\" must be \"inbound\", \"terminate\", \"upgrade\", \"upgrade_all\" or \"wind_down\"");
    else if (!a->vat && a->type != CLI_ACTION_UPGRADE_ALL)
        rc = fail(why, n, "the action names no \"vat\"");
    else if (a->height == 0 && a->every == 0)
        rc = fail(why, n, "the action needs \"height\" or \"every\"");
    else
        rc = parse_action_members(o, a, why, n);
    return rc;
}

static void action_free(cli_action *a)
{
    free(a->id);
    free(a->vat);
    free(a->method);
    free(a->args_json);
    free(a->reason);
    free(a->bundle);
    free(a->params_json);
    free(a->message);
}

int cli_chain_actions_load(const char *path, cli_actions *out, char *why, size_t n)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    unsigned lineno = 0;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (!f) return fail(why, n, "%s: %s", path, strerror(errno));
    while (!rc && getline(&line, &cap, f) >= 0) {
        const char *p = line;
        json_error_t je;
        json_t *o;
        lineno++;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\n' || *p == '\r' || *p == '\0' || *p == '#') continue;
        if (!(o = json_loads(p, JSON_REJECT_DUPLICATES, &je))) {
            rc = fail(why, n, "%s:%u: %s", path, lineno, je.text);
            break;
        }
        if (out->n == alloc) {
            size_t nalloc;
            cli_action *nv = NULL;
            if (!swing_vec_cap(alloc, out->n + 1, 8, sizeof *nv, &nalloc, NULL))
                nv = realloc(out->v, nalloc * sizeof *nv);
            if (!nv) {
                json_decref(o);
                rc = fail(why, n, "out of memory");
                break;
            }
            out->v = nv;
            alloc = nalloc;
        }
        memset(&out->v[out->n], 0, sizeof out->v[out->n]);
        out->n++;
        if (parse_action(o, &out->v[out->n - 1], why, n)) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", why);
            rc = fail(why, n, "%s:%u: %s", path, lineno, msg);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (rc) cli_chain_actions_free(out);
    return rc;
}

void cli_chain_actions_free(cli_actions *a)
{
    for (size_t i = 0; i < a->n; i++) action_free(&a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

bool cli_chain_action_due(const cli_action *a, uint64_t h)
{
    if (a->height == h) return true;
    return a->every > 0 && h % a->every == 0 && (a->height == 0 || h >= a->height);
}

bool cli_chain_cleanup_resolve(const cli_cleanup *cl, const Swing__V1__CleanupBudget *defaults,
                         Swing__V1__CleanupBudget *out)
{
    uint64_t v[CLI_CLEANUP_FIELDS] = {defaults ? defaults->gc_krefs : 0, defaults ? defaults->boyds : 0,
                                      defaults ? defaults->terminated_units : 0};
    bool any = false;
    for (int i = 0; i < CLI_CLEANUP_FIELDS; i++) {
        if (cl->given[i]) v[i] = cl->value[i];
        any |= cl->given[i];
    }
    out->gc_krefs = v[CLI_CLEANUP_GC_KREFS];
    out->boyds = v[CLI_CLEANUP_BOYDS];
    out->terminated_units = v[CLI_CLEANUP_UNITS];
    return any;
}
