/*
 * termination_test.c - why a vat was terminated is visible (kernel/
 * termination.c): for raw vats failing each way (illegal syscall, failed
 * delivery, failed startVat, exit, exit with failure, a failed BOYD in a
 * clean-up crank, host termination) the kind and reason are in the vat's
 * record, in the host's termination log, in the vat list and in the
 * rejection of its pending results (a result it decided, the message that
 * failed, a message queued behind it); the record outlives the vat's
 * deletion, so a message to the deleted vat is refused as "terminated"; a
 * new vat may take the name; reasons are clipped UTF-8; a critical vat's
 * panic leaves neither record nor log entry. Lua vats' causes (compute,
 * memory, buildRootObject, transcript mismatch) are in luavat_test.c and,
 * through the ABI, tests/abi/termination_test.c.
 */
#include "tests/lib/rawvat.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* What B does; the host drives B by method name. */
typedef struct world {
    tk t;
    bool fail_boyd; /* B's BOYD fails */
} world;
static world W;

static bool is(const vp_delivery *d, const char *method)
{
    char m[64];
    return d->type == VP_D_MESSAGE && strcmp(tv_method(d, m, sizeof m), method) == 0;
}

static swing_status exit_with(vp_channel *io, bool failure, const char *info)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_EXIT;
    sc.failure = failure;
    sc.info = (vp_capdata){info, NULL, 0};
    return vp_channel_syscall(io, &sc, NULL);
}

/* B: "keep" leaves its result unresolved (B decides it), "boom" makes an
 * illegal syscall, "fail" fails the delivery, "quit" / "crash" exit; every
 * other message with a result is answered. */
static swing_status b_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    world *w = u;
    if (d->type == VP_D_BRING_OUT_YOUR_DEAD && w->fail_boyd) {
        r->ok = false;
        snprintf(r->message, sizeof r->message, "boyd broke");
        return SWING_OK;
    }
    if (is(d, "keep")) return SWING_OK;
    if (is(d, "boom")) {
        assert_int_equal(tv_send(io, "o-99", "#[\"x\",[]]", NULL, 0, NULL), SWING_ERR_VAT);
        return SWING_OK;
    }
    if (is(d, "badkey")) { /* a vatstore key that is not text */
        vp_syscall sc;
        memset(&sc, 0, sizeof sc);
        sc.type = VP_S_VATSTORE_SET;
        sc.key = swing_bytes_of("k\xff", 2);
        sc.value = swing_str("v");
        assert_int_equal(vp_channel_syscall(io, &sc, NULL), SWING_ERR_VAT);
        return SWING_OK;
    }
    if (is(d, "flood")) { /* 70 MiB of vatstore writes: more than a transcript item holds */
        static char big[1u << 20];
        vp_syscall sc;
        memset(big, 'x', sizeof big);
        for (int i = 0; i < 70; i++) {
            char key[16];
            snprintf(key, sizeof key, "big%d", i);
            memset(&sc, 0, sizeof sc);
            sc.type = VP_S_VATSTORE_SET;
            sc.key = swing_str(key);
            sc.value = swing_bytes_of(big, sizeof big);
            assert_int_equal(vp_channel_syscall(io, &sc, NULL), SWING_OK);
        }
        return SWING_OK;
    }
    if (is(d, "fail")) {
        r->ok = false;
        snprintf(r->message, sizeof r->message, "raw failure");
        return SWING_OK;
    }
    if (is(d, "quit")) return exit_with(io, false, "#\"bye\"");
    if (is(d, "crash")) return exit_with(io, true, "#\"oops\"");
    if (d->type == VP_D_MESSAGE && d->result) return tv_resolve(io, d->result, false, "#null", NULL, 0);
    return SWING_OK;
}

/* S: its startVat fails (a raw vat's buildRootObject). */
static swing_status s_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)u;
    (void)io;
    if (d->type == VP_D_START_VAT) {
        r->ok = false;
        snprintf(r->message, sizeof r->message, "no root");
    }
    return SWING_OK;
}

static swing_status quiet_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)u;
    (void)r;
    if (d->type == VP_D_MESSAGE && d->result) return tv_resolve(io, d->result, false, "#null", NULL, 0);
    return SWING_OK;
}

