/*
 * transcript.c - per-vat transcripts: items at titem.<vat>.<pos>, the
 * current span record at transcript.<vat>.current and closed spans at
 * transcript.<vat>.<start> (keys.h). The span hash chains item by item:
 * seed = SHA256("start of transcript span"), h' = SHA256(h || SHA256(item)),
 * both as lowercase hex text.
 */
#include "store/transcript.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/alloc.h"
#include "store/store_int.h"

void store_transcript_seed(char hash[SWING_SHA256_HEX_LEN + 1])
{
    static const char seed[] = "start of transcript span";
    swing_sha256_hex(seed, sizeof seed - 1, hash);
}

void store_transcript_step(char hash[SWING_SHA256_HEX_LEN + 1], swing_bytes item)
{
    char ih[SWING_SHA256_HEX_LEN + 1];
    swing_sha256 h;
    swing_sha256_hex(item.ptr, item.len, ih);
    swing_sha256_init(&h);
    swing_sha256_update(&h, hash, SWING_SHA256_HEX_LEN);
    swing_sha256_update(&h, ih, SWING_SHA256_HEX_LEN);
    swing_sha256_final_hex(&h, hash);
}

size_t store_transcript_render(const char *vat, const store_span *sp, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "{\"endPos\":%" PRIu64 ",\"hash\":\"%s\",\"incarnation\":%" PRIu64
                     ",\"startPos\":%" PRIu64 ",\"vatID\":\"%s\"}",
                     sp->end, sp->hash, sp->incarnation, sp->start, vat);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

bool store_transcript_parse(swing_bytes v, char vat[STORE_VAT_ID_MAX + 1], store_span *sp)
{
    char text[STORE_SPAN_JSON_MAX], again[STORE_SPAN_JSON_MAX];
    unsigned long long e, i, s;
    int used = -1;
    if (v.len == 0 || v.len >= sizeof text) return false;
    memcpy(text, v.ptr, v.len);
    text[v.len] = '\0';
    if (sscanf(text,
               "{\"endPos\":%llu,\"hash\":\"%64[0-9a-f]\",\"incarnation\":%llu,"
               "\"startPos\":%llu,\"vatID\":\"%64[A-Za-z0-9_-]\"}%n",
               &e, sp->hash, &i, &s, vat, &used) != 5)
        return false;
    if (used != (int)v.len || strlen(sp->hash) != SWING_SHA256_HEX_LEN) return false;
    sp->end = e;
    sp->incarnation = i;
    sp->start = s;
    if (sp->start > sp->end) return false;
    /* Canonical form only: rendering again gives the same bytes. */
    return store_transcript_render(vat, sp, again, sizeof again) == v.len &&
           memcmp(again, text, v.len) == 0;
}

static size_t span_key(uint8_t *pk, const char *vat, const char *tail)
{
    int n = snprintf((char *)pk, STORE_PKEY_MAX, "%s%s.%s", STORE_NS_SPAN, vat, tail);
    return n < 0 ? 0 : (size_t)n;
}

static size_t item_key(uint8_t *pk, const char *vat, uint64_t pos)
{
    char p[21];
    store_keys_pos(p, pos);
    return (size_t)snprintf((char *)pk, STORE_PKEY_MAX, "%s%s.%s", STORE_NS_ITEM, vat, p);
}

static swing_status check_vat(store *st, const char *vat, swing_err *err)
{
    swing_status s = store_check_usable(st, err);
    if (s) return s;
    if (!store_keys_vat_valid(vat))
        return swing_err_set(err, SWING_ERR_INVALID, "invalid vat ID for a transcript");
    return SWING_OK;
}

static swing_status load_current(store *st, const char *vat, store_span *sp, bool *found,
                                 swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    char rvat[STORE_VAT_ID_MAX + 1];
    swing_buf v = {0};
    swing_status s = store_layers_get(st, swing_bytes_of(pk, span_key(pk, vat, "current")), &v,
                                      found, err);
    if (s || !*found) return s;
    if (!store_transcript_parse(swing_buf_view(&v), rvat, sp) || strcmp(rvat, vat) != 0)
        s = SWING_CORRUPT(err, "bad current span record for vat %s", vat);
    swing_buf_free(&v);
    return s;
}

static swing_status save_span(store *st, const char *vat, const char *tail,
                              const store_span *sp, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    char json[STORE_SPAN_JSON_MAX];
    size_t jl = store_transcript_render(vat, sp, json, sizeof json);
    return store_layers_put(st, swing_bytes_of(pk, span_key(pk, vat, tail)),
                            swing_bytes_of(json, jl), false, err);
}

swing_status store_transcript_current(store *st, const char *vat, store_span *span,
                                      bool *found, swing_err *err)
{
    swing_status s = check_vat(st, vat, err);
    *found = false;
    if (s) return s;
    return load_current(st, vat, span, found, err);
}

static void fresh_span(store_span *sp, uint64_t incarnation, uint64_t pos)
{
    sp->incarnation = incarnation;
    sp->start = pos;
    sp->end = pos;
    store_transcript_seed(sp->hash);
}

swing_status store_transcript_append(store *st, const char *vat, swing_bytes item,
                                     uint64_t *pos, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    store_span sp;
    bool found;
    swing_status s = check_vat(st, vat, err);
    if (s || (s = load_current(st, vat, &sp, &found, err))) return s;
    if (!found) fresh_span(&sp, 0, 0);
    if (item.len > STORE_VALUE_MAX)
        return swing_err_set(err, SWING_ERR_LIMIT, "transcript item too large");
    s = store_layers_put(st, swing_bytes_of(pk, item_key(pk, vat, sp.end)), item, false, err);
    if (s) return s;
    store_transcript_step(sp.hash, item);
    if (pos) *pos = sp.end;
    sp.end++;
    return save_span(st, vat, "current", &sp, err);
}

