/*
 * rules_test.c - the reference rules of kernel-gc.md §2, one test each:
 * import/export allocation and numbering, the refcount table, re-export
 * negating a pending drop, orphan retirement, queued messages moving on at
 * resolution, notify retiring resolved kpids transitively, pipelining,
 * splats, and vatParameters refcounts.
 *
 * Vats: A, B, boot (boot introduces A and B: each gets the other's root as
 * o-1). The host drives A with kern_queue_to_vat; A's and B's behaviour per
 * test is a function pointer in the shared world.
 */
#include "tests/lib/rawvat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct world world;
typedef swing_status (*behave_fn)(world *w, vp_channel *io, const vp_delivery *d);
struct world {
    tk t;
    behave_fn a, b;  /* per-test behaviour of A and B */
    int phase;       /* free for tests */
};
static world W;

static bool is(const vp_delivery *d, const char *method)
{
    char m[64];
    return d->type == VP_D_MESSAGE && strcmp(tv_method(d, m, sizeof m), method) == 0;
}

static swing_status boot_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)u;
    (void)r;
    if (!is(d, "bootstrap")) return SWING_OK;
    if (tv_send(io, d->methargs.slots[0], "#[\"meet\",[\"$0.Alleged: root\"]]", &d->methargs.slots[1], 1, NULL))
        return SWING_ERR_VAT;
    return tv_send(io, d->methargs.slots[1], "#[\"meet\",[\"$0.Alleged: root\"]]", &d->methargs.slots[0], 1, NULL);
}

static swing_status a_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    world *w = u;
    (void)r;
    tk_log_delivery(&w->t, io, d);
    /* Answer every host message so that its result promise can go away. */
    if (d->type == VP_D_MESSAGE && d->result && strncmp(d->result, "p-", 2) == 0 && !is(d, "keep")) {
        swing_status s = w->a ? w->a(w, io, d) : SWING_OK;
        if (s) return s;
        return tv_resolve(io, d->result, false, "#null", NULL, 0);
    }
    return w->a ? w->a(w, io, d) : SWING_OK;
}

static swing_status b_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    world *w = u;
    (void)r;
    tk_log_delivery(&w->t, io, d);
    return w->b ? w->b(w, io, d) : SWING_OK;
}

static const char *CONFIG3 =
    "{\"bootstrap\":\"boot\",\"gcBatch\":%u,\"vats\":{\"A\":{\"source\":\"raw:A\"},"
    "\"B\":{\"source\":\"raw:B\"%s},\"boot\":{\"source\":\"raw:boot\"}}}";

static void setup(behave_fn a, behave_fn b, unsigned gc_batch, const char *b_extra)
{
    static kern_raw_vat vats[3];
    char config[512];
    memset(&W, 0, sizeof W);
    W.a = a;
    W.b = b;
    vats[0] = (kern_raw_vat){"A", a_vat, &W};
    vats[1] = (kern_raw_vat){"B", b_vat, &W};
    vats[2] = (kern_raw_vat){"boot", boot_vat, &W};
    snprintf(config, sizeof config, CONFIG3, gc_batch, b_extra ? b_extra : "");
    tk_open(&W.t, vats, 3, config);
    tk_run(&W.t);
}

/* Host sends method to A and runs to quiescence. */
static void host(const char *method)
{
    char kpid[24];
    swing_err e;
    if (kern_queue_to_vat(W.t.k, "A", method, "[]", kpid, &e)) fail_msg("host %s: %s", method, e.msg);
    tk_run(&W.t);
    if (kern_release(W.t.k, kpid, &e)) fail_msg("release: %s", e.msg);
    tk_run(&W.t);
}

static void expect_kv(const char *key, const char *want)
{
    char *v = tk_get(&W.t, key);
    if (!want) {
        if (v) fail_msg("%s = \"%s\", expected absent", key, v);
        return;
    }
    if (!v) fail_msg("%s absent, expected \"%s\"", key, want);
    if (strcmp(v, want) != 0) fail_msg("%s = \"%s\", expected \"%s\"", key, v, want);
    free(v);
}

/* ---- allocation and numbering ---- */

