/*
 * memhost.h - an in-memory host for one Lua vat in the liveslots tests: a
 * vp_channel whose vatstore is a sorted array, which folds every syscall
 * (type, key, value, vrefs, bodies) into a trace hash and remembers the
 * virtual objects the vat sent out and the imports it dropped, so a test
 * can play the kernel's GC deliveries back. Tests only (cmocka asserts).
 */
#ifndef LIBSWING_TESTS_MEMHOST_H
#define LIBSWING_TESTS_MEMHOST_H

#include "tests/lib/testlib.h"

#include "liveslots/lua/vat_int.h"

#define TM_MAX_KEYS 65536
#define TM_MAX_VREFS 1024

typedef struct tm_host {
    vp_channel ch;
    char **keys, **vals; /* TM_MAX_KEYS each, sorted by key */
    size_t nkeys;
    uint64_t trace; /* FNV-1a over every syscall */
    size_t syscalls;
    char exported[TM_MAX_VREFS][32]; /* virtual objects the vat sent out */
    size_t nexported;
    char dropped[TM_MAX_VREFS][32]; /* imports the vat dropped */
    size_t ndropped;
    char retired[TM_MAX_VREFS][32]; /* imports the vat retired */
    size_t nretired;
    size_t duplicates; /* vrefs dropped or retired twice */
} tm_host;

tm_host *tm_host_new(const char *vat_id);
void tm_host_free(tm_host *h);
/* Folds bytes into h->trace. */
void tm_mix(tm_host *h, const void *p, size_t n);
/* The value of key, or NULL. */
const char *tm_get(const tm_host *h, const char *key);
/* Keys starting with prefix. */
size_t tm_count(const tm_host *h, const char *prefix);
/* A hash of the whole vatstore. */
uint64_t tm_kv_hash(const tm_host *h);

/* Creates a vat over h (compute 50M, memory 64 MiB); fails the test on error. */
ls_lua_vat *tm_vat(const char *src);
/* One delivery, asserted successful; its computrons and `more` go into the
 * trace. Returns the computrons. */
uint64_t tm_deliver(ls_lua_vat *vat, tm_host *h, const vp_delivery *d);
/* startVat with empty parameters. */
uint64_t tm_start(ls_lua_vat *vat, tm_host *h);
/* Sends method(args) to the root; args is the JSON array body after the
 * method, slots its slots. */
uint64_t tm_send(ls_lua_vat *vat, tm_host *h, const char *method, const char *args, const char *const *slots,
                 size_t nslots, const char *result);
uint64_t tm_boyd(ls_lua_vat *vat, tm_host *h, uint64_t budget);
/* A GC delivery of the listed vrefs (nothing when n is 0). */
uint64_t tm_gc(ls_lua_vat *vat, tm_host *h, vp_dtype type, char list[][32], size_t n);

#endif /* LIBSWING_TESTS_MEMHOST_H */
