/*
 * ovtree.c - the overlay's B+tree index (see ovtree.h): node search over
 * inline key windows, inserts with splits, removal without merging.
 */
#include "store/ovtree.h"

#include <string.h>

#include "base/alloc.h"
#include "base/check.h"
#include "store/overlay.h"

#define FAN STORE_OVTREE_FAN
#define HEIGHT_MAX 16 /* far above what 2^64 entries at FAN 32 could need */

void store_ovtree_init(store_ovtree *t)
{
    t->root = NULL;
    t->head = NULL;
}

static void free_node(store_ovtree_node *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (x->leaf) swing_mfree(x->ent[i]);
        else free_node(x->kid[i]);
    }
    swing_mfree(x);
}

void store_ovtree_clear(store_ovtree *t)
{
    if (t->root) free_node(t->root);
    store_ovtree_init(t);
}

static store_ovtree_node *node_new(bool leaf)
{
    size_t size = sizeof(store_ovtree_node) + (leaf ? 0 : FAN * sizeof(store_ovtree_node *));
    store_ovtree_node *x = swing_malloc(size);
    if (!x) return NULL;
    memset(x, 0, size);
    x->leaf = leaf;
    return x;
}

/* ----- windows: the key bytes a node compares inline ----- */

static uint64_t window(swing_bytes k, size_t off)
{
    uint64_t w = 0;
    if (k.len >= off + 8) {
        memcpy(&w, k.ptr + off, 8);
        return __builtin_bswap64(w);
    }
    for (size_t i = 0; i < 8; i++) w = w << 8 | (off + i < k.len ? k.ptr[off + i] : 0);
    return w;
}

static swing_bytes slot_key(const store_ovtree_node *x, size_t i) { return store_ov_key(x->ent[i]); }

/* First slot a node compares: an internal node's slot 0 has no separator. */
static size_t first_compared(const store_ovtree_node *x) { return x->leaf ? 0 : 1; }

static size_t common_len(swing_bytes a, const uint8_t *b, size_t blen)
{
    size_t n = a.len < blen ? a.len : blen, i = 0;
    while (i < n && a.ptr[i] == b[i]) i++;
    return i;
}

/* Sets the shared prefix to its first `off` bytes and recomputes the windows. */
static void rewindow(store_ovtree_node *x, size_t off)
{
    x->off = (uint16_t)off;
    for (size_t i = first_compared(x); i < x->n; i++) x->win[i] = window(slot_key(x, i), off);
}

/* Derives the shared prefix from the smallest and largest compared keys. */
static void reprefix(store_ovtree_node *x)
{
    size_t lo = first_compared(x), off;
    swing_bytes a;
    if (x->n <= lo) {
        x->off = 0;
        return;
    }
    a = slot_key(x, lo);
    off = common_len(slot_key(x, x->n - 1), a.ptr, a.len < STORE_OVTREE_PREFIX ? a.len : STORE_OVTREE_PREFIX);
    memcpy(x->prefix, a.ptr, off);
    rewindow(x, off);
}

/* Slot i now holds a key the node compares: its window, narrowing the
 * shared prefix if the key does not have it. */
static void window_slot(store_ovtree_node *x, size_t i)
{
    swing_bytes k = slot_key(x, i);
    size_t lo = first_compared(x), c;
    if (i < lo) return;
    if (x->n == lo + 1) { /* the only compared key */
        reprefix(x);
        return;
    }
    c = common_len(k, x->prefix, x->off);
    if (c < x->off) rewindow(x, c);
    else x->win[i] = window(k, x->off);
}

/* The first compared slot whose key is >= key (x->n if none); *eq when it
 * equals key. */
