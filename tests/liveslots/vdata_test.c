/*
 * vdata_test.c - reference-count changes of a stored value
 * (liveslots/lua/vdata.c): set semantics (a vref twice in one capdata
 * counts once), sorted vref order, and a model check on random slot lists.
 */
#include "tests/lib/testlib.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "liveslots/lua/vdata.h"

static void test_known_changes(void **state)
{
    const char *old[] = {"o-5", "o+v10/1", "o-5", "o-2"};
    const char *new_slots[] = {"o-2", "o-9", "o+d11/3:1", "o-9"};
    ls_lua_vdata_change *c;
    size_t n;
    (void)state;
    TL_OK(ls_lua_vdata_changes(old, 4, new_slots, 4, &c, &n, NULL));
    assert_int_equal(n, 4);
    /* bytewise: "o+d11/3:1" < "o+v10/1" < "o-5" < "o-9" */
    assert_string_equal(c[0].vref, "o+d11/3:1");
    assert_int_equal(c[0].delta, 1);
    assert_string_equal(c[1].vref, "o+v10/1");
    assert_int_equal(c[1].delta, -1);
    assert_string_equal(c[2].vref, "o-5");
    assert_int_equal(c[2].delta, -1);
    assert_string_equal(c[3].vref, "o-9");
    assert_int_equal(c[3].delta, 1);
    swing_mfree(c);
    TL_OK(ls_lua_vdata_changes(old, 4, old, 4, &c, &n, NULL)); /* no change: nothing */
    assert_int_equal(n, 0);
    assert_null(c);
    TL_OK(ls_lua_vdata_changes(NULL, 0, NULL, 0, &c, &n, NULL));
    assert_int_equal(n, 0);
}

static void test_random_lists_match_a_model(void **state)
{
    static const char *alphabet[] = {"o-1", "o-2", "o-10", "o+v10/1", "o+v10/1:0", "o+d6/1", "p-5", "o+3"};
    const size_t na = sizeof alphabet / sizeof *alphabet;
    unsigned seed = 14;
    (void)state;
    for (int round = 0; round < 20000; round++) {
        const char *old[12], *new_slots[12];
        int in_old[8] = {0}, in_new[8] = {0};
        size_t nold = (size_t)rand_r(&seed) % 12, nnew = (size_t)rand_r(&seed) % 12, n, want = 0;
        ls_lua_vdata_change *c;
        for (size_t i = 0; i < nold; i++) {
            size_t x = (size_t)rand_r(&seed) % na;
            old[i] = alphabet[x];
            in_old[x] = 1;
        }
        for (size_t i = 0; i < nnew; i++) {
            size_t x = (size_t)rand_r(&seed) % na;
            new_slots[i] = alphabet[x];
            in_new[x] = 1;
        }
        TL_OK(ls_lua_vdata_changes(old, nold, new_slots, nnew, &c, &n, NULL));
        for (size_t x = 0; x < na; x++) want += in_old[x] != in_new[x];
        assert_int_equal(n, want);
        for (size_t i = 0; i < n; i++) {
            size_t x = 0;
            while (strcmp(alphabet[x], c[i].vref) != 0) x++;
            assert_int_equal(c[i].delta, in_new[x] - in_old[x]);
            if (i > 0) assert_true(strcmp(c[i - 1].vref, c[i].vref) < 0);
        }
        swing_mfree(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_changes),
        cmocka_unit_test(test_random_lists_match_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
