/*
 * scratch.h - scratch directories for tests and benchmarks: created under
 * $TMPDIR (or /tmp) and removed with everything in them. No cmocka, so
 * benchmark programs can use it too.
 */
#ifndef LIBSWING_TESTS_SCRATCH_H
#define LIBSWING_TESTS_SCRATCH_H

/* A fresh directory $TMPDIR/<tag>-XXXXXX (malloc'ed path), or NULL. */
char *scratch_dir(const char *tag);

/* Removes path and everything under it, then frees path. NULL is a no-op. */
void scratch_remove(char *path);

#endif /* LIBSWING_TESTS_SCRATCH_H */
