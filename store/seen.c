/*
 * seen.c - the block's cache of committed values read from LevelDB: an
 * open-addressing table (linear probing, load at most 1/2) over entries in
 * bump-allocated chunks, cleared by a generation bump (seen.h). An entry
 * is [u32 klen][u32 vlen][key][value]; vlen ABSENT marks a key known absent.
 */
#include "store/seen.h"

#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"

#define CHUNK (1u << 20)
#define CAP_MIN 4096u
#define CAP_MAX (1u << 20)
#define ABSENT UINT32_MAX

static uint64_t hash_of(swing_bytes k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < k.len; i++) h = (h ^ k.ptr[i]) * 1099511628211ull;
    return h ? h : 1;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

void store_seen_init(store_seen *c)
{
    memset(c, 0, sizeof *c);
    c->gen = 1; /* slots start zeroed: generation 0 is never current */
}

void store_seen_free(store_seen *c)
{
    for (size_t i = 0; i < c->nchunks; i++) swing_mfree(c->chunks[i]);
    swing_mfree(c->chunks);
    swing_mfree(c->slots);
    store_seen_init(c);
}

void store_seen_clear(store_seen *c)
{
    if (!c->count) return;
    for (size_t i = 1; i < c->nchunks; i++) swing_mfree(c->chunks[i]);
    c->nchunks = 1; /* a kept value lives in a chunk */
    c->used = 0;
    c->count = 0;
    c->bytes = 0;
    if (++c->gen == 0) { /* wrapped: no slot may look current */
        if (c->slots) memset(c->slots, 0, c->cap * sizeof *c->slots);
        c->gen = 1;
    }
}

static const store_seen_slot *find(const store_seen *c, swing_bytes key, uint64_t h)
{
    size_t mask = c->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const store_seen_slot *s = &c->slots[i];
        if (s->gen != c->gen) return s; /* a free slot ends the probe */
        if (s->hash == h && get_u32(s->entry) == key.len && memcmp(s->entry + 8, key.ptr, key.len) == 0) return s;
    }
}

store_seen_state store_seen_get(const store_seen *c, swing_bytes key, swing_bytes *val)
{
    const store_seen_slot *s;
    uint32_t vl;
    if (!c->count) return STORE_SEEN_UNKNOWN;
    s = find(c, key, hash_of(key));
    if (s->gen != c->gen) return STORE_SEEN_UNKNOWN;
    if ((vl = get_u32(s->entry + 4)) == ABSENT) return STORE_SEEN_ABSENT;
    *val = swing_bytes_of(s->entry + 8 + key.len, vl);
    return STORE_SEEN_PRESENT;
}

/* Doubles the table, moving the current generation's slots. */
static bool grow(store_seen *c)
{
    size_t cap = c->cap ? c->cap * 2 : CAP_MIN;
    store_seen_slot *old = c->slots, *slots;
    size_t old_cap = c->cap;
    if (cap > CAP_MAX || !(slots = swing_calloc(cap, sizeof *slots))) return false;
    for (size_t i = 0; i < old_cap; i++) {
        size_t j;
        if (old[i].gen != c->gen) continue;
        for (j = (size_t)old[i].hash & (cap - 1); slots[j].gen == c->gen; j = (j + 1) & (cap - 1)) {
        }
        slots[j] = old[i];
    }
    swing_mfree(old);
    c->slots = slots;
    c->cap = cap;
    return true;
}

/* Room for n bytes (8-aligned) in the last chunk, or a new one. */
static uint8_t *room(store_seen *c, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n > CHUNK) return NULL;
    if (!c->nchunks || c->used + n > CHUNK) {
        uint8_t *chunk;
        if (SWING_VEC_RESERVE(c->chunks, c->chunk_cap, c->nchunks + 1, 8, NULL)) return NULL;
        if (!(chunk = swing_malloc(CHUNK))) return NULL;
        c->chunks[c->nchunks++] = chunk;
        c->used = 0;
    }
    c->used += n;
    return c->chunks[c->nchunks - 1] + c->used - n;
}

/* Keeps key with value bytes val and header length vl (ABSENT: none). */
static bool keep(store_seen *c, swing_bytes key, swing_bytes val, uint32_t vl)
{
    uint64_t h = hash_of(key);
    store_seen_slot *s;
    uint8_t *e;
    uint32_t kl = (uint32_t)key.len;
    size_t n = 8 + key.len + val.len;
    if (key.len > UINT32_MAX || c->bytes + n > STORE_SEEN_MAX_BYTES) return false;
    if ((c->count + 1) * 2 > c->cap && !grow(c)) return false;
    s = (store_seen_slot *)find(c, key, h);
    if (s->gen == c->gen) return true; /* kept already: the disk has not changed since */
    if (!(e = room(c, n))) return false;
    memcpy(e, &kl, 4);
    memcpy(e + 4, &vl, 4);
    memcpy(e + 8, key.ptr, key.len);
    if (val.len) memcpy(e + 8 + key.len, val.ptr, val.len);
    s->entry = e;
    s->hash = h;
    s->gen = c->gen;
    c->count++;
    c->bytes += n;
    return true;
}

bool store_seen_put(store_seen *c, swing_bytes key, swing_bytes val)
{
    if (val.len >= ABSENT) return false;
    return keep(c, key, val, (uint32_t)val.len);
}

bool store_seen_put_absent(store_seen *c, swing_bytes key)
{
    return keep(c, key, swing_bytes_of(NULL, 0), ABSENT);
}
