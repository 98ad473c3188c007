/*
 * utf8oracle.h - an independent UTF-8 check for tests and fuzz targets: it
 * decodes code points and checks their ranges, where base/utf8.c checks
 * byte ranges, so the library's validator is not its own judge; and a walk
 * over every string field of an unpacked protobuf-c message. No cmocka.
 */
#ifndef LIBSWING_TESTS_UTF8ORACLE_H
#define LIBSWING_TESTS_UTF8ORACLE_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* Whether s[0..n) is well-formed UTF-8 (RFC 3629). */
bool oracle_utf8_valid(const char *s, size_t n);

/* The field name of the first string field of m, at any depth, that is not
 * well-formed UTF-8, or NULL when all are. */
const char *oracle_bad_string(const ProtobufCMessage *m);

#endif /* LIBSWING_TESTS_UTF8ORACLE_H */
