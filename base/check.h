/*
 * check.h - invariant macros (STYLE.md "Invariants in debug builds").
 *
 * SWING_ASSERT is live only with SWING_DEBUG and must have no side effects.
 * SWING_ALWAYS / SWING_NEVER wrap "impossible" conditions: they assert in
 * debug builds and evaluate to the condition in release builds, so the
 * caller can still return SWING_ERR_INTERNAL instead of crashing.
 */
#ifndef LIBSWING_BASE_CHECK_H
#define LIBSWING_BASE_CHECK_H

#ifdef SWING_DEBUG
#include <assert.h>
#define SWING_ASSERT(x) assert(x)
#define SWING_ALWAYS(x) (assert(x), 1)
#define SWING_NEVER(x) (assert(!(x)), 0)
#else
#define SWING_ASSERT(x) ((void)0)
#define SWING_ALWAYS(x) (!!(x))
#define SWING_NEVER(x) (!!(x))
#endif

#endif /* LIBSWING_BASE_CHECK_H */