static swing_status alloc_a(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *two[] = {"o+5", "o+6"}, *one[] = {"o+6"};
    (void)w;
    if (is(d, "go")) {
        swing_status s = tv_send(io, "o-1", "#[\"take\",[\"$0.Alleged: x\",\"$1.Alleged: y\"]]", two, 2, NULL);
        return s ? s : tv_send(io, "o-1", "#[\"again\",[\"$0.Alleged: y\"]]", one, 1, NULL);
    }
    return SWING_OK;
}

static swing_status alloc_b(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (is(d, "take")) return tv_send(io, "o-1", "#[\"back\",[\"$0.Alleged: x\"]]", d->methargs.slots, 1, NULL);
    return SWING_OK;
}

static void test_rules_import_export_numbering(void **state)
{
    (void)state;
    setup(alloc_a, alloc_b, 500, NULL);
    host("go");
    /* roots are ko1 (A), ko2 (B), ko3 (boot); A's exports become ko4, ko5 */
    tk_expect_line(&W.t, "v2 message o+0 #[\"take\",[\"$0.Alleged: x\",\"$1.Alleged: y\"]] [o-2,o-3] result=none");
    tk_expect_line(&W.t, "v2 message o+0 #[\"again\",[\"$0.Alleged: y\"]] [o-3] result=none");
    tk_expect_line(&W.t, "v1 message o+0 #[\"back\",[\"$0.Alleged: x\"]] [o+5] result=none");
    expect_kv("v1.c.ko4", "R o+5");
    expect_kv("v1.c.o+5", "ko4");
    expect_kv("v2.c.ko4", "R o-2");
    expect_kv("v2.c.o-2", "ko4");
    expect_kv("v2.c.ko5", "R o-3");
    expect_kv("ko4.owner", "v1");
    expect_kv("ko4.refCount", "1,1"); /* B's import only; A's export counts nothing */
    expect_kv("v2.o.nextID", "4");
    tk_close(&W.t);
}

/* ---- refcount table, step by step ---- */

static swing_status rc_a(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *one[] = {"o+5"};
    (void)w;
    if (is(d, "go")) return tv_send(io, "o-1", "#[\"take\",[\"$0.Alleged: x\"]]", one, 1, NULL);
    return SWING_OK;
}

static swing_status rc_b(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *o2[] = {"o-2"};
    if (is(d, "take")) {
        /* A promise whose resolution data names the import. */
        swing_status s = tv_resolve(io, "p+9", false, "#\"$0.Alleged: x\"", o2, 1);
        if (s) return s;
        w->phase = 1;
    }
    if (is(d, "drop")) return tv_gc(io, VP_S_DROP_IMPORTS, o2, 1);
    if (is(d, "retire")) return tv_gc(io, VP_S_RETIRE_IMPORTS, o2, 1);
    return SWING_OK;
}

static void step_until_delivered(const char *line)
{
    for (int i = 0; i < 100; i++) {
        kern_crank_info info;
        bool did;
        swing_err e;
        size_t n = strlen(line);
        for (const char *p = W.t.log; (p = strstr(p, line)) != NULL; p++)
            if (p[n] == '\n') return;
        if (kern_step(W.t.k, &info, &did, &e)) fail_msg("step: %s", e.msg);
        if (!did) break;
    }
    fail_msg("never delivered: %s", line);
}

static void send_b(const char *method)
{
    char kpid[24];
    swing_err e;
    if (kern_queue_to_vat(W.t.k, "B", method, "[]", kpid, &e)) fail_msg("%s", e.msg);
    tk_run(&W.t);
}

static void test_rules_refcount_table(void **state)
{
    char kpid[24];
    swing_err e;
    (void)state;
    setup(rc_a, rc_b, 500, NULL);
    if (kern_queue_to_vat(W.t.k, "A", "go", "[]", kpid, &e)) fail_msg("%s", e.msg);
    step_until_delivered("v1 message o+0 #[\"go\",[]] [] result=p-1");
    /* Queued send (acceptance queue): target no, arg slot +1,+1; export 0. */
    expect_kv("ko4.refCount", "1,1");
    step_until_delivered("v2 message o+0 #[\"take\",[\"$0.Alleged: x\"]] [o-2] result=none");
    /* Delivered: the queue's hold is gone, B's R import and the promise
     * data (kp resolution by B) hold it. */
    expect_kv("ko4.refCount", "2,2");
    tk_run(&W.t);
    /* p+9 was never subscribed to: it has no holder once B forgot it, and GC
     * released its data: only B's import remains. */
    expect_kv("ko4.refCount", "1,1");
    send_b("drop");
    expect_kv("ko4.refCount", "0,1");
    expect_kv("v2.c.ko4", "_ o-2");
    tk_expect_line(&W.t, "v1 dropExports [o+5]");
    expect_kv("v1.c.ko4", "_ o+5");
    send_b("retire");
    tk_expect_line(&W.t, "v1 retireExports [o+5]");
    expect_kv("ko4.refCount", NULL);
    expect_kv("v1.c.ko4", NULL);
    expect_kv("v2.c.ko4", NULL);
    tk_close(&W.t);
}