/* A v1, B v2, boot v3 (byte order of the names). */
static void setup(const char *b_extra)
{
    static kern_raw_vat vats[4];
    char config[512];
    memset(&W, 0, sizeof W);
    vats[0] = (kern_raw_vat){"A", quiet_vat, &W};
    vats[1] = (kern_raw_vat){"B", b_vat, &W};
    vats[2] = (kern_raw_vat){"boot", quiet_vat, &W};
    vats[3] = (kern_raw_vat){"S", s_vat, &W};
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vats\":{\"A\":{\"source\":\"raw:A\"},\"B\":{\"source\":\"raw:B\"%s},"
             "\"boot\":{\"source\":\"raw:boot\"}}}",
             b_extra ? b_extra : "");
    tk_open(&W.t, vats, 4, config);
    tk_run(&W.t);
}

static void send(const char *vat, const char *method, char kpid[24])
{
    swing_err e;
    if (kern_queue_to_vat(W.t.k, vat, method, "[]", kpid, &e)) fail_msg("%s.%s: %s", vat, method, e.msg);
}

/* The promise must be rejected with #{"#error":msg,"name":"Error"} (msg JSON-quoted). */
static void expect_rejected(const char *kpid, const char *msg)
{
    kern_promise_state st;
    swing_buf body = {0};
    char want[512], *quoted;
    json_t *j = json_string(msg);
    swing_err e;
    if (kern_promise_status(W.t.k, kpid, &st, &body, &e)) fail_msg("status: %s", e.msg);
    assert_int_equal(st, KERN_PROMISE_REJECTED);
    quoted = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    assert_non_null(quoted);
    snprintf(want, sizeof want, "#{\"#error\":%s,\"name\":\"Error\"}", quoted);
    free(quoted);
    if (body.len != strlen(want) || memcmp(body.ptr, want, body.len) != 0)
        fail_msg("rejection %.*s, expected %s", (int)body.len, (const char *)body.ptr, want);
    swing_buf_free(&body);
}

/* The vat's record, and the log since the last call, hold exactly this. */
static void expect_record(const char *name, const char *id, kern_term_kind kind, const char *reason)
{
    kern_termination t;
    bool found;
    swing_err e;
    if (kern_vat_termination(W.t.k, name, &t, &found, &e)) fail_msg("record: %s", e.msg);
    assert_true(found);
    assert_string_equal(t.name, name);
    assert_string_equal(t.vat_id, id);
    assert_int_equal(t.kind, kind);
    assert_string_equal(t.reason, reason);
}

static void expect_log(const char *name, kern_term_kind kind, const char *reason)
{
    kern_termination *list;
    size_t n;
    swing_err e;
    if (kern_terminations_take(W.t.k, &list, &n, &e)) fail_msg("take: %s", e.msg);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, name);
    assert_int_equal(list[0].kind, kind);
    assert_string_equal(list[0].reason, reason);
    swing_mfree(list);
}

/* The entry of name in the vat list. */
static kern_vat_info listed(const char *name)
{
    kern_vat_info *list, out;
    size_t n;
    swing_err e;
    if (kern_vats_list(W.t.k, &list, &n, &e)) fail_msg("list: %s", e.msg);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].t.name, name) == 0) {
            out = list[i];
            swing_mfree(list);
            return out;
        }
    }
    fail_msg("%s is not listed", name);
    return out;
}

static void test_termination_illegal_syscall_reason_everywhere(void **state)
{
    const char *why = "illegal syscall: vat v2: unknown vref: o-99";
    const char *msg = "vat B (v2) terminated: illegal syscall: vat v2: unknown vref: o-99";
    char kept[24], failed[24], behind[24];
    kern_vat_info v;
    swing_err e;
    (void)state;
    setup(NULL);
    send("B", "keep", kept);
    tk_run(&W.t);
    send("B", "boom", failed);
    send("B", "later", behind);
    tk_run(&W.t);
    expect_rejected(kept, msg);   /* decided by B */
    expect_rejected(failed, msg); /* the message that failed */
    expect_rejected(behind, msg); /* queued to B */
    expect_record("B", "v2", KERN_TERM_ILLEGAL_SYSCALL, why);
    expect_log("B", KERN_TERM_ILLEGAL_SYSCALL, why);
    v = listed("B");
    assert_true(v.terminated);
    assert_false(v.deleted);
    assert_int_equal(v.t.kind, KERN_TERM_ILLEGAL_SYSCALL);
    assert_false(listed("A").terminated);
    assert_int_equal(listed("A").t.kind, KERN_TERM_NONE);
    /* Refused while its state is there, and after it is gone. */
    assert_int_equal(kern_queue_to_vat(W.t.k, "B", "x", "[]", kept, &e), SWING_ERR_USER);
    assert_string_equal(e.msg, msg);
    tk_settle(&W.t, 20);
    assert_null(tk_get(&W.t, "vat.name.B"));
    v = listed("B");
    assert_true(v.terminated && v.deleted);
    assert_string_equal(v.t.reason, why);
    /* Regression (2026-12-02, failures-visible issue): this said "no vat named B". */
    assert_int_equal(kern_queue_to_vat(W.t.k, "B", "x", "[]", kept, &e), SWING_ERR_USER);
    assert_string_equal(e.msg, msg);
    assert_int_equal(kern_bring_out_your_dead(W.t.k, "B", 0, &e), SWING_ERR_USER);
    assert_non_null(strstr(e.msg, "terminated"));
    assert_int_equal(kern_queue_to_vat(W.t.k, "nobody", "x", "[]", kept, &e), SWING_ERR_INVALID);
    assert_string_equal(e.msg, "no vat named nobody");
    tk_close(&W.t);
}

