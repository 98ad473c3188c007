/*
 * testlib.c - helpers shared by the C tests (see testlib.h).
 */
#include "tests/lib/testlib.h"
#include "tests/lib/scratch.h"

#include <leveldb/c.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

char *tl_tmpdir(void)
{
    char *path = scratch_dir("swingtest");
    if (!path) fail_msg("cannot create a temporary directory");
    return path;
}

void tl_run_self(const char *env_name, void *out, size_t len)
{
    tl_run_self_layout(env_name, out, len, false);
}

void tl_run_self_layout(const char *env_name, void *out, size_t len, bool no_aslr)
{
    int fd[2], status;
    char fdtext[16];
    size_t got = 0;
    pid_t pid;
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        snprintf(fdtext, sizeof fdtext, "%d", fd[1]);
        setenv(env_name, fdtext, 1);
        /* The flag is inherited across exec: the child's stack, heap and
         * libraries land at fixed addresses, unlike its randomized siblings. */
        if (no_aslr && personality(ADDR_NO_RANDOMIZE) == -1) _exit(6);
        execl("/proc/self/exe", "test-child", (char *)NULL);
        _exit(5);
    }
    close(fd[1]);
    while (got < len) { /* a pipe hands over large results in pieces */
        ssize_t n = read(fd[0], (char *)out + got, len - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    assert_int_equal(got, len);
    close(fd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void tl_rmtree(char *path)
{
    scratch_remove(path);
}

store *tl_open(const char *dir)
{
    store *st = NULL;
    swing_err e;
    swing_err_clear(&e);
    if (store_open(dir, NULL, &st, &e) != SWING_OK) fail_msg("store_open(%s): %s", dir, e.msg);
    return st;
}

void tl_put(store *st, const char *key, const char *val)
{
    swing_err e;
    swing_err_clear(&e);
    if (store_crank_begin(st, &e) || store_set(st, swing_str(key), swing_str(val), &e) ||
        store_crank_end(st, &e))
        fail_msg("tl_put(%s): %s", key, e.msg);
}

void tl_expect(store *st, const char *key, const char *val)
{
    swing_buf v = {0};
    bool found = true;
    swing_err e;
    swing_err_clear(&e);
    if (store_get(st, swing_str(key), &v, &found, &e) != SWING_OK)
        fail_msg("store_get(%s): %s", key, e.msg);
    if (!val) {
        if (found) fail_msg("key %s present, expected absent", key);
        return;
    }
    if (!found) fail_msg("key %s absent, expected \"%s\"", key, val);
    if (v.len != strlen(val) || memcmp(v.ptr, val, v.len) != 0)
        fail_msg("key %s = \"%.*s\", expected \"%s\"", key, (int)v.len, (char *)v.ptr, val);
    swing_buf_free(&v);
}

size_t tl_raw_count(const char *dir, const char *prefix)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_readoptions_t *r = leveldb_readoptions_create();
    char *msg = NULL;
    size_t n = 0, pl = strlen(prefix);
    leveldb_t *db = leveldb_open(o, dir, &msg);
    if (msg) fail_msg("raw open %s: %s", dir, msg);
    leveldb_iterator_t *it = leveldb_create_iterator(db, r);
    for (leveldb_iter_seek(it, prefix, pl); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl;
        const char *k = leveldb_iter_key(it, &kl);
        if (kl < pl || memcmp(k, prefix, pl) != 0) break;
        n++;
    }
    leveldb_iter_destroy(it);
    leveldb_close(db);
    leveldb_readoptions_destroy(r);
    leveldb_options_destroy(o);
    return n;
}

/* Edits a closed store: replaces `from` by `to` (same length) in every
 * transcript item of vat, simulating a worker that would act differently on
 * replay. Returns the items changed. */
size_t tl_tamper_transcript(const char *dir, const char *vat, const char *from, const char *to)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_readoptions_t *r = leveldb_readoptions_create();
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    char prefix[64], *msg = NULL;
    size_t changed = 0, pl;
    leveldb_t *db = leveldb_open(o, dir, &msg);
    leveldb_iterator_t *it;
    if (msg) fail_msg("raw open: %s", msg);
    assert_int_equal(strlen(from), strlen(to));
    pl = (size_t)snprintf(prefix, sizeof prefix, "titem.%s.", vat);
    it = leveldb_create_iterator(db, r);
    for (leveldb_iter_seek(it, prefix, pl); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
        char *text, *hit;
        if (kl < pl || memcmp(k, prefix, pl) != 0) break;
        text = malloc(vl + 1);
        assert_non_null(text);
        memcpy(text, v, vl);
        text[vl] = '\0';
        if ((hit = strstr(text, from))) {
            memcpy(hit, to, strlen(to));
            leveldb_put(db, w, k, kl, text, vl, &msg);
            if (msg) fail_msg("raw put: %s", msg);
            changed++;
        }
        free(text);
    }
    leveldb_iter_destroy(it);
    leveldb_close(db);
    leveldb_writeoptions_destroy(w);
    leveldb_readoptions_destroy(r);
    leveldb_options_destroy(o);
    return changed;
}

void tl_commit(store *st, uint64_t h, store_delta **delta)
{
    swing_err e;
    swing_err_clear(&e);
    if (store_commit(st, h, delta, &e) != SWING_OK)
        fail_msg("commit %llu: %s", (unsigned long long)h, e.msg);
}

const store_delta_entry *tl_delta_find(const store_delta *d, const char *key)
{
    for (size_t i = 0; i < d->count; i++)
        if (swing_bytes_cmp(d->entries[i].key, swing_str(key)) == 0) return &d->entries[i];
    return NULL;
}

void tl_expect_next(store *st, const char *k, const char *want)
{
    swing_buf nk = {0};
    bool found = false;
    if (store_next_key(st, swing_str(k), &nk, &found, NULL) != SWING_OK)
        fail_msg("store_next_key(%s) failed", k);
    if (!want) {
        if (found) fail_msg("next_key(%s) = %.*s, expected none", k, (int)nk.len, (char *)nk.ptr);
        return;
    }
    if (!found) fail_msg("next_key(%s) found nothing, expected %s", k, want);
    if (swing_bytes_cmp(swing_buf_view(&nk), swing_str(want)) != 0)
        fail_msg("next_key(%s) = %.*s, expected %s", k, (int)nk.len, (char *)nk.ptr, want);
    swing_buf_free(&nk);
}

int tl_setup_sodium(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

void tl_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    if (sodium_init() < 0) fail_msg("sodium_init");
    crypto_hash_sha256(d, p, n);
    sodium_bin2hex(out, 65, d, sizeof d);
}

/* ---- store writes and checks (overlay_test.c, crank_test.c) ---- */

void tl_crank_begin(store *st)
{
    TL_OK(store_crank_begin(st, NULL));
}

void tl_crank_end(store *st)
{
    TL_OK(store_crank_end(st, NULL));
}

void tl_set(store *st, const char *k, const char *v)
{
    TL_OK(store_set(st, swing_str(k), swing_str(v), NULL));
}

/* Asserts key, value pairs (value NULL: absent), NULL ended. */
void tl_expect_all(store *st, ...)
{
    va_list ap;
    const char *k;
    va_start(ap, st);
    while ((k = va_arg(ap, const char *)) != NULL) tl_expect(st, k, va_arg(ap, const char *));
    va_end(ap);
}

void tl_del(store *st, const char *k)
{
    TL_OK(store_delete(st, swing_str(k), NULL));
}


/* Runs one crank of writes: key, value pairs (value NULL: delete), NULL
 * ended. */
void tl_crank_ops(store *st, ...)
{
    va_list ap;
    const char *k;
    tl_crank_begin(st);
    va_start(ap, st);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (v) tl_set(st, k, v);
        else tl_del(st, k);
    }
    va_end(ap);
    tl_crank_end(st);
}

/* Asserts the delta holds k = v, or a deletion of k when v is NULL. */
void tl_expect_delta(const store_delta *d, const char *k, const char *v)
{
    const store_delta_entry *e = tl_delta_find(d, k);
    if (!e) fail_msg("delta has no entry %s", k);
    if (e->deleted != (v == NULL)) fail_msg("delta entry %s: deleted is %d", k, e->deleted);
    if (swing_bytes_cmp(e->value, swing_str(v ? v : "")) != 0)
        fail_msg("delta %s = \"%.*s\", expected \"%s\"", k, (int)e->value.len,
                 (const char *)e->value.ptr, v ? v : "");
}

/* Asserts entries are strictly increasing (sorted, no duplicates). */
void tl_expect_delta_sorted(const store_delta *d)
{
    for (size_t i = 1; i < d->count; i++)
        if (swing_bytes_cmp(d->entries[i - 1].key, d->entries[i].key) >= 0)
            fail_msg("delta entries %zu and %zu out of order or duplicated", i - 1, i);
}
