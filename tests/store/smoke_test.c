/*
 * smoke_test.c - the store opens, writes through a crank, commits, reopens.
 */
#include "tests/lib/testlib.h"

static void test_store_commit_survives_reopen(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    tl_put(st, "a", "1");
    TL_OK(store_commit(st, 1, &d, NULL));
    assert_int_equal(d->count, 2); /* kv.a and kv.activityhash */
    store_delta_destroy(d);
    store_close(st);
    st = tl_open(dir);
    tl_expect(st, "a", "1");
    assert_int_equal(store_height(st), 1);
    store_close(st);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_commit_survives_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