/* Vatstore keys reach hosts as protobuf strings: one that is not UTF-8
 * text is an illegal syscall, never stored. */
static void test_termination_vatstore_key_not_text(void **state)
{
    char kpid[24];
    (void)state;
    setup(NULL);
    send("B", "badkey", kpid);
    tk_run(&W.t);
    expect_record("B", "v2", KERN_TERM_ILLEGAL_SYSCALL, "illegal syscall: vat v2: vatstore key is not UTF-8 text");
    assert_null(tk_get(&W.t, "v2.vs.k\xff"));
    tk_close(&W.t);
}

/* A delivery whose transcript item would pass the store's limit fails
 * the vat, never the kernel: the crank rolls back, the rest goes on. */
static void test_termination_transcript_item_too_large(void **state)
{
    char kpid[24];
    (void)state;
    setup(",\"useTranscript\":true");
    send("B", "flood", kpid);
    tk_run(&W.t);
    expect_record("B", "v2", KERN_TERM_DELIVERY_FAILED, "transcript item too large: the delivery did too much");
    assert_null(tk_get(&W.t, "v2.vs.big0")); /* rolled back */
    send("A", "ping", kpid);                 /* the kernel goes on */
    tk_run(&W.t);
    tk_close(&W.t);
}

static void test_termination_by_the_host(void **state)
{
    const char *msg = "vat B (v2) terminated by the host: retired";
    char pending[24], vat[24];
    kern_vat_info v;
    swing_err e;
    (void)state;
    setup(NULL);
    send("B", "later", pending);
    TL_OK(kern_terminate_vat(W.t.k, "B", "retired", &e));
    tk_run(&W.t);
    expect_rejected(pending, msg);
    expect_record("B", "v2", KERN_TERM_HOST, "retired");
    expect_log("B", KERN_TERM_HOST, "retired");
    /* The first reason stays: terminating again changes nothing. */
    TL_OK(kern_terminate_vat(W.t.k, "B", "again", &e));
    expect_record("B", "v2", KERN_TERM_HOST, "retired");
    tk_settle(&W.t, 20);
    TL_OK(kern_terminate_vat(W.t.k, "B", "and again", &e));
    expect_record("B", "v2", KERN_TERM_HOST, "retired");
    assert_int_equal(kern_terminate_vat(W.t.k, "nobody", "x", &e), SWING_ERR_INVALID);
    /* A new vat takes the name: the old record goes. */
    TL_OK(kern_create_vat(W.t.k, "B", "{\"source\":\"raw:B\"}", NULL, vat, &e));
    assert_string_equal(vat, "v4");
    assert_null(tk_get(&W.t, "vat.terminated.B"));
    tk_run(&W.t);
    v = listed("B");
    assert_false(v.terminated);
    assert_string_equal(v.t.vat_id, "v4");
    /* No reason: the host's default. */
    TL_OK(kern_terminate_vat(W.t.k, "A", NULL, &e));
    expect_record("A", "v1", KERN_TERM_HOST, "terminated by the host");
    tk_close(&W.t);
}