/* ---- re-export negates a pending drop ---- */

static swing_status neg_a(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *two[] = {"o+5", "o+6"}, *six[] = {"o+6"};
    if (is(d, "go")) return tv_send(io, "o-1", "#[\"take\",[\"$0.Alleged: x\",\"$1.Alleged: y\"]]", two, 2, NULL);
    /* The first dropExports (batch of one) makes A send o+6 again. */
    if (d->type == VP_D_DROP_EXPORTS && w->phase++ == 0)
        return tv_send(io, "o-1", "#[\"again\",[\"$0.Alleged: y\"]]", six, 1, NULL);
    return SWING_OK;
}

static swing_status neg_b(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (is(d, "take")) return tv_gc(io, VP_S_DROP_IMPORTS, d->methargs.slots, 2);
    return SWING_OK;
}

static void test_rules_reexport_negates_pending_drop(void **state)
{
    (void)state;
    setup(neg_a, neg_b, 1, NULL);
    host("go");
    tk_expect_line(&W.t, "v1 dropExports [o+5]");
    tk_expect_line(&W.t, "v2 message o+0 #[\"again\",[\"$0.Alleged: y\"]] [o-3] result=none");
    tk_expect_no_line(&W.t, "v1 dropExports [o+6]"); /* negated: reachable again */
    expect_kv("ko5.refCount", "1,1");
    expect_kv("v2.c.ko5", "R o-3");
    expect_kv("v1.c.ko5", "R o+6");
    tk_close(&W.t);
}

/* ---- orphans: abandonExports, splat, retirement ---- */

static swing_status orph_a(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *one[] = {"o+5"};
    (void)w;
    if (is(d, "go")) {
        swing_status s = tv_send(io, "o-1", "#[\"take\",[\"$0.Alleged: x\"]]", one, 1, NULL);
        return s ? s : tv_gc(io, VP_S_ABANDON_EXPORTS, one, 1);
    }
    return SWING_OK;
}

static swing_status orph_b(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *o2[] = {"o-2"};
    (void)w;
    if (is(d, "take")) {
        swing_status s = tv_send(io, "o-2", "#[\"poke\",[]]", NULL, 0, "p+1");
        return s ? s : tv_subscribe(io, "p+1");
    }
    if (is(d, "drop")) return tv_gc(io, VP_S_DROP_IMPORTS, o2, 1);
    return SWING_OK;
}

static void test_rules_orphan_splats_then_retires(void **state)
{
    (void)state;
    setup(orph_a, orph_b, 500, NULL);
    host("go");
    expect_kv("ko4.owner", NULL); /* orphaned, still known */
    expect_kv("v1.c.ko4", NULL);
    tk_expect_line(&W.t, "v2 notify p+1 rejected #{\"#error\":\"vat terminated\",\"name\":\"Error\"} []");
    send_b("drop");
    /* Unreachable orphan, still recognizable by B: B retires, object goes. */
    tk_expect_line(&W.t, "v2 retireImports [o-2]");
    expect_kv("ko4.refCount", NULL);
    expect_kv("v2.c.ko4", NULL);
    expect_kv("v2.c.o-2", NULL);
    tk_close(&W.t);
}

/* ---- messages queued on a promise move on at resolution ---- */

static swing_status q_a(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (is(d, "go")) {
        swing_status s = tv_send(io, "o-1", "#[\"make\",[]]", NULL, 0, "p+1");
        return s ? s : tv_send(io, "p+1", "#[\"hello\",[]]", NULL, 0, "p+2");
    }
    return SWING_OK;
}

static swing_status q_b(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *seven[] = {"o+7"};
    (void)w;
    if (is(d, "make")) return tv_resolve(io, d->result, false, "#\"$0.Alleged: made\"", seven, 1);
    if (is(d, "hello")) return tv_resolve(io, d->result, false, "#\"hi\"", NULL, 0);
    return SWING_OK;
}

