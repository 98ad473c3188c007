/*
 * alloc.h - the allocator seam: every byte libswing owns comes from here.
 *
 * Release builds call the C library. Builds with SWING_FAULT_INJECTION add a
 * countdown that fails the Nth allocation, so fault tests can prove that
 * every failure path frees what it took and leaves state unchanged.
 */
#ifndef LIBSWING_BASE_ALLOC_H
#define LIBSWING_BASE_ALLOC_H

#include <stddef.h>

void *swing_malloc(size_t n);            /* NULL on failure */
void *swing_calloc(size_t count, size_t n);
void *swing_realloc(void *p, size_t n);  /* NULL on failure, p untouched */
void swing_mfree(void *p);               /* accepts NULL */
char *swing_strdup(const char *s);

#ifdef SWING_FAULT_INJECTION
/* Test builds only: fail the allocation `n` calls from now (0 = never). */
void swing_alloc_fail_after(long n);
#endif

#endif /* LIBSWING_BASE_ALLOC_H */