static void test_termination_failed_delivery_and_exits(void **state)
{
    static const struct {
        const char *method;
        kern_term_kind kind;
        const char *reason;
    } cases[] = {
        {"fail", KERN_TERM_DELIVERY_FAILED, "raw failure"},
        {"quit", KERN_TERM_EXIT, "exited: #\"bye\""},
        {"crash", KERN_TERM_EXIT_FAILURE, "exited with failure: #\"oops\""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char kp[24], msg[160];
        setup(NULL);
        send("B", cases[i].method, kp);
        tk_run(&W.t);
        snprintf(msg, sizeof msg, "vat B (v2) terminated: %s", cases[i].reason);
        /* A clean exit keeps the crank, so the message B took is left unanswered:
         * its promise has B as decider and rejects too. */
        expect_rejected(kp, msg);
        expect_record("B", "v2", cases[i].kind, cases[i].reason);
        expect_log("B", cases[i].kind, cases[i].reason);
        tk_close(&W.t);
    }
}

static void test_termination_failed_start(void **state)
{
    const char *msg = "vat S (v4) terminated: buildRootObject failed: no root";
    char vat[24], kp[24];
    swing_err e;
    (void)state;
    setup(NULL);
    TL_OK(kern_create_vat(W.t.k, "S", "{\"source\":\"raw:S\"}", NULL, vat, &e));
    send("S", "hello", kp); /* queued behind its startVat */
    tk_run(&W.t);
    expect_rejected(kp, msg);
    expect_record("S", "v4", KERN_TERM_START_FAILED, "buildRootObject failed: no root");
    expect_log("S", KERN_TERM_START_FAILED, "buildRootObject failed: no root");
    tk_close(&W.t);
}

/* Regression (2026-12-02, failures-visible issue): a vat that failed in a
 * clean-up crank (here its BOYD) was terminated without the host hearing of
 * it (EndBlockResponse.vats_failed counted normal work only). */
static void test_termination_in_a_cleanup_crank_is_logged(void **state)
{
    const kern_budget b = {.gc_krefs = 0, .boyds = 10, .units = 0};
    kern_work_report r;
    char kp[24];
    swing_err e;
    (void)state;
    setup(NULL);
    send("B", "hello", kp); /* B is dirty */
    tk_run(&W.t);
    W.fail_boyd = true;
    TL_OK(kern_cleanup(W.t.k, &b, &r, &e));
    assert_true(r.cleanup.boyds > 0);
    expect_record("B", "v2", KERN_TERM_DELIVERY_FAILED, "boyd broke");
    expect_log("B", KERN_TERM_DELIVERY_FAILED, "boyd broke");
    tk_close(&W.t);
}

static void test_termination_reason_is_clipped_utf8(void **state)
{
    char longer[260], want[210];
    kern_termination t;
    bool found;
    swing_err e;
    (void)state;
    setup(NULL);
    /* Control characters become spaces, invalid bytes '?' (a lone lead byte at the end too). */
    TL_OK(kern_terminate_vat(W.t.k, "A", "line1\nline2\ttab\xff\xc3", &e));
    expect_record("A", "v1", KERN_TERM_HOST, "line1 line2 tab??");
    /* 199 bytes, then a 3-byte character across byte 200: cut before it. */
    memset(longer, 'a', 199);
    strcpy(longer + 199, "\xe2\x82\xac and more");
    memset(want, 'a', 199);
    want[199] = '\0';
    TL_OK(kern_terminate_vat(W.t.k, "B", longer, &e));
    TL_OK(kern_vat_termination(W.t.k, "B", &t, &found, &e));
    assert_true(found);
    assert_int_equal(strlen(t.reason), 199);
    assert_string_equal(t.reason, want);
    /* Well-formed multi-byte text passes unchanged. */
    TL_OK(kern_terminate_vat(W.t.k, "boot", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", &e));
    expect_record("boot", "v3", KERN_TERM_HOST, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    {
        char *rec = tk_get(&W.t, "vat.terminated.boot");
        assert_string_equal(rec, "{\"id\":\"v3\",\"kind\":\"host\",\"reason\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
        free(rec);
    }
    tk_close(&W.t);
}

static void test_termination_of_a_critical_vat_leaves_no_record(void **state)
{
    kern_termination *list;
    char kp[24];
    size_t n;
    swing_err e;
    (void)state;
    setup(",\"critical\":true");
    send("B", "boom", kp);
    assert_int_equal(kern_run(W.t.k, NULL, NULL, NULL, &e), SWING_ERR_PANIC);
    assert_null(tk_get(&W.t, "vat.terminated.B"));
    TL_OK(kern_terminations_take(W.t.k, &list, &n, &e));
    assert_int_equal(n, 0);
    assert_null(list);
    tk_close(&W.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_termination_illegal_syscall_reason_everywhere),
        cmocka_unit_test(test_termination_vatstore_key_not_text),
        cmocka_unit_test(test_termination_transcript_item_too_large),
        cmocka_unit_test(test_termination_by_the_host),
        cmocka_unit_test(test_termination_failed_delivery_and_exits),
        cmocka_unit_test(test_termination_failed_start),
        cmocka_unit_test(test_termination_in_a_cleanup_crank_is_logged),
        cmocka_unit_test(test_termination_reason_is_clipped_utf8),
        cmocka_unit_test(test_termination_of_a_critical_vat_leaves_no_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
