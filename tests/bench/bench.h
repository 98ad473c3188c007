/*
 * bench.h - what every benchmark program needs: a monotonic clock and a
 * fatal-error exit. Benchmarks only (tests assert, they do not exit).
 */
#ifndef LIBSWING_TESTS_BENCH_H
#define LIBSWING_TESTS_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/err.h"

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints "<prog>: <what>: <message>" and exits with status 1. */
static inline void bench_die(const char *prog, const char *what, const swing_err *e)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, e ? e->msg : "");
    exit(1);
}

#endif /* LIBSWING_TESTS_BENCH_H */