static void test_rules_queued_messages_follow_resolution(void **state)
{
    (void)state;
    setup(q_a, q_b, 500, NULL);
    host("go");
    tk_expect_line(&W.t, "v2 message o+0 #[\"make\",[]] [] result=p-1");
    tk_expect_line(&W.t, "v2 message o+7 #[\"hello\",[]] [] result=p-2");
    tk_close(&W.t);
}

/* ---- pipelining: a pipelining decider gets messages before resolving ---- */

static swing_status pl_b(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    /* "make" stays unresolved; "hello" arrives through its result promise. */
    if (is(d, "hello")) return tv_resolve(io, d->result, false, "#\"hi\"", NULL, 0);
    return SWING_OK;
}

static void test_rules_pipelining_delivers_to_decider(void **state)
{
    (void)state;
    setup(q_a, pl_b, 500, ",\"enablePipelining\":true");
    host("go");
    tk_expect_line(&W.t, "v2 message o+0 #[\"make\",[]] [] result=p-1");
    /* Delivered to B through its own result promise, before it resolved. */
    tk_expect_line(&W.t, "v2 message p-1 #[\"hello\",[]] [] result=p-2");
    tk_expect_no_line(&W.t, "v2 message o+7 #[\"hello\",[]] [] result=p-2");
    tk_close(&W.t);
}

/* ---- notify retires resolved kpids transitively ---- */

static swing_status n_a(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (is(d, "go")) {
        swing_status s = tv_send(io, "o-1", "#[\"make\",[]]", NULL, 0, "p+1");
        return s ? s : tv_subscribe(io, "p+1");
    }
    return SWING_OK;
}

static swing_status n_b(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *inner[] = {"p+4"};
    vp_resolution r[2];
    vp_syscall sc;
    (void)w;
    if (!is(d, "make")) return SWING_OK;
    /* One batch: the result resolves to data naming p+4, which resolves too. */
    memset(&sc, 0, sizeof sc);
    memset(r, 0, sizeof r);
    r[0].vpid = d->result;
    r[0].data = (vp_capdata){"#[\"&0\"]", inner, 1};
    r[1].vpid = "p+4";
    r[1].data = (vp_capdata){"#\"inner\"", NULL, 0};
    sc.type = VP_S_RESOLVE;
    sc.resolutions = r;
    sc.nresolutions = 2;
    return vp_channel_syscall(io, &sc, NULL);
}

static void test_rules_notify_retires_transitively(void **state)
{
    (void)state;
    setup(n_a, n_b, 500, NULL);
    host("go");
    tk_expect_line(&W.t, "v1 notify p+1 fulfilled #[\"&0\"] [p-2]");
    tk_expect_line(&W.t, "v1 notify p-2 fulfilled #\"inner\" []");
    /* A forgot both; with no holders left both promises are gone. */
    assert_int_equal(tk_count(&W.t, "v1.c.p"), 0);
    assert_int_equal(tk_count(&W.t, "v2.c.p"), 0);
    /* Only kp.nextID and the (held, unresolved) bootstrap result remain. */
    assert_int_equal(tk_count(&W.t, "kp"), 1 + tk_count(&W.t, "kp1."));
    tk_close(&W.t);
}

/* ---- splat: data is not callable ---- */

static swing_status s_a(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (is(d, "go")) {
        swing_status s = tv_send(io, "o-1", "#[\"data\",[]]", NULL, 0, "p+1");
        if (!s) s = tv_send(io, "p+1", "#[\"frob\",[]]", NULL, 0, "p+2");
        return s ? s : tv_subscribe(io, "p+2");
    }
    return SWING_OK;
}

static swing_status s_b(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (is(d, "data")) return tv_resolve(io, d->result, false, "#42", NULL, 0);
    return SWING_OK;
}

static void test_rules_splat_not_callable(void **state)
{
    (void)state;
    setup(s_a, s_b, 500, NULL);
    host("go");
    tk_expect_line(&W.t, "v1 notify p+2 rejected #{\"#error\":\"data is not callable, has no method frob\",\"name\":\"Error\"} []");
    tk_close(&W.t);
}

/* ---- vatstore: the next key, with and without a bound ---- */

