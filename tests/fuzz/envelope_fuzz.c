/*
 * envelope_fuzz.c - libFuzzer target for the host ABI's envelope decoding
 * and dispatch: every input is handed to swing_call as a Request on a live
 * node (genesis done, one block open). Whatever the bytes, the call must
 * return a Response that decodes, whose status equals the return code and
 * carries a message exactly when it is not OK, whose string fields are all
 * well-formed UTF-8 (tests/lib/utf8oracle.h); a request with a string that
 * is not UTF-8 must be refused as INVALID; and the node must still answer a
 * query afterwards. ASan/UBSan and the leak checker watch the rest.
 *
 * export and import name directories; the target skips them so that fuzzing
 * never writes outside its scratch directory (their decoding is the same
 * protobuf-c code as every other operation's).
 *
 * The node lives in a file-scope context, created once: libFuzzer's entry
 * points take no user pointer. This is a test program, not the library.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/swing.h"
#include "swing/v1/swing.pb-c.h"
#include "tests/lib/scratch.h"
#include "tests/lib/utf8oracle.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char BOOT[] = "function buildRootObject()\n"
                           "  return Far('boot', { bootstrap = function() return 'booted' end })\n"
                           "end\n";
static const char COUNTER[] = "function buildRootObject(vatPowers, params)\n"
                              "  local n = 0\n"
                              "  return Far('counter', {\n"
                              "    increment = function(k) n = n + (k or 1) return n end,\n"
                              "    fail = function() error('no') end,\n"
                              "  })\n"
                              "end\n";
static const char CONFIG[] = "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleName\":\"boot\"},"
                             "\"counter\":{\"bundleName\":\"counter\"}}}";

static struct {
    swing_handle *h;
    char *dir; /* scratch directory (tests/lib/scratch.h) */
} fz;

static void die(const char *what)
{
    fprintf(stderr, "envelope_fuzz: %s\n", what);
    abort();
}

/* Sends a request; returns its status (the response is checked and freed). */
static swing_status send(const uint8_t *buf, size_t len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    swing_status s = swing_call(fz.h, buf, len, &out, &out_len);
    Swing__V1__Response *r;
    if (!out) die("no response buffer");
    r = swing__v1__response__unpack(NULL, out_len, out);
    swing_free(out);
    if (!r) die("the response does not decode");
    if ((int)r->status != (int)s) die("response status differs from the return code");
    if ((s == SWING_OK) != (r->error == NULL || r->error[0] == '\0'))
        die("error message present exactly when the status is not OK: violated");
    if (oracle_bad_string(&r->base)) die("a response string field is not well-formed UTF-8");
    swing__v1__response__free_unpacked(r, NULL);
    return s;
}

static swing_status send_req(Swing__V1__Request *req)
{
    uint8_t buf[4096];
    size_t n;
    req->abi_version = SWING_ABI_VERSION;
    if (swing__v1__request__get_packed_size(req) > sizeof buf) die("request too large");
    n = swing__v1__request__pack(req, buf);
    return send(buf, n);
}

/* libFuzzer ends with exit(): close the node and remove its directory. */
static void cleanup(void)
{
    swing_close(fz.h);
    fz.h = NULL;
    scratch_remove(fz.dir);
    fz.dir = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    Swing__V1__OpenRequest open = SWING__V1__OPEN_REQUEST__INIT;
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__BeginBlockRequest bb = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    Swing__V1__Bundle b[2] = {SWING__V1__BUNDLE__INIT, SWING__V1__BUNDLE__INIT};
    Swing__V1__Bundle *bp[2] = {&b[0], &b[1]};
    uint8_t buf[256], *out = NULL;
    size_t n, out_len = 0;
    (void)argc;
    (void)argv;
    if (!(fz.dir = scratch_dir("swing-fuzz"))) die("no scratch directory");
    atexit(cleanup);
    open.abi_version = SWING_ABI_VERSION;
    open.data_dir = fz.dir;
    open.no_sync = true;
    n = swing__v1__open_request__pack(&open, buf);
    if (swing_open(buf, n, &fz.h, &out, &out_len) != SWING_OK) die("open");
    swing_free(out);

    b[0].name = "boot";
    b[0].source.data = (uint8_t *)BOOT;
    b[0].source.len = sizeof BOOT - 1;
    b[1].name = "counter";
    b[1].source.data = (uint8_t *)COUNTER;
    b[1].source.len = sizeof COUNTER - 1;
    init.config_json.data = (uint8_t *)CONFIG;
    init.config_json.len = sizeof CONFIG - 1;
    init.bundles = bp;
    init.n_bundles = 2;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    if (send_req(&req) != SWING_OK) die("init");
    bb.height = 1;
    req.op_case = SWING__V1__REQUEST__OP_BEGIN_BLOCK;
    req.begin_block = &bb;
    if (send_req(&req) != SWING_OK) die("begin_block");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Swing__V1__Request *peek = swing__v1__request__unpack(NULL, size, data);
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    swing_status s;
    bool ill_formed = false; /* a request string is not UTF-8: it must be refused */
    if (peek) {
        bool skip = peek->op_case == SWING__V1__REQUEST__OP_EXPORT ||
                    peek->op_case == SWING__V1__REQUEST__OP_IMPORT;
        ill_formed = oracle_bad_string(&peek->base) != NULL;
        swing__v1__request__free_unpacked(peek, NULL);
        if (skip) return -1; /* not added to the corpus */
    }
    if (send(data, size) != SWING_ERR_INVALID && ill_formed) die("a request with ill-formed UTF-8 was not refused");
    /* The node still answers. */
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_STATS;
    q.stats = true;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    s = send_req(&req);
    if (s != SWING_OK && s != SWING_ERR_PANIC) die("the node stopped answering queries");
    return 0;
}
