/*
 * teardown.c - deletion of terminated vats, phase by phase within a budget
 * (DESIGN.md §6.5; reference/kernel-gc.md §3.6):
 *
 *   vats.terminated        comma-joined vat IDs awaiting deletion, oldest first
 *   vats.cleanup.phase     the head vat's phase (kern_phase, decimal)
 *   vats.cleanup.cursor    the last key deleted in that phase
 *
 * Only the head vat is worked on. Phases: exports (each c-list export is
 * orphaned: owner and entry go, the object joins the maybe-free set, so its
 * importers get retireImports once it is unreachable; the kernel's hold on
 * the vat's root is released), imports and promises (entries released, which
 * may give other vats dropExports / retireExports), kv (every other vNN. key,
 * one per unit; vatParameters slots are released, the name is freed), and
 * transcripts (the span records go at once, so the vat drops out of exports,
 * then the items by position). One unit is one c-list entry, kv key or
 * transcript item, so a unit costs a bounded number of kv writes. The cursor
 * makes each step seek past what it already deleted, so deletion stays
 * linear however many keys the vat had.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "store/scan.h"

#define LIST_KEY "vats.terminated"
#define PHASE_KEY "vats.cleanup.phase"
#define CURSOR_KEY "vats.cleanup.cursor"

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

swing_status kern_teardown_enqueue(kern *k, const char *vat, swing_err *err)
{
    char *v = NULL, *nv;
    bool found;
    size_t n;
    swing_status s = kern_kv_get(k, &v, &found, err, LIST_KEY);
    if (s) return s;
    n = (found ? strlen(v) + 1 : 0) + strlen(vat) + 1;
    nv = swing_malloc(n);
    if (!nv) s = SWING_NOMEM(err);
    else {
        snprintf(nv, n, "%s%s%s", found ? v : "", found ? "," : "", vat);
        s = kern_kv_set(k, nv, err, LIST_KEY);
    }
    swing_mfree(v);
    swing_mfree(nv);
    return s;
}

swing_status kern_teardown_count(kern *k, uint64_t *n, int *phase, swing_err *err)
{
    char *v = NULL;
    bool found;
    uint64_t p;
    swing_status s = kern_kv_get(k, &v, &found, err, LIST_KEY);
    *n = 0;
    *phase = -1;
    if (s || !found) return s;
    *n = 1;
    for (const char *c = v; *c; c++) *n += *c == ',';
    swing_mfree(v);
    if ((s = kern_kv_getu(k, &p, &found, err, PHASE_KEY))) return s;
    *phase = found && p < KERN_PHASES ? (int)p : 0;
    return SWING_OK;
}

/* The head of vats.terminated; *found false when empty. */
static swing_status head(kern *k, char vat[KERN_ID_MAX], bool *found, swing_err *err)
{
    char *v = NULL;
    size_t n;
    swing_status s = kern_kv_get(k, &v, found, err, LIST_KEY);
    vat[0] = '\0';
    if (s || !*found) return s;
    n = strcspn(v, ",");
    if (n == 0 || n >= KERN_ID_MAX) s = SWING_CORRUPT(err, "bad %s", LIST_KEY);
    else {
        memcpy(vat, v, n);
        vat[n] = '\0';
    }
    swing_mfree(v);
    return s;
}

/* Removes the head vat from the list and forgets its progress. */
static swing_status pop_head(kern *k, swing_err *err)
{
    char *v = NULL;
    bool found;
    const char *comma;
    swing_status s = kern_kv_get(k, &v, &found, err, LIST_KEY);
    if (s || !found) return s;
    comma = strchr(v, ',');
    s = comma ? kern_kv_set(k, comma + 1, err, LIST_KEY) : kern_kv_del(k, err, LIST_KEY);
    swing_mfree(v);
    if (!s) s = kern_kv_del(k, err, PHASE_KEY);
    if (!s) s = kern_kv_del(k, err, CURSOR_KEY);
    return s;
}