static void vs(vp_channel *io, vp_stype type, const char *key, const char *value, vp_syscall_result *res)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = type;
    sc.key = swing_str(key);
    if (value) sc.value = swing_str(value);
    if (res) memset(res, 0, sizeof *res);
    assert_int_equal(vp_channel_syscall(io, &sc, res), SWING_OK);
}

static void expect_next(vp_channel *io, const char *key, const char *bound, const char *want)
{
    vp_syscall_result res;
    vs(io, VP_S_VATSTORE_NEXT, key, bound, &res);
    if (!want) {
        assert_false(res.found);
    } else {
        assert_true(res.found);
        assert_int_equal(res.value.len, strlen(want));
        assert_memory_equal(res.value.ptr, want, res.value.len);
    }
    swing_buf_free(&res.value);
}

static swing_status next_a(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (!is(d, "go")) return SWING_OK;
    vs(io, VP_S_VATSTORE_SET, "a.1", "x", NULL);
    vs(io, VP_S_VATSTORE_SET, "a.2", "x", NULL);
    vs(io, VP_S_VATSTORE_SET, "b.1", "x", NULL);
    vs(io, VP_S_VATSTORE_DELETE, "a.2", NULL, NULL);
    expect_next(io, "a.", NULL, "a.1");
    expect_next(io, "a.1", NULL, "b.1");   /* on past the prefix */
    expect_next(io, "a.1", "a.", NULL);    /* bounded: nothing left under a. */
    expect_next(io, "a.", "a.", "a.1");
    expect_next(io, "a", "b.", "b.1");     /* the first key under the bound after key */
    expect_next(io, "b.1", NULL, NULL);    /* not past the vat's own keys */
    return SWING_OK;
}

static swing_status idle(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    (void)io;
    (void)d;
    return SWING_OK;
}

static void test_rules_vatstore_next_with_bound(void **state)
{
    (void)state;
    setup(next_a, idle, 500, NULL);
    host("go");
    expect_kv("v1.vs.a.1", "x");
    tk_close(&W.t);
}

/* ---- vat-fatal: rollback leaves no trace, the rest goes on ---- */

static swing_status f_a(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    if (is(d, "go")) {
        swing_status s = tv_send(io, "o-1", "#[\"boom\",[]]", NULL, 0, "p+1");
        return s ? s : tv_subscribe(io, "p+1");
    }
    return SWING_OK;
}

static swing_status f_b(world *w, vp_channel *io, const vp_delivery *d)
{
    vp_syscall sc;
    swing_status s;
    (void)w;
    if (!is(d, "boom")) return SWING_OK;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_VATSTORE_SET;
    sc.key = swing_str("trace");
    sc.value = swing_str("should vanish");
    if ((s = vp_channel_syscall(io, &sc, NULL))) return s;
    if ((s = tv_send(io, "o-1", "#[\"noise\",[]]", NULL, 0, NULL))) return s;
    /* Illegal: an import B never received. */
    s = tv_send(io, "o-99", "#[\"x\",[]]", NULL, 0, NULL);
    assert_int_equal(s, SWING_ERR_VAT);
    return SWING_OK;
}

static void test_rules_vat_fatal_rolls_back(void **state)
{
    char kpid[24];
    swing_err e;
    (void)state;
    setup(f_a, f_b, 500, NULL);
    host("go");
    expect_kv("v2.vs.trace", NULL);
    expect_kv("v2.terminated", "1");
    tk_expect_no_line(&W.t, "v1 message o+0 #[\"noise\",[]] [] result=none");
    /* The splat names the vat and why it died. */
    tk_expect_line(&W.t, "v1 notify p+1 rejected #{\"#error\":\"vat B (v2) terminated: illegal syscall: vat v2: "
                         "unknown vref: o-99\",\"name\":\"Error\"} []");
    /* The kernel and A go on; B is gone for the host. */
    host("go2");
    tk_expect_line(&W.t, "v1 message o+0 #[\"go2\",[]] [] result=p-2");
    assert_int_equal(kern_queue_to_vat(W.t.k, "B", "x", "[]", kpid, &e), SWING_ERR_USER);
    tk_close(&W.t);
}

