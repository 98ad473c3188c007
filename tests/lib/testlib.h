/*
 * testlib.h - helpers shared by the C tests: temporary directories that are
 * removed afterwards, and short store setup/teardown. Tests only.
 */
#ifndef LIBSWING_TESTS_TESTLIB_H
#define LIBSWING_TESTS_TESTLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"

/* Creates a fresh empty directory under $TMPDIR (or /tmp); returns a
 * malloc'd path. Fails the test on error. */
char *tl_tmpdir(void);

/* Removes a directory tree (like rm -rf) and frees the path. NULL ok. */
void tl_rmtree(char *path);
/* Runs this test binary again in a fresh process (exec, not fork: a forked
 * child would share the parent's address layout and prove nothing), with
 * env_name set to a pipe fd; the child writes len bytes of its result there
 * and exits 0. Asserts both, and fills out. */
void tl_run_self(const char *env_name, void *out, size_t len);
/* As tl_run_self; no_aslr runs the child with address randomization off
 * (personality ADDR_NO_RANDOMIZE), a layout unlike its randomized siblings'. */
void tl_run_self_layout(const char *env_name, void *out, size_t len, bool no_aslr);

/* Opens a store in dir with default options; fails the test on error. */
store *tl_open(const char *dir);

/* Asserts s == SWING_OK, printing the error text when it is not. */
#define TL_OK(expr)                                                              \
    do {                                                                         \
        swing_err tl_e_;                                                         \
        swing_err_clear(&tl_e_);                                                 \
        swing_status tl_s_ = (expr);                                             \
        (void)tl_e_;                                                             \
        if (tl_s_ != SWING_OK) fail_msg("%s -> %s", #expr, swing_status_name(tl_s_)); \
    } while (0)

/* Sets key=val inside its own crank. */
void tl_put(store *st, const char *key, const char *val);
/* Asserts that key holds val (val NULL: absent). */
void tl_expect(store *st, const char *key, const char *val);

/* Number of raw LevelDB keys with the given physical prefix in a CLOSED
 * store directory (opens LevelDB directly, bypassing the store). */
size_t tl_raw_count(const char *dir, const char *prefix);

/* Edits a CLOSED store directory: replaces `from` by `to` (same length) in
 * every transcript item of vat, so that its replay diverges. Returns the
 * items changed. */
size_t tl_tamper_transcript(const char *dir, const char *vat, const char *from, const char *to);

/* Commits height h (delta may be NULL); fails the test with the message. */
void tl_commit(store *st, uint64_t h, store_delta **delta);

/* The delta's entry for key, or NULL. */
const store_delta_entry *tl_delta_find(const store_delta *d, const char *key);

/* Asserts store_next_key(k) is want (NULL: none). */
void tl_expect_next(store *st, const char *k, const char *want);

/* cmocka group setup for tests that call libsodium directly. */
int tl_setup_sodium(void **state);

/* SHA-256 hex by libsodium: an oracle independent of the library's hash. */
void tl_sha256_hex(const void *p, size_t n, char out[65]);

/* ---- store writes and checks ---- */

/* store_crank_begin / store_crank_end, asserted OK. */
void tl_crank_begin(store *st);
void tl_crank_end(store *st);
/* store_set / store_delete of string keys and values, asserted OK. */
void tl_set(store *st, const char *k, const char *v);
void tl_del(store *st, const char *k);
/* Asserts key, value pairs (value NULL: absent), NULL ended. */
void tl_expect_all(store *st, ...);
/* Runs one crank of writes: key, value pairs (value NULL: delete), NULL
 * ended. */
void tl_crank_ops(store *st, ...);
/* Asserts the delta holds k = v, or a deletion of k when v is NULL. */
void tl_expect_delta(const store_delta *d, const char *k, const char *v);
/* Asserts entries are strictly increasing (sorted, no duplicates). */
void tl_expect_delta_sorted(const store_delta *d);

#endif /* LIBSWING_TESTS_TESTLIB_H */