swing_status store_transcript_rollover(store *st, const char *vat, swing_err *err)
{
    store_span sp, next;
    bool found;
    swing_status s = check_vat(st, vat, err);
    if (s || (s = load_current(st, vat, &sp, &found, err))) return s;
    if (!found) fresh_span(&sp, 0, 0);
    if (sp.end > sp.start) {
        char p[21];
        store_keys_pos(p, sp.start);
        if ((s = save_span(st, vat, p, &sp, err))) return s;
    }
    fresh_span(&next, sp.incarnation + 1, sp.end);
    return save_span(st, vat, "current", &next, err);
}

swing_status store_transcript_read(store *st, const char *vat, uint64_t start,
                                   uint64_t end, store_item_fn fn, void *ctx,
                                   swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    swing_status s = check_vat(st, vat, err);
    if (s) return s;
    for (uint64_t p = start; p < end; p++) {
        swing_buf v = {0};
        bool found;
        s = store_layers_get(st, swing_bytes_of(pk, item_key(pk, vat, p)), &v, &found, err);
        if (s == SWING_OK && !found)
            s = SWING_CORRUPT(err, "transcript item %s/%llu is missing", vat, (unsigned long long)p);
        if (s == SWING_OK) s = fn(ctx, p, swing_buf_view(&v), err);
        swing_buf_free(&v);
        if (s) return s;
    }
    return SWING_OK;
}

/* Deletes one span: its items [start, end) (blind tombstones: a node restored
 * from an operational export lacks old items) and then its record. */
static swing_status delete_span(store *st, const char *vat, swing_bytes rec_key,
                                swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    char rvat[STORE_VAT_ID_MAX + 1];
    store_span sp;
    swing_buf v = {0};
    bool found;
    swing_status s = store_layers_get(st, rec_key, &v, &found, err);
    if (s) return s;
    if (!found || !store_transcript_parse(swing_buf_view(&v), rvat, &sp) || strcmp(rvat, vat) != 0) {
        swing_buf_free(&v);
        return SWING_CORRUPT(err, "bad span record while deleting vat %s", vat);
    }
    swing_buf_free(&v);
    for (uint64_t p = sp.start; p < sp.end && s == SWING_OK; p++)
        s = store_layers_put(st, swing_bytes_of(pk, item_key(pk, vat, p)), swing_bytes_of(NULL, 0),
                             true, err);
    if (s == SWING_OK) s = store_layers_put(st, rec_key, swing_bytes_of(NULL, 0), true, err);
    return s;
}

swing_status store_transcript_delete(store *st, const char *vat, uint64_t budget,
                                     uint64_t *used, bool *done, swing_err *err)
{
    char ns[STORE_PKEY_MAX];
    swing_buf rec = {0};
    uint64_t n = 0;
    bool found = true;
    swing_status s = check_vat(st, vat, err);
    *done = false;
    if (used) *used = 0;
    if (s) return s;
    snprintf(ns, sizeof ns, "%s%s.", STORE_NS_SPAN, vat);
    /* Oldest span first ("current" sorts after the 20-digit starts); each
     * search starts after the record this call deleted last. */
    for (;;) {
        swing_buf next = {0};
        s = rec.ptr ? store_layers_next(st, swing_str(ns), swing_buf_view(&rec), false, &next, &found, err)
                    : store_layers_next(st, swing_str(ns), swing_str(ns), true, &next, &found, err);
        swing_buf_free(&rec);
        rec = next;
        if (s || !found || n == budget) break;
        if ((s = delete_span(st, vat, swing_buf_view(&rec), err))) break;
        n++;
    }
    swing_buf_free(&rec);
    if (s == SWING_OK) *done = !found;
    if (used) *used = n;
    return s;
}

swing_status store_transcript_stop(store *st, const char *vat, uint64_t *start, uint64_t *end,
                                   swing_err *err)
{
    char ns[STORE_PKEY_MAX], rvat[STORE_VAT_ID_MAX + 1];
    bool any = false;
    swing_status s = check_vat(st, vat, err);
    *start = *end = 0;
    if (s) return s;
    snprintf(ns, sizeof ns, "%s%s.", STORE_NS_SPAN, vat);
    for (;;) {
        swing_buf rec = {0}, v = {0};
        store_span sp;
        bool found;
        s = store_layers_next(st, swing_str(ns), swing_str(ns), true, &rec, &found, err);
        if (s || !found) break;
        s = store_layers_get(st, swing_buf_view(&rec), &v, &found, err);
        if (s == SWING_OK && (!found || !store_transcript_parse(swing_buf_view(&v), rvat, &sp) ||
                              strcmp(rvat, vat) != 0))
            s = SWING_CORRUPT(err, "bad span record while stopping vat %s", vat);
        swing_buf_free(&v);
        if (s == SWING_OK) {
            if (!any || sp.start < *start) *start = sp.start;
            if (!any || sp.end > *end) *end = sp.end;
            any = true;
            s = store_layers_put(st, swing_buf_view(&rec), swing_bytes_of(NULL, 0), true, err);
        }
        swing_buf_free(&rec);
        if (s) break;
    }
    return s;
}

swing_status store_transcript_delete_items(store *st, const char *vat, uint64_t from, uint64_t to,
                                           swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    swing_status s = check_vat(st, vat, err);
    for (uint64_t p = from; s == SWING_OK && p < to; p++)
        s = store_layers_put(st, swing_bytes_of(pk, item_key(pk, vat, p)), swing_bytes_of(NULL, 0), true, err);
    return s;
}