static size_t node_rank(const store_ovtree_node *x, swing_bytes key, bool *eq)
{
    size_t lo = first_compared(x), hi = x->n, m;
    uint64_t w;
    int c;
    *eq = false;
    if (lo >= hi) return lo;
    m = key.len < x->off ? key.len : x->off;
    c = m ? memcmp(key.ptr, x->prefix, m) : 0;
    if (c == 0 && key.len < x->off) c = -1; /* a proper prefix of every key here */
    if (c < 0) return lo;
    if (c > 0) return hi;
    w = window(key, x->off);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = x->win[mid] != w ? (x->win[mid] < w ? -1 : 1) : swing_bytes_cmp(slot_key(x, mid), key);
        if (d == 0) {
            *eq = true;
            return mid;
        }
        if (d < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static store_ovtree_node *descend(const store_ovtree *t, swing_bytes key)
{
    store_ovtree_node *x = t->root;
    while (x && !x->leaf) {
        bool eq;
        size_t r = node_rank(x, key, &eq);
        x = x->kid[eq ? r : r - 1];
    }
    return x;
}

/* ----- lookups ----- */

store_ov_entry *store_ovtree_find(const store_ovtree *t, swing_bytes key)
{
    store_ovtree_node *x = descend(t, key);
    bool eq;
    size_t i;
    if (!x) return NULL;
    i = node_rank(x, key, &eq);
    return eq ? x->ent[i] : NULL;
}

store_ov_entry *store_ovtree_seek(const store_ovtree *t, swing_bytes key, bool inclusive)
{
    store_ovtree_node *x = descend(t, key);
    bool eq;
    size_t i;
    if (!x) return NULL;
    i = node_rank(x, key, &eq);
    if (eq && !inclusive) i++;
    if (i < x->n) return x->ent[i];
    x = x->next; /* leaves are never empty */
    return x ? x->ent[0] : NULL;
}

store_ov_entry *store_ovtree_first(const store_ovtree *t) { return t->head ? t->head->ent[0] : NULL; }

static size_t entry_index(const store_ovtree_node *x, const store_ov_entry *e)
{
    size_t i = 0;
    while (i < x->n && x->ent[i] != e) i++;
    SWING_ASSERT(i < x->n);
    return i;
}

static size_t kid_index(const store_ovtree_node *p, const store_ovtree_node *x)
{
    size_t i = 0;
    while (i < p->n && p->kid[i] != x) i++;
    SWING_ASSERT(i < p->n);
    return i;
}

store_ov_entry *store_ovtree_next(const store_ov_entry *e)
{
    const store_ovtree_node *x = e->leaf;
    size_t i = entry_index(x, e);
    if (i + 1 < x->n) return x->ent[i + 1];
    return x->next ? x->next->ent[0] : NULL;
}

/* ----- insertion ----- */

/* Opens slot i of x (not full) for ent and, in an internal node, kid. */
static void slot_open(store_ovtree_node *x, size_t i, store_ov_entry *ent, store_ovtree_node *kid)
{
    size_t move = x->n - i;
    memmove(&x->ent[i + 1], &x->ent[i], move * sizeof x->ent[0]);
    memmove(&x->win[i + 1], &x->win[i], move * sizeof x->win[0]);
    x->ent[i] = ent;
    if (x->leaf) {
        ent->leaf = x;
    } else {
        memmove(&x->kid[i + 1], &x->kid[i], move * sizeof x->kid[0]);
        x->kid[i] = kid;
        kid->parent = x;
    }
    x->n++;
}

/* Splits full x into x and r, then puts (ent, kid) at slot i of the pair.
 * An insert at the end leaves x full and starts r with the new slot, so
 * ascending inserts fill nodes. */
static void split(store_ovtree_node *x, size_t i, store_ov_entry *ent, store_ovtree_node *kid, store_ovtree_node *r)
{
    size_t m = i == FAN ? FAN : FAN / 2;
    r->parent = x->parent;
    r->n = (uint16_t)(FAN - m);
    memcpy(r->ent, &x->ent[m], r->n * sizeof r->ent[0]);
    if (x->leaf) {
        for (size_t j = 0; j < r->n; j++) r->ent[j]->leaf = r;
        r->prev = x;
        r->next = x->next;
        if (x->next) x->next->prev = r;
        x->next = r;
    } else {
        memcpy(r->kid, &x->kid[m], r->n * sizeof r->kid[0]);
        for (size_t j = 0; j < r->n; j++) r->kid[j]->parent = r;
    }
    x->n = (uint16_t)m;
    if (i <= m && m < FAN) slot_open(x, i, ent, kid);
    else slot_open(r, i - m, ent, kid);
    reprefix(x);
    reprefix(r);
}

/* Nodes an insert into leaf x needs: one per full node from x up, and a
 * root above a full root. */
static size_t nodes_needed(const store_ovtree_node *x)
{
    size_t n = 0;
    while (x && x->n == FAN) {
        n++;
        if (!x->parent) n++;
        x = x->parent;
    }
    return n;
}

static swing_status insert_first(store_ovtree *t, store_ov_entry *e, swing_err *err)
{
    store_ovtree_node *x = node_new(true);
    if (!x) return SWING_NOMEM(err);
    slot_open(x, 0, e, NULL);
    reprefix(x);
    t->root = t->head = x;
    return SWING_OK;
}

swing_status store_ovtree_insert(store_ovtree *t, store_ov_entry *e, store_ov_entry **existing, swing_err *err)
{
    store_ovtree_node *spare[HEIGHT_MAX + 1], *x, *kid = NULL;
    swing_bytes key = store_ov_key(e);
    size_t need, used = 0, at;
    bool eq;
    *existing = NULL;
    if (!t->root) return insert_first(t, e, err);
    x = descend(t, key);
    at = node_rank(x, key, &eq);
    if (eq) {
        *existing = x->ent[at];
        return SWING_OK;
    }
    need = nodes_needed(x);
    SWING_ASSERT(need <= HEIGHT_MAX + 1);
    for (size_t i = 0; i < need; i++) {
        if (!(spare[i] = node_new(i == 0))) {
            while (i--) swing_mfree(spare[i]);
            return SWING_NOMEM(err);
        }
    }
    for (;;) {
        store_ovtree_node *r;
        if (x->n < FAN) {
            slot_open(x, at, e, kid);
            window_slot(x, at);
            break;
        }
        r = spare[used++];
        split(x, at, e, kid, r);
        e = r->ent[0]; /* the smallest entry under r: its separator */
        kid = r;
        if (!x->parent) {
            store_ovtree_node *root = spare[used++];
            root->n = 1;
            root->kid[0] = x;
            x->parent = root;
            slot_open(root, 1, e, r);
            reprefix(root);
            t->root = root;
            break;
        }
        at = kid_index(x->parent, x) + 1;
        x = x->parent;
    }
    SWING_ASSERT(used == need);
    return SWING_OK;
}

/* ----- removal ----- */

/* e, the smallest entry under leaf x, is going or being replaced: the one
 * separator that may name it (at the lowest ancestor reached through a
 * slot other than 0) names `with` instead. A NULL `with` means the
 * separator's subtree goes with e. */
static void rename_separator(store_ovtree_node *x, const store_ov_entry *e, store_ov_entry *with)
{
    while (x->parent) {
        store_ovtree_node *p = x->parent;
        size_t j = kid_index(p, x);
        if (j > 0) {
            if (p->ent[j] == e && with) {
                p->ent[j] = with;
                window_slot(p, j);
            }
            return;
        }
        x = p;
    }
}

static void slot_close(store_ovtree_node *x, size_t i)
{
    size_t move = x->n - i - 1;
    memmove(&x->ent[i], &x->ent[i + 1], move * sizeof x->ent[0]);
    memmove(&x->win[i], &x->win[i + 1], move * sizeof x->win[0]);
    if (!x->leaf) memmove(&x->kid[i], &x->kid[i + 1], move * sizeof x->kid[0]);
    x->n--;
}

void store_ovtree_remove(store_ovtree *t, store_ov_entry *e)
{
    store_ovtree_node *x = e->leaf;
    size_t i = entry_index(x, e);
    if (i == 0) rename_separator(x, e, store_ovtree_next(e));
    slot_close(x, i);
    e->leaf = NULL;
    while (x->n == 0) { /* the node goes, and its slot in the parent */
        store_ovtree_node *p = x->parent;
        if (x->leaf) {
            if (x->prev) x->prev->next = x->next;
            else t->head = x->next;
            if (x->next) x->next->prev = x->prev;
        }
        if (p) slot_close(p, kid_index(p, x));
        else t->root = NULL;
        swing_mfree(x);
        if (!p) return;
        x = p;
    }
    while (!t->root->leaf && t->root->n == 1) { /* a root with one child steps down */
        store_ovtree_node *r = t->root;
        t->root = r->kid[0];
        t->root->parent = NULL;
        swing_mfree(r);
    }
}

void store_ovtree_replace(store_ov_entry *old, store_ov_entry *e)
{
    store_ovtree_node *x = old->leaf;
    size_t i = entry_index(x, old);
    SWING_ASSERT(swing_bytes_cmp(store_ov_key(old), store_ov_key(e)) == 0);
    x->ent[i] = e;
    e->leaf = x;
    old->leaf = NULL;
    if (i == 0) rename_separator(x, old, e);
}

/* ----- checking ----- */

typedef struct walk {
    const store_ov_entry *last; /* the previous entry in key order */
    const store_ovtree_node *leaf; /* the previous leaf */
    size_t depth;               /* of the leaves */
    bool ok;
} walk;

static bool node_valid(const store_ovtree_node *x)
{
    size_t lo = first_compared(x);
    if (x->n == 0 || x->n > FAN || x->off > STORE_OVTREE_PREFIX) return false;
    for (size_t i = lo; i < x->n; i++) {
        swing_bytes k = slot_key(x, i);
        if (k.len < x->off || memcmp(k.ptr, x->prefix, x->off) != 0) return false;
        if (x->win[i] != window(k, x->off)) return false;
        if (x->leaf && x->ent[i]->leaf != x) return false;
    }
    return true;
}

/* Checks the subtree of x and returns its smallest entry. */
static const store_ov_entry *check_node(const store_ovtree_node *x, walk *w, size_t depth)
{
    const store_ov_entry *min = NULL;
    if (!node_valid(x)) w->ok = false;
    if (!w->ok) return NULL;
    if (x->leaf) {
        if ((w->depth && w->depth != depth) || x->prev != w->leaf || (w->leaf && w->leaf->next != x)) w->ok = false;
        w->depth = depth;
        w->leaf = x;
        for (size_t i = 0; i < x->n && w->ok; i++) {
            if (w->last && swing_bytes_cmp(store_ov_key(w->last), slot_key(x, i)) >= 0) w->ok = false;
            w->last = x->ent[i];
        }
        return x->ent[0];
    }
    for (size_t i = 0; i < x->n && w->ok; i++) {
        const store_ov_entry *m;
        if (x->kid[i]->parent != x) w->ok = false;
        m = check_node(x->kid[i], w, depth + 1);
        if (i == 0) min = m;
        else if (m != x->ent[i]) w->ok = false; /* a separator is its subtree's smallest entry */
    }
    return min;
}

bool store_ovtree_valid(const store_ovtree *t)
{
    walk w = {NULL, NULL, 0, true};
    if (!t->root) return t->head == NULL;
    if (t->root->parent) return false;
    check_node(t->root, &w, 1);
    if (w.ok && w.leaf && w.leaf->next) w.ok = false;
    for (const store_ovtree_node *x = t->root; w.ok && !x->leaf; x = x->kid[0]) {
        if (x->kid[0]->leaf && x->kid[0] != t->head) w.ok = false;
    }
    if (t->root->leaf && t->root != t->head) w.ok = false;
    return w.ok;
}