/* exports: orphan the object; the kernel's own hold (a vat root) goes too. */
static swing_status drop_export(kern *k, const char *kref, swing_err *err)
{
    bool held;
    swing_status s = kern_obj_orphan(k, kref, err);
    if (s || (s = kern_kv_has(k, &held, err, "kernel.hold.%s", kref)) || !held) return s;
    if ((s = kern_kv_del(k, err, "kernel.hold.%s", kref))) return s;
    return kern_refs_decref(k, kref, err);
}

/* kv: one key of vNN.; the retained vatParameters and the name go with it. */
static swing_status drop_key(kern *k, const char *vat, swing_bytes key, swing_err *err)
{
    size_t vl = strlen(vat);
    swing_bytes tail = swing_bytes_of(key.ptr + vl + 1, key.len - vl - 1);
    bool is_vp = swing_bytes_cmp(tail, swing_str("vatParameters")) == 0;
    bool is_opts = swing_bytes_cmp(tail, swing_str("options")) == 0;
    swing_status s = SWING_OK;
    if (is_vp || is_opts) {
        swing_buf v = {0};
        bool found;
        json_t *j;
        if ((s = store_get(k->st, key, &v, &found, err)) || !found) return s;
        j = json_loadb((const char *)v.ptr, v.len, 0, NULL);
        swing_buf_free(&v);
        if (!j) return SWING_CORRUPT(err, "bad %s of %s", is_vp ? "vatParameters" : "options", vat);
        if (is_vp) {
            kern_cd cd;
            if ((s = kern_cd_from_json(j, &cd, err)) == SWING_OK) {
                s = kern_refs_decref_cd(k, kern_cd_view(&cd), err);
                kern_cd_free(&cd);
            }
        } else {
            const char *name = json_string_value(json_object_get(j, "name"));
            char *owner = NULL;
            if (name && (s = kern_kv_get(k, &owner, &found, err, "vat.name.%s", name)) == SWING_OK && found &&
                strcmp(owner, vat) == 0)
                s = kern_kv_del(k, err, "vat.name.%s", name);
            swing_mfree(owner);
        }
        json_decref(j);
        if (s) return s;
    }
    k->nalive = 0;
    k->nopts = 0;
    return store_delete(k->st, key, err);
}

/* Deletes the entry at key (in phase p) and everything that goes with it. */
static swing_status drop_entry(kern *k, const char *vat, kern_phase p, swing_bytes key, swing_err *err)
{
    char kref[KERN_ID_MAX], vref[KERN_VREF_MAX];
    size_t pl = strlen(vat) + 3; /* "vNN.c." */
    bool found;
    swing_status s;
    if (p == KERN_PHASE_KV) return drop_key(k, vat, key, err);
    if (key.len <= pl || key.len - pl >= sizeof vref) return SWING_CORRUPT(err, "bad c-list key of %s", vat);
    memcpy(vref, key.ptr + pl, key.len - pl);
    vref[key.len - pl] = '\0';
    if ((s = kern_clist_kref(k, vat, vref, kref, &found, err)) || !found) return s;
    if (p == KERN_PHASE_EXPORTS) return drop_export(k, kref, err);
    return kern_clist_delete(k, vat, kref, err);
}

/* transcripts: the cursor is "next,end", the items left of the stopped
 * transcript (no cursor yet: the transcript is stopped now). Deletes up to
 * *left items; *done when none are left (the cursor is then cleared). */
static swing_status step_transcripts(kern *k, const char *vat, swing_buf *cursor, uint64_t *left,
                                     uint64_t *used, bool *done, swing_err *err)
{
    uint64_t r[2], n;
    char text[48];
    size_t len;
    swing_status s;
    if (!cursor->ptr) {
        if ((s = store_transcript_stop(k->st, vat, &r[0], &r[1], err))) return s;
    } else {
        snprintf(text, sizeof text, "%.*s", (int)cursor->len, (const char *)cursor->ptr);
        if (!kern_kv_parse_u64s(text, r, 2) || r[0] > r[1]) return SWING_CORRUPT(err, "bad %s", CURSOR_KEY);
    }
    n = min_u64(*left, r[1] - r[0]);
    if ((s = store_transcript_delete_items(k->st, vat, r[0], r[0] + n, err))) return s;
    *used += n;
    *left -= n;
    r[0] += n;
    swing_buf_free(cursor);
    *done = r[0] == r[1];
    if (*done) return SWING_OK;
    kern_kv_format(text, sizeof text, "%" PRIu64 ",%" PRIu64, r[0], r[1]);
    len = strlen(text);
    if (!(cursor->ptr = (uint8_t *)swing_malloc(len))) return SWING_NOMEM(err);
    memcpy(cursor->ptr, text, len);
    cursor->len = len;
    return SWING_OK;
}

