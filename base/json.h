/*
 * json.h - the one canonical JSON text for consensus data (DESIGN.md §3):
 * numbers and strings written the same by every encoder of the library
 * (the vat's marshal and the kernel's JSON writer both use these).
 *
 * Numbers: integers in decimal; floats with the fewest significant digits
 * that read back as the same double, in ECMAScript Number::toString notation
 * (fixed for decimal exponents -7 < x < 21, else d.ddde+x), plus ".0" when
 * the text would read as an integer (2.0 -> "2.0", 1e21 -> "1e+21").
 * Strings: UTF-8 checked (base/utf8.h); '"', '\\' and control characters escaped (\b \f \n \r \t, else
 * \u00xx in lower-case hex); everything else written as is. The C
 * library's locale never shows.
 */
#ifndef LIBSWING_BASE_JSON_H
#define LIBSWING_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any number's text, NUL included. */
#define SWING_JSON_NUMBER_MAX 40

/* Where text goes: appends n bytes. */
typedef void (*swing_json_put)(void *ctx, const char *s, size_t n);

/* Writes the float d (finite) into out; returns its length. */
size_t swing_json_float(double d, char out[SWING_JSON_NUMBER_MAX]);
/* Writes the integer i into out; returns its length. */
size_t swing_json_integer(long long i, char out[SWING_JSON_NUMBER_MAX]);

/* Writes the JSON-escaped contents of a string (no quotes). Returns false,
 * having written a prefix, when s is not valid UTF-8. */
bool swing_json_escaped(swing_json_put put, void *ctx, const char *s, size_t n);

#endif /* LIBSWING_BASE_JSON_H */
