/*
 * utf8oracle.h - an independent UTF-8 check for tests and fuzz targets: it
 * decodes code points and checks their ranges, where base/utf8.c checks
 * byte ranges, so the library's validator is not its own judge. No cmocka.
 */
#ifndef LIBSWING_TESTS_UTF8ORACLE_H
#define LIBSWING_TESTS_UTF8ORACLE_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..n) is well-formed UTF-8 (RFC 3629). */
bool oracle_utf8_valid(const char *s, size_t n);

#endif /* LIBSWING_TESTS_UTF8ORACLE_H */
