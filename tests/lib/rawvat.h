/*
 * rawvat.h - helpers for kernel tests: a kernel over a fresh store, a log
 * that raw test vats write their deliveries to, and one-line syscalls.
 * Tests only.
 */
#ifndef LIBSWING_TESTS_RAWVAT_H
#define LIBSWING_TESTS_RAWVAT_H

#include "kernel/kernel.h"
#include "tests/lib/syscalls.h"
#include "tests/lib/testlib.h"

typedef struct tk {
    char *dir;      /* store directory */
    store *st;
    kern *k;
    uint64_t height; /* last committed height */
    char log[65536]; /* deliveries, one line each */
    size_t loglen;
    uint64_t computrons;  /* sum over every crank run by tk_run */
    uint64_t meter_trace; /* order-sensitive fold of each crank's computrons */
    store_write_observer observer; /* set before tk_open to watch kv writes */
    void *observer_ctx;
    vp_runtime lua;  /* the runtime the kernel runs bundle vats with */
    char answer[4096];    /* tk_ask's last answer */
} tk;

/* Opens store + kernel with the given raw vats, and runs kern_init(config). */
void tk_open(tk *t, const kern_raw_vat *vats, size_t n, const char *config);
/* Opens the kernel over t->st with the raw vats and the Lua runtime (the
 * second half of tk_open; also to reopen after kern_close). */
void tk_kern_open(tk *t, const kern_raw_vat *vats, size_t n);
/* Runs to quiescence (asserting success), then commits a block. Each crank's
 * computrons are added to t->computrons and folded into t->meter_trace. */
void tk_run(tk *t);
void tk_close(tk *t);
/* Installs a Lua bundle from source; fails the test on error. */
void tk_install(tk *t, const char *src, char id[STORE_BUNDLE_ID_LEN + 1]);
/* Sends method(args, a JSON array) to vat's root, runs, and returns the
 * result body ("rejected " + body if rejected, "unresolved" if pending) in
 * t->answer, after releasing the promise and running again. */
const char *tk_ask(tk *t, const char *vat, const char *method, const char *args);
/* Runs and cleans up (unbounded budgets), committing a block each round,
 * until no work, dirty vat, GC work or terminated vat is left; asserts it
 * gets there within `rounds`. */
void tk_settle(tk *t, int rounds);

/* Appends a formatted line to the log. */
void tk_log(tk *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a description of a delivery: "<vat> <type> <details>". */
void tk_log_delivery(tk *t, const vp_channel *io, const vp_delivery *d);
/* Asserts the log contains line (exact substring match of a whole line). */
void tk_expect_line(tk *t, const char *line);
void tk_expect_no_line(tk *t, const char *line);

/* Reads a kv key (NULL if absent; caller frees with free()). */
char *tk_get(tk *t, const char *key);
/* Counts kv keys with the prefix. */
size_t tk_count(tk *t, const char *prefix);
/* Every key under prefix as "key=value" lines (caller frees with free()),
 * but the keys in skip (NULL-terminated; "*x" skips keys ending with x). */
char *tk_dump(tk *t, const char *prefix, const char *const *skip);

#endif /* LIBSWING_TESTS_RAWVAT_H */