/* A key phase: the next key after the cursor under the phase's prefix is
 * deleted (with what goes with it) and becomes the cursor; *done when none
 * is left (the cursor is then cleared). */
static swing_status step_key(kern *k, const char *vat, kern_phase phase, swing_buf *cursor, bool *done,
                             swing_err *err)
{
    char prefix[KERN_ID_MAX + 16];
    store_scan sc;
    swing_bytes key;
    bool found = false;
    swing_status s = SWING_OK;
    snprintf(prefix, sizeof prefix, phase == KERN_PHASE_EXPORTS    ? "%s.c.o+"
                                    : phase == KERN_PHASE_IMPORTS  ? "%s.c.o-"
                                    : phase == KERN_PHASE_PROMISES ? "%s.c.p"
                                                                   : "%s.",
             vat);
    store_scan_init(&sc, k->st, swing_str(prefix));
    if (cursor->ptr) s = store_scan_resume(&sc, swing_buf_view(cursor), false, err);
    if (!s) s = store_scan_next(&sc, &key, &found, err);
    if (!s) {
        swing_buf_free(cursor);
        if (found && !(cursor->ptr = swing_malloc(key.len ? key.len : 1))) s = SWING_NOMEM(err);
    }
    if (!s && found) {
        memcpy(cursor->ptr, key.ptr, key.len);
        cursor->len = key.len;
    }
    store_scan_free(&sc);
    *done = !found;
    if (s || !found) return s;
    return drop_entry(k, vat, phase, swing_buf_view(cursor), err);
}

/* Keeps the head vat's phase and cursor for the next step. */
static swing_status save_progress(kern *k, uint64_t phase, const swing_buf *cursor, swing_err *err)
{
    swing_status s = kern_kv_setu(k, phase, err, PHASE_KEY);
    if (!s && cursor->ptr) s = store_set(k->st, swing_str(CURSOR_KEY), swing_buf_view(cursor), err);
    if (!s && !cursor->ptr) s = kern_kv_del(k, err, CURSOR_KEY);
    return s;
}

swing_status kern_teardown_step(kern *k, uint64_t units, uint64_t used[KERN_PHASES], bool *vat_done,
                                swing_err *err)
{
    char vat[KERN_ID_MAX];
    swing_buf cursor = {0};
    uint64_t phase, left = units;
    bool found;
    swing_status s = head(k, vat, &found, err);
    *vat_done = false;
    if (s || !found || units == 0) return s;
    if ((s = kern_kv_getu(k, &phase, &found, err, PHASE_KEY))) return s;
    if (!found) phase = KERN_PHASE_EXPORTS;
    if (phase >= KERN_PHASES) return SWING_CORRUPT(err, "bad %s", PHASE_KEY);
    if ((s = store_get(k->st, swing_str(CURSOR_KEY), &cursor, &found, err))) return s;
    if (!found) swing_buf_free(&cursor);
    while (s == SWING_OK && left > 0 && phase < KERN_PHASES) {
        bool done = false;
        if (phase == KERN_PHASE_TRANSCRIPTS) {
            s = step_transcripts(k, vat, &cursor, &left, &used[phase], &done, err);
            if (s == SWING_OK && !done) break; /* the budget is spent */
        } else if ((s = step_key(k, vat, (kern_phase)phase, &cursor, &done, err)) == SWING_OK && !done) {
            used[phase]++;
            left--;
        }
        if (s == SWING_OK && done) phase++;
    }
    if (s == SWING_OK && phase == KERN_PHASES) {
        *vat_done = true;
        s = pop_head(k, err);
    } else if (s == SWING_OK) {
        s = save_progress(k, phase, &cursor, err);
    }
    swing_buf_free(&cursor);
    return s;
}
