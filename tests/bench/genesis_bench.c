/*
 * genesis_bench.c - genesis (InitRequest) with many tiny bundles through the
 * public ABI (issue: hardening, ABI edges: genesis was quadratic in the
 * number of bundles).
 *
 * genesis_bundles: N distinct one-line bundles, one vat naming the last of
 * them by bundleName; times the init call alone (no commit), then the same
 * for 4N in a fresh directory. ratio = t(4N) / t(N): about 4 when genesis is
 * linear, about 16 when quadratic. Prints one JSON line.
 * Usage: genesis_bench [N]   (default 25000)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/swing.h"
#include "swing/v1/swing.pb-c.h"
#include "tests/bench/bench.h"
#include "tests/lib/scratch.h"

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "genesis_bench: %s: %s\n", what, msg ? msg : "");
    exit(1);
}

/* Packs m, sends it, dies unless the response says OK. */
static void call_ok(swing_handle *h, const ProtobufCMessage *m, const char *what)
{
    size_t n = protobuf_c_message_get_packed_size(m), out_len = 0;
    uint8_t *buf = malloc(n ? n : 1), *out = NULL;
    Swing__V1__Response *r;
    if (!buf) die(what, "out of memory");
    protobuf_c_message_pack(m, buf);
    swing_status s = swing_call(h, buf, n, &out, &out_len);
    free(buf);
    r = out ? swing__v1__response__unpack(NULL, out_len, out) : NULL;
    swing_free(out);
    if (!r) die(what, "no response");
    if (s != SWING_OK) die(what, r->error);
    swing__v1__response__free_unpacked(r, NULL);
}

/* Seconds one init with n bundles takes on a fresh directory. */
static double genesis_seconds(size_t n)
{
    Swing__V1__OpenRequest oreq = SWING__V1__OPEN_REQUEST__INIT;
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__Bundle *bs = calloc(n, sizeof *bs), **bp = calloc(n, sizeof *bp);
    char *names = malloc(n * 24), *srcs = malloc(n * 80), dir[600], cfg[128];
    char *tmp = scratch_dir("genesisbench");
    uint8_t obuf[800], *out = NULL;
    size_t olen, out_len = 0;
    swing_handle *h = NULL;
    double t0, t1;
    if (!bs || !bp || !names || !srcs || !tmp) die("setup", "out of memory");
    for (size_t i = 0; i < n; i++) {
        swing__v1__bundle__init(&bs[i]);
        snprintf(names + i * 24, 24, "b%zu", i);
        bs[i].name = names + i * 24;
        bs[i].source.len = (size_t)snprintf(srcs + i * 80, 80,
                                            "function buildRootObject() return Far('b%zu', {}) end\n", i);
        bs[i].source.data = (uint8_t *)(srcs + i * 80);
        bp[i] = &bs[i];
    }
    snprintf(cfg, sizeof cfg, "{\"vats\":{\"v\":{\"bundleName\":\"b%zu\"}}}", n - 1);
    snprintf(dir, sizeof dir, "%s/db", tmp);
    oreq.abi_version = SWING_ABI_VERSION;
    oreq.data_dir = dir;
    oreq.no_sync = true;
    olen = swing__v1__open_request__pack(&oreq, obuf);
    if (swing_open(obuf, olen, &h, &out, &out_len) != SWING_OK) die("open", dir);
    swing_free(out);
    init.config_json.data = (uint8_t *)cfg;
    init.config_json.len = strlen(cfg);
    init.n_bundles = n;
    init.bundles = bp;
    req.abi_version = SWING_ABI_VERSION;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    t0 = bench_now();
    call_ok(h, &req.base, "init");
    t1 = bench_now();
    swing_close(h);
    scratch_remove(tmp);
    free(bs);
    free(bp);
    free(names);
    free(srcs);
    return t1 - t0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 25000;
    double t1, t4;
    if (n == 0) die("usage", "genesis_bench [N], N > 0");
    t1 = genesis_seconds(n);
    t4 = genesis_seconds(4 * n);
    printf("{\"bench\":\"genesis_bundles\",\"n\":%zu,\"seconds_n\":%.3f,\"n4\":%zu,\"seconds_4n\":%.3f,"
           "\"ratio\":%.2f}\n",
           n, t1, 4 * n, t4, t4 / t1);
    return 0;
}
