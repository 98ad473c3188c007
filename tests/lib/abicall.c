/*
 * abicall.c - public-ABI test helpers (see abicall.h).
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"
#include "tests/lib/utf8oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tl_node_open(tl_node *nd, Swing__V1__OpenResponse **resp)
{
    Swing__V1__OpenRequest req = SWING__V1__OPEN_REQUEST__INIT;
    Swing__V1__OpenResponse *r;
    uint8_t buf[1024], *out = NULL;
    size_t n, out_len = 0;
    swing_status s;
    req.abi_version = SWING_ABI_VERSION;
    req.data_dir = nd->dir;
    req.no_sync = !nd->sync;
    n = swing__v1__open_request__pack(&req, buf);
    s = swing_open(buf, n, &nd->h, &out, &out_len);
    assert_non_null(out);
    r = swing__v1__open_response__unpack(NULL, out_len, out);
    swing_free(out);
    assert_non_null(r);
    tl_check_strings(&r->base);
    if (s != SWING_OK) fail_msg("open %s: %s", nd->dir, r->error);
    assert_non_null(nd->h);
    assert_non_null(r->default_cleanup);
    nd->default_cleanup.gc_krefs = r->default_cleanup->gc_krefs;
    nd->default_cleanup.boyds = r->default_cleanup->boyds;
    nd->default_cleanup.terminated_units = r->default_cleanup->terminated_units;
    if (resp) *resp = r;
    else swing__v1__open_response__free_unpacked(r, NULL);
}

void tl_node_new(tl_node *nd, bool sync)
{
    memset(nd, 0, sizeof *nd);
    nd->tmp = tl_tmpdir();
    nd->sync = sync;
    snprintf(nd->dir, sizeof nd->dir, "%s/db", nd->tmp);
    tl_node_open(nd, NULL);
}

void tl_node_free(tl_node *nd)
{
    swing_close(nd->h);
    nd->h = NULL;
    tl_rmtree(nd->tmp);
    nd->tmp = NULL;
}

void tl_check_strings(const ProtobufCMessage *m)
{
    const char *bad = oracle_bad_string(m);
    if (bad) fail_msg("%s: field %s is not well-formed UTF-8", m->descriptor->short_name, bad);
}

Swing__V1__Response *tl_call_bytes(swing_handle *h, const uint8_t *buf, size_t n)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    swing_status s = swing_call(h, buf, n, &out, &out_len);
    Swing__V1__Response *r;
    assert_non_null(out);
    r = swing__v1__response__unpack(NULL, out_len, out);
    swing_free(out);
    assert_non_null(r);
    assert_int_equal((int)r->status, (int)s);
    if (s == SWING_OK) assert_string_equal(r->error, "");
    else assert_true(strlen(r->error) > 0);
    tl_check_strings(&r->base);
    return r;
}

Swing__V1__Response *tl_call(swing_handle *h, Swing__V1__Request *req)
{
    size_t n;
    uint8_t *buf;
    Swing__V1__Response *r;
    req->abi_version = req->abi_version ? req->abi_version : SWING_ABI_VERSION;
    n = swing__v1__request__get_packed_size(req);
    buf = malloc(n ? n : 1);
    assert_non_null(buf);
    swing__v1__request__pack(req, buf);
    r = tl_call_bytes(h, buf, n);
    free(buf);
    return r;
}

swing_status tl_call_status(swing_handle *h, Swing__V1__Request *req)
{
    Swing__V1__Response *r = tl_call(h, req);
    swing_status s = (swing_status)r->status;
    swing__v1__response__free_unpacked(r, NULL);
    return s;
}

uint8_t *tl_pack_patched(const ProtobufCMessage *m, const char *mark, size_t *n)
{
    size_t len = protobuf_c_message_get_packed_size(m), ml = strlen(mark);
    uint8_t *buf = malloc(len ? len : 1), *at;
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    at = memmem(buf, len, mark, ml);
    if (!at) fail_msg("mark not found in the packed message");
    for (size_t i = 0; i < ml; i++)
        if (at[i] == 1) at[i] = 0;
    *n = len;
    return buf;
}
