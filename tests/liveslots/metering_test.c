/*
 * metering_test.c - computrons are consensus data: the same chain charges
 * the same computrons crank by crank in every process, whatever the
 * collector has or has not yet done. A vat re-imports the same presences
 * round after round while its heap churns, so whether a presence is still
 * cached or must be made anew differs between processes; the children run
 * in fresh exec'd processes, with and without address randomization, under
 * a block compute budget that cuts inside the rounds.
 */
#include "tests/lib/rawvat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *BOOT =
    "local vats\n"
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(v) vats = v end,\n"
    "    round = function(n) return E(vats.importer).round(vats.exporter, n) end,\n"
    "  })\n"
    "end\n";

/* The same 300 objects in every answer: the importer gets the same vrefs. */
static const char *EXPORTER =
    "function buildRootObject()\n"
    "  local things = {}\n"
    "  for i = 1, 300 do things[i] = Far('thing', { id = function() return i end }) end\n"
    "  return Far('exporter', { things = function() return things end })\n"
    "end\n";

/* Keeps no presence; churns tables keyed by strings and by objects, whose
 * layout (and so the collector's pace) depends on the hash seed and on
 * addresses. */
static const char *IMPORTER =
    "local keep = {}\n"
    "function buildRootObject()\n"
    "  return Far('importer', {\n"
    "    round = function(exporter, n)\n"
    "      return E(exporter).things():next(function(list)\n"
    "        local byName, byObj = {}, {}\n"
    "        for i = 1, n do\n"
    "          local o = { i }\n"
    "          byName['k' .. i] = o\n"
    "          byObj[o] = i\n"
    "          if i % 3 == 0 then byName['k' .. (i - 1)] = nil end\n"
    "          if i % 7 == 0 then keep[#keep + 1] = o else byObj[o] = nil end\n"
    "          if #keep > 500 then keep = {} end\n"
    "        end\n"
    "        return #list\n"
    "      end)\n"
    "    end,\n"
    "  })\n"
    "end\n";

#define ROUNDS 24
#define MAX_CRANKS 2048
#define MAX_BLOCKS 512
#define BLOCK_BUDGET 40000 /* computrons: cuts inside the rounds */

typedef struct trace {
    uint64_t ncranks, nblocks;
    uint64_t crank[MAX_CRANKS];       /* computrons of each crank, in order */
    char block_hash[MAX_BLOCKS][65];  /* activity hash after each block */
} trace;

typedef struct budget_run {
    trace *t;
    uint64_t spent;
} budget_run;

static bool budget_policy(void *ctx, const kern_crank_info *info)
{
    budget_run *b = ctx;
    if (b->t->ncranks < MAX_CRANKS) b->t->crank[b->t->ncranks] = info->computrons;
    b->t->ncranks++;
    b->spent += info->computrons;
    return b->spent < BLOCK_BUDGET;
}

static tk T;

static void install(const char *src, char id[STORE_BUNDLE_ID_LEN + 1]) { tk_install(&T, src, id); }

/* Runs blocks under the budget until a block runs no crank. */
static int run_blocks(trace *t)
{
    for (;;) {
        budget_run b = {t, 0};
        uint64_t cranks = 0;
        swing_err e;
        if (kern_run(T.k, budget_policy, &b, &cranks, &e)) return 10;
        if (store_commit(T.st, ++T.height, NULL, &e)) return 11;
        if (t->nblocks < MAX_BLOCKS) memcpy(t->block_hash[t->nblocks], store_activity_hash(T.st), 65);
        t->nblocks++;
        if (cranks == 0) return 0;
    }
}

static int child(int fd)
{
    static trace t;
    char boot[80], exporter[80], importer[80], config[1024], kpid[24];
    swing_err e;
    memset(&t, 0, sizeof t);
    tk_open(&T, NULL, 0, NULL);
    install(BOOT, boot);
    install(EXPORTER, exporter);
    install(IMPORTER, importer);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},"
             "\"exporter\":{\"bundleID\":\"%s\"},\"importer\":{\"bundleID\":\"%s\"}}}",
             boot, exporter, importer);
    if (kern_init(T.k, config, strlen(config), &e)) return 3;
    if (run_blocks(&t)) return 4;
    for (int round = 0; round < ROUNDS; round++) {
        char args[32];
        snprintf(args, sizeof args, "[%d]", 500 + 150 * (round % 5));
        if (kern_queue_to_vat(T.k, "boot", "round", args, kpid, &e)) return 5;
        if (run_blocks(&t)) return 6;
        if (kern_release(T.k, kpid, &e)) return 7;
    }
    if (write(fd, &t, sizeof t) != (ssize_t)sizeof t) return 2;
    tk_close(&T);
    return 0;
}

static void expect_same(const trace *a, const trace *b, const char *what)
{
    assert_int_equal(a->ncranks, b->ncranks);
    for (uint64_t i = 0; i < a->ncranks && i < MAX_CRANKS; i++)
        if (a->crank[i] != b->crank[i])
            fail_msg("%s: crank %llu charged %llu vs %llu", what, (unsigned long long)i,
                     (unsigned long long)a->crank[i], (unsigned long long)b->crank[i]);
    assert_int_equal(a->nblocks, b->nblocks);
    for (uint64_t i = 0; i < a->nblocks && i < MAX_BLOCKS; i++)
        if (strcmp(a->block_hash[i], b->block_hash[i]) != 0)
            fail_msg("%s: block %llu hash differs", what, (unsigned long long)i + 1);
}

static void test_metering_reimports_under_churn(void **state)
{
    static trace runs[4];
    (void)state;
    for (int i = 0; i < 4; i++)
        tl_run_self_layout("METERING_TEST_CHILD_FD", &runs[i], sizeof runs[i], i >= 2);
    assert_true(runs[0].ncranks > 4 * ROUNDS && runs[0].ncranks <= MAX_CRANKS);
    assert_true(runs[0].nblocks > ROUNDS + 1 && runs[0].nblocks <= MAX_BLOCKS); /* the budget cut */
    expect_same(&runs[0], &runs[1], "randomized vs randomized");
    expect_same(&runs[0], &runs[2], "randomized vs fixed layout");
    expect_same(&runs[2], &runs[3], "fixed vs fixed layout");
}

int main(void)
{
    const char *child_fd = getenv("METERING_TEST_CHILD_FD");
    if (child_fd) return child(atoi(child_fd));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metering_reimports_under_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