static void test_rules_critical_vat_failure_panics(void **state)
{
    kern_crank_info info;
    bool did;
    swing_err e;
    char kpid[24];
    (void)state;
    setup(f_a, f_b, 500, ",\"critical\":true");
    if (kern_queue_to_vat(W.t.k, "A", "go", "[]", kpid, &e)) fail_msg("%s", e.msg);
    assert_int_equal(kern_run(W.t.k, NULL, NULL, NULL, &e), SWING_ERR_PANIC);
    assert_non_null(strstr(e.msg, "critical vat v2"));
    /* Sticky: every later call reports it; nothing was committed. */
    assert_int_equal(kern_step(W.t.k, &info, &did, &e), SWING_ERR_PANIC);
    tk_close(&W.t);
}

/* ---- vatParameters are retained with refcounts ---- */

static void test_rules_vat_parameters_refcounts(void **state)
{
    static const char *slots[] = {"ko1"};
    vp_capdata params = {"#{\"peer\":\"$0.Alleged: root\"}", slots, 1};
    char vat[24];
    swing_err e;
    (void)state;
    setup(NULL, NULL, 500, NULL);
    expect_kv("ko1.refCount", "3,3"); /* kernel hold on A's root + imports by B and boot */
    if (kern_create_vat(W.t.k, "C", "{\"source\":\"raw:B\"}", &params, vat, &e)) fail_msg("%s", e.msg);
    assert_string_equal(vat, "v4");
    expect_kv("v4.vatParameters", "{\"body\":\"#{\\\"peer\\\":\\\"$0.Alleged: root\\\"}\",\"slots\":[\"ko1\"]}");
    expect_kv("ko1.refCount", "4,4"); /* + retained vatParameters */
    tk_run(&W.t);
    tk_expect_line(&W.t, "v4 startVat #{\"peer\":\"$0.Alleged: root\"} [o-1]");
    expect_kv("ko1.refCount", "5,5"); /* + C's import */
    assert_int_equal(kern_create_vat(W.t.k, "D", "{\"source\":\"raw:B\"}",
                                     &(vp_capdata){"#null", (const char *const[]){"ko99"}, 1}, vat, &e),
                     SWING_ERR_INVALID);
    tk_close(&W.t);
}

/* ---- bringOutYourDead: delivered from the reap queue, GC follows ---- */

static swing_status boyd_b(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *o2[] = {"o-2"};
    swing_status s;
    (void)w;
    if (d->type != VP_D_BRING_OUT_YOUR_DEAD) return SWING_OK;
    if ((s = tv_gc(io, VP_S_DROP_IMPORTS, o2, 1))) return s;
    return tv_gc(io, VP_S_RETIRE_IMPORTS, o2, 1);
}

static void test_rules_boyd_then_gc(void **state)
{
    swing_err e;
    (void)state;
    setup(rc_a, boyd_b, 500, NULL);
    host("go");
    expect_kv("ko4.refCount", "1,1");
    if (kern_bring_out_your_dead(W.t.k, "B", 10, &e)) fail_msg("%s", e.msg);
    tk_run(&W.t);
    tk_expect_line(&W.t, "v2 bringOutYourDead budget=10");
    tk_expect_line(&W.t, "v1 dropExports [o+5]");
    tk_expect_line(&W.t, "v1 retireExports [o+5]");
    expect_kv("ko4.refCount", NULL);
    assert_int_equal(kern_bring_out_your_dead(W.t.k, "nobody", 1, &e), SWING_ERR_INVALID);
    tk_close(&W.t);
}

/* ---- changeVatOptions ---- */

static void test_rules_change_vat_options(void **state)
{
    swing_err e;
    (void)state;
    setup(NULL, NULL, 500, NULL);
    if (kern_change_vat_options(W.t.k, "B", "{\"reapDirtThreshold\":{\"deliveries\":5},\"mine\":1}", &e))
        fail_msg("%s", e.msg);
    tk_run(&W.t);
    tk_expect_line(&W.t, "v2 changeVatOptions {\"mine\":1,\"reapDirtThreshold\":{\"deliveries\":5}}");
    expect_kv("v2.options", "{\"critical\":false,\"enablePipelining\":false,\"name\":\"B\","
                            "\"reapDirtThreshold\":{\"deliveries\":5}}");
    assert_int_equal(kern_change_vat_options(W.t.k, "B", "{\"critical\":3}", &e), SWING_ERR_INVALID);
    assert_int_equal(kern_change_vat_options(W.t.k, "B", "[]", &e), SWING_ERR_INVALID);
    tk_close(&W.t);
}

