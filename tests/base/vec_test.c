/*
 * vec_test.c - base/vec.c: the capacity rule (min_cap first, then
 * doubling, clamped at the largest size that fits), the realloc step that
 * keeps contents and leaves pointer and capacity alone on refusal, the
 * NULL/empty cases and SWING_VEC_RESERVE on a typed array.
 */
#include "tests/lib/testlib.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"

static size_t cap_of(size_t cap, size_t need, size_t min_cap, size_t elem)
{
    size_t out = 12345;
    swing_err e;
    swing_err_clear(&e);
    if (swing_vec_cap(cap, need, min_cap, elem, &out, &e) != SWING_OK) fail_msg("refused: %s", e.msg);
    return out;
}

static void test_vec_cap_rule(void **state)
{
    (void)state;
    assert_int_equal(cap_of(0, 0, 8, 4), 0);     /* nothing needed: nothing grows */
    assert_int_equal(cap_of(0, 1, 8, 4), 8);     /* first growth: min_cap */
    assert_int_equal(cap_of(0, 9, 8, 4), 16);    /* min_cap doubled until need fits */
    assert_int_equal(cap_of(8, 8, 64, 4), 8);    /* full but enough */
    assert_int_equal(cap_of(8, 9, 64, 4), 16);   /* a grown array doubles; min_cap no longer counts */
    assert_int_equal(cap_of(16, 100, 8, 4), 128);
    assert_int_equal(cap_of(3, 4, 8, 1), 6);     /* doubling, not rounding to a power of two */
    assert_int_equal(cap_of(0, 1, 0, 4), 1);     /* min_cap 0 counts as 1 */
    assert_int_equal(cap_of(0, 5, 0, 4), 8);
    assert_int_equal(cap_of(100, 50, 8, 4), 100); /* never shrinks */
    assert_int_equal(cap_of(0, 3, 2, 0), 4);     /* zero-size elements never overflow */
}

static void test_vec_cap_clamps_and_refuses_overflow(void **state)
{
    size_t out = 7;
    swing_err e;
    (void)state;
    /* Doubling past the largest count that fits stops at that count. */
    assert_int_equal(cap_of(SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 2, 8, 1), SIZE_MAX);
    assert_int_equal(cap_of(SIZE_MAX / 32, SIZE_MAX / 16, 8, 16), SIZE_MAX / 16);
    assert_int_equal(cap_of(SIZE_MAX / 24, SIZE_MAX / 24 + 1, 8, 16), SIZE_MAX / 16);
    /* A need whose bytes do not fit is refused; *out untouched. */
    swing_err_clear(&e);
    assert_int_equal(swing_vec_cap(0, SIZE_MAX / 16 + 1, 8, 16, &out, &e), SWING_ERR_NOMEM);
    assert_int_equal(out, 7);
    assert_int_equal(e.code, SWING_ERR_NOMEM);
    assert_non_null(strstr(e.msg, "too large"));
    assert_int_equal(swing_vec_cap(4, SIZE_MAX, 8, 2, &out, NULL), SWING_ERR_NOMEM); /* err may be NULL */
    assert_int_equal(out, 7);
}

static void test_vec_grow_keeps_contents(void **state)
{
    uint32_t *v = NULL;
    size_t cap = 0;
    (void)state;
    TL_OK(swing_vec_grow(&v, &cap, 3, sizeof *v, 4, NULL));
    assert_non_null(v);
    assert_int_equal(cap, 4);
    for (uint32_t i = 0; i < 4; i++) v[i] = i * 7;
    TL_OK(swing_vec_grow(&v, &cap, 5, sizeof *v, 4, NULL));
    assert_int_equal(cap, 8);
    for (uint32_t i = 0; i < 4; i++) assert_int_equal(v[i], i * 7);
    swing_mfree(v);
}

static void test_vec_grow_null_and_empty(void **state)
{
    char *v = NULL;
    size_t cap = 0;
    (void)state;
    /* Nothing needed: a NULL array stays NULL, nothing is allocated. */
    TL_OK(swing_vec_grow(&v, &cap, 0, 1, 16, NULL));
    assert_null(v);
    assert_int_equal(cap, 0);
    /* Enough room: the same pointer, the same capacity. */
    TL_OK(swing_vec_grow(&v, &cap, 1, 1, 16, NULL));
    {
        char *before = v;
        TL_OK(swing_vec_grow(&v, &cap, 16, 1, 16, NULL));
        assert_ptr_equal(v, before);
        assert_int_equal(cap, 16);
    }
    swing_mfree(v);
}

static void test_vec_grow_refusal_leaves_array(void **state)
{
    uint64_t *v = NULL;
    size_t cap = 0;
    swing_err e;
    (void)state;
    TL_OK(swing_vec_grow(&v, &cap, 2, sizeof *v, 2, NULL));
    v[0] = 11;
    v[1] = 22;
    {
        uint64_t *before = v;
        swing_err_clear(&e);
        assert_int_equal(swing_vec_grow(&v, &cap, SIZE_MAX / 4, sizeof *v, 2, &e), SWING_ERR_NOMEM);
        assert_int_equal(e.code, SWING_ERR_NOMEM);
        assert_ptr_equal(v, before);
        assert_int_equal(cap, 2);
        assert_int_equal(v[0], 11);
        assert_int_equal(v[1], 22);
    }
    swing_mfree(v);
}

typedef struct vec_item {
    char name[16];
    int n;
} vec_item;

static void test_vec_reserve_macro_on_a_typed_array(void **state)
{
    vec_item *v = NULL;
    size_t n = 0, cap = 0, grew = 0;
    (void)state;
    for (int i = 0; i < 1000; i++) {
        size_t before = cap;
        TL_OK(SWING_VEC_RESERVE(v, cap, n + 1, 8, NULL));
        if (cap != before) grew++;
        snprintf(v[n].name, sizeof v[n].name, "item%d", i);
        v[n++].n = i;
    }
    assert_int_equal(cap, 1024); /* 8, 16, ..., 1024 */
    assert_int_equal(grew, 8);
    for (int i = 0; i < 1000; i++) {
        char want[16];
        snprintf(want, sizeof want, "item%d", i);
        assert_string_equal(v[i].name, want);
        assert_int_equal(v[i].n, i);
    }
    /* need <= cap never calls the allocator. */
    {
        vec_item *before = v;
        TL_OK(SWING_VEC_RESERVE(v, cap, n, 8, NULL));
        assert_ptr_equal(v, before);
        assert_int_equal(cap, 1024);
    }
    swing_mfree(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_cap_rule),
        cmocka_unit_test(test_vec_cap_clamps_and_refuses_overflow),
        cmocka_unit_test(test_vec_grow_keeps_contents),
        cmocka_unit_test(test_vec_grow_null_and_empty),
        cmocka_unit_test(test_vec_grow_refusal_leaves_array),
        cmocka_unit_test(test_vec_reserve_macro_on_a_typed_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
