/*
 * transcript.h - span record encoding shared by transcript.c, export.c and
 * import.c (the operations themselves are declared in store.h).
 */
#ifndef LIBSWING_STORE_TRANSCRIPT_H
#define LIBSWING_STORE_TRANSCRIPT_H

#include "store/store.h"

#define STORE_SPAN_JSON_MAX 320

/* Canonical span JSON of keys.h; returns its length (0 if cap too small). */
size_t store_transcript_render(const char *vat, const store_span *sp, char *out, size_t cap);

/* Strict parse of canonical span JSON; false on anything else. */
bool store_transcript_parse(swing_bytes v, char vat[STORE_VAT_ID_MAX + 1], store_span *sp);

#endif /* LIBSWING_STORE_TRANSCRIPT_H */