/* ---- exit: clean exit keeps the crank, failure exit rolls it back ---- */

/* Writes vs.last, then exits (as a failure for "crash"); with `late`, also
 * tries a syscall after the exit. */
static swing_status write_and_exit(vp_channel *io, const vp_delivery *d, bool late)
{
    vp_syscall sc;
    swing_status s;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_VATSTORE_SET;
    sc.key = swing_str("last");
    sc.value = swing_str("words");
    if ((s = vp_channel_syscall(io, &sc, NULL))) return s;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_EXIT;
    sc.failure = is(d, "crash");
    sc.info = (vp_capdata){"#\"bye\"", NULL, 0};
    if ((s = vp_channel_syscall(io, &sc, NULL)) || !late) return s;
    assert_int_equal(tv_send(io, "o-1", "#[\"late\",[]]", NULL, 0, NULL), SWING_ERR_VAT);
    return SWING_OK;
}

static swing_status exit_b(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    return is(d, "quit") || is(d, "crash") ? write_and_exit(io, d, true) : SWING_OK;
}

static void test_rules_exit(void **state)
{
    (void)state;
    setup(NULL, exit_b, 500, NULL);
    send_b("quit");
    expect_kv("v2.terminated", "1");
    expect_kv("v2.vs.last", NULL); /* a syscall after exit dooms the delivery */
    tk_close(&W.t);
    setup(NULL, exit_b, 500, NULL);
    send_b("crash");
    expect_kv("v2.terminated", "1");
    expect_kv("v2.vs.last", NULL);
    tk_close(&W.t);
}

static swing_status clean_exit_b(world *w, vp_channel *io, const vp_delivery *d)
{
    (void)w;
    return is(d, "quit") ? write_and_exit(io, d, false) : SWING_OK;
}

static void test_rules_clean_exit_keeps_the_crank(void **state)
{
    (void)state;
    setup(NULL, clean_exit_b, 500, NULL);
    send_b("quit");
    expect_kv("v2.terminated", "1");
    expect_kv("v2.vs.last", "words");
    tk_close(&W.t);
}

/* ---- a GC syscall naming the same vref twice ---- */

static swing_status dup_b(world *w, vp_channel *io, const vp_delivery *d)
{
    static const char *twice[] = {"o-2", "o-2"};
    (void)w;
    if (is(d, "drop")) return tv_gc(io, VP_S_DROP_IMPORTS, twice, 2);
    if (is(d, "retire")) return tv_gc(io, VP_S_RETIRE_IMPORTS, twice, 2);
    return SWING_OK;
}

static void test_rules_duplicate_vrefs_count_once(void **state)
{
    (void)state;
    setup(rc_a, dup_b, 500, NULL);
    host("go");
    expect_kv("ko4.refCount", "1,1");
    send_b("drop");
    expect_kv("v2.terminated", NULL);
    tk_expect_line(&W.t, "v1 dropExports [o+5]");
    send_b("retire");
    expect_kv("v2.terminated", NULL);
    tk_expect_line(&W.t, "v1 retireExports [o+5]");
    expect_kv("ko4.refCount", NULL);
    tk_close(&W.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_import_export_numbering),
        cmocka_unit_test(test_rules_refcount_table),
        cmocka_unit_test(test_rules_reexport_negates_pending_drop),
        cmocka_unit_test(test_rules_orphan_splats_then_retires),
        cmocka_unit_test(test_rules_queued_messages_follow_resolution),
        cmocka_unit_test(test_rules_pipelining_delivers_to_decider),
        cmocka_unit_test(test_rules_notify_retires_transitively),
        cmocka_unit_test(test_rules_splat_not_callable),
        cmocka_unit_test(test_rules_vat_fatal_rolls_back),
        cmocka_unit_test(test_rules_vatstore_next_with_bound),
        cmocka_unit_test(test_rules_critical_vat_failure_panics),
        cmocka_unit_test(test_rules_vat_parameters_refcounts),
        cmocka_unit_test(test_rules_boyd_then_gc),
        cmocka_unit_test(test_rules_duplicate_vrefs_count_once),
        cmocka_unit_test(test_rules_change_vat_options),
        cmocka_unit_test(test_rules_exit),
        cmocka_unit_test(test_rules_clean_exit_keeps_the_crank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
