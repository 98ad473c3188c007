/*
 * chain.h - a simulated chain's inputs for `swing run`: the chain config
 * (genesis kernel config, bundle files, block clock, compute limit, clean-up
 * budget) and the action script (inbound messages, vat terminations and
 * vat upgrades per height). The formats are the ones cmd/simchain reads (docs/abi.md,
 * "Simulated chains").
 */
#ifndef LIBSWING_CLI_CHAIN_H
#define LIBSWING_CLI_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swing/v1/swing.pb-c.h"

typedef struct cli_bundle {
    char *name;
    uint8_t *source;
    size_t len;
} cli_bundle;

/* The block-end clean-up budget the config and flags gave, field by field.
 * When none was given end_block carries no budget (the library's defaults);
 * otherwise the fields not given are the library's defaults, which the
 * node reports when it opens (OpenResponse.default_cleanup; cli_chain_cleanup_resolve). */
enum { CLI_CLEANUP_GC_KREFS, CLI_CLEANUP_BOYDS, CLI_CLEANUP_UNITS, CLI_CLEANUP_FIELDS };
typedef struct cli_cleanup {
    bool given[CLI_CLEANUP_FIELDS];     /* the config or a flag gave the field */
    uint64_t value[CLI_CLEANUP_FIELDS]; /* ... and its value */
} cli_cleanup;

typedef struct cli_chain {
    char *kernel_json;       /* the genesis config, compact JSON */
    cli_bundle *bundles;     /* sorted by name */
    size_t n_bundles;
    uint64_t compute_limit;  /* computrons per block, 0: none */
    int64_t genesis_time;    /* unix seconds of block 1 */
    int64_t block_interval;  /* seconds between blocks */
    cli_cleanup cleanup;     /* "cleanup": {"gc_krefs","boyds","terminated_units"} */
} cli_chain;

typedef enum cli_action_type {
    CLI_ACTION_INBOUND,
    CLI_ACTION_TERMINATE,
    CLI_ACTION_UPGRADE,     /* "upgrade": upgrade_vat */
    CLI_ACTION_UPGRADE_ALL, /* "upgrade_all": upgrade_all_vats */
    CLI_ACTION_WIND_DOWN    /* "wind_down": wind_down_vat */
} cli_action_type;

typedef struct cli_action {
    cli_action_type type;
    uint64_t height;         /* the block it enters; with every: the first one */
    uint64_t every;          /* repeats at heights that are multiples of every */
    char *id;                /* inbound id; NULL: generated per height */
    char *vat, *method, *args_json, *reason; /* vat: NULL only for upgrade_all */
    char *bundle;            /* upgrade: a bundle name; NULL: the vat's current bundle */
    char *params_json;       /* upgrade: new vatParameters, compact JSON; NULL: the retained ones */
    char *message;           /* upgrade: the upgrade message; NULL: the default */
} cli_action;

typedef struct cli_actions {
    cli_action *v;
    size_t n;
} cli_actions;

/* Both loaders return 0, or non-zero with a message in why. */
int cli_chain_load(const char *path, cli_chain *out, char *why, size_t why_len);
void cli_chain_free(cli_chain *c);

int cli_chain_actions_load(const char *path, cli_actions *out, char *why, size_t why_len);
void cli_chain_actions_free(cli_actions *a);

/* Whether action a enters block h. */
bool cli_chain_action_due(const cli_action *a, uint64_t h);

/* The CleanupBudget end_block carries: false when nothing was given (send
 * none), else *out filled, defaults where nothing was given. */
bool cli_chain_cleanup_resolve(const cli_cleanup *cl, const Swing__V1__CleanupBudget *defaults,
                         Swing__V1__CleanupBudget *out);

#endif /* LIBSWING_CLI_CHAIN_H */
