/*
 * kernel.h - the contract of the libswing kernel (DESIGN.md §5, §6): vats,
 * c-lists, queues, promises, refcounts and persistent gradual GC over the
 * store. All durable state is in the store (schema: kernel/SCHEMA.md); the
 * handle holds only vat workers and per-crank scratch. The host owns the
 * store and its block commits; the kernel owns cranks.
 *
 * Who implements what (the names below are kern_ plus a verb, not a file
 * prefix, so tests/layout/layout_test.sh accepts every name declared here):
 *   open, close, genesis (kern_open .. kern_initialized)   kernel/kernel.c
 *   running: budgets, kern_run, kern_step, kern_work_block,
 *     kern_cleanup                                         kernel/work.c
 *   host access: queue_to_vat, promises, vats, bundles     kernel/kernel.c
 *     kern_dirty_vats kernel/reap.c, kern_run_queue_length kernel/queue.c,
 *     kern_panicked kernel/crank.c
 *   termination records, kern_vats_list                    kernel/termination.c
 *   upgrades: kern_upgrade_vat .. kern_vat_incarnation      kernel/upgrade.c
 *   kern_bundle_name(s), kern_bundle_named                 kernel/vatadmin.c
 *   kern_encode_plain                                      kernel/capdata.c
 *   kern_wind_down_vat                                     kernel/winddown.c
 */
#ifndef LIBSWING_KERNEL_KERNEL_H
#define LIBSWING_KERNEL_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "vatproto/runtime.h"
#include "vatproto/vatproto.h"
#include "store/store.h"

typedef struct kern kern;

/* A raw C vat: its dispatch function is the whole vat. `user` is passed back;
 * the vat ID tells instances apart. Registered by name at kern_open. */
typedef swing_status (*kern_raw_dispatch)(void *user, vp_channel *io, const vp_delivery *d,
                                          vp_delivery_result *r);
typedef struct kern_raw_vat {
    const char *name;           /* referenced as {"source":"raw:<name>"} in config */
    kern_raw_dispatch dispatch; /* must not be NULL */
    void *user;                 /* passed to dispatch */
} kern_raw_vat;

typedef struct kern_options {
    const kern_raw_vat *raw_vats; /* registry of raw C vats (borrowed; must outlive kern) */
    size_t nraw;
    uint32_t gc_batch;            /* max krefs per GC delivery at genesis (0: 500) */
    /* Vat runtimes (borrowed; must outlive kern). Bundles are checked and
     * bundle vats ({"bundleID": ...}) run by runtimes[0]; with none, both
     * are refused (INVALID). */
    const vp_runtime *runtimes;
    size_t nruntimes;
} kern_options;

/* Opens the kernel over an open store (which must outlive the kernel).
 * Errors: CORRUPT (stored kernel state of another schema), NOMEM. */
swing_status kern_open(store *st, const kern_options *opt, kern **out, swing_err *err);
void kern_close(kern *k);

/* Genesis from a JSON config (see docs/kernel.md):
 *   {"bootstrap":"name", "vats":{"name":{"source":"raw:x","parameters":{...},
 *    "critical":false,"enablePipelining":false}}, "gcBatch":500}
 * Creates static vats, queues their startVat and the bootstrap message
 * bootstrap(vats) to the bootstrap vat's root, in one crank.
 * Errors: INVALID (bad config), OUT_OF_ORDER (already initialized). */
swing_status kern_init(kern *k, const char *config, size_t len, swing_err *err);
bool kern_initialized(kern *k);

/* ===== running: the crank engine (kernel/work.c) ===== */

/* Deletion phases of a terminated vat, in order. */
typedef enum kern_phase {
    KERN_PHASE_EXPORTS = 0,     /* c-list exports: orphaned */
    KERN_PHASE_IMPORTS = 1,     /* c-list imports: released */
    KERN_PHASE_PROMISES = 2,    /* c-list promises: released */
    KERN_PHASE_KV = 3,          /* every other vNN. key (vatParameters released) */
    KERN_PHASE_TRANSCRIPTS = 4, /* transcript items */
    KERN_PHASES = 5
} kern_phase;

typedef enum kern_crank_kind {
    KERN_CRANK_ROUTING = 1,     /* an acceptance-queue event was routed */
    KERN_CRANK_DELIVERY = 2,    /* a message, notify or startVat was delivered */
    KERN_CRANK_GC = 3,          /* maybe-free krefs processed, no delivery */
    KERN_CRANK_GC_DELIVERY = 4, /* dropExports / retireExports / retireImports */
    KERN_CRANK_EMPTY = 5,       /* nothing delivered (splat, skipped notify) */
    KERN_CRANK_BOYD = 6,        /* bringOutYourDead delivered */
    KERN_CRANK_TEARDOWN = 7,    /* part of a terminated vat's state deleted */
    KERN_CRANK_UPGRADE = 8,     /* an upgradeVat event: done, or rolled back and reported */
    KERN_CRANK_WIND_DOWN = 9    /* a windDownVat event: the vat switched to its wind-down worker */
} kern_crank_kind;

typedef struct kern_crank_info {
    kern_crank_kind kind;
    char vat_id[24];             /* vat delivered to, "" if none */
    uint64_t computrons;         /* reported by the vat */
    bool vat_failed;             /* the vat was terminated by this crank */
    size_t gc_krefs;             /* krefs in a GC delivery, or processed by a GC crank */
    size_t gc_examined;          /* GC delivery: actions consumed, negated ones too */
    uint64_t units[KERN_PHASES]; /* teardown: deletion units per phase */
    bool vat_deleted;            /* teardown: the vat's state is all gone */
    uint64_t wind_down_items;    /* a wind-down worker's BOYD: vatstore items deleted */
    bool wind_down;              /* ... this was one: */
    uint64_t wind_down_left;     /* the items it has left (counted so far, while counting) */
    bool wind_down_counting;
    uint64_t syscalls;           /* syscalls the vat made (a replay's are not counted) */
} kern_crank_info;

/* Called after every crank of normal work; return false to stop the run.
 * The crank that stopped the run is complete. */
typedef bool (*kern_policy_fn)(void *ctx, const kern_crank_info *info);

/* What a block may do. Normal work (routing, reapQueue BOYDs, deliveries)
 * runs until no work is left or `compute` computrons are spent (0: no limit);
 * the block-end clean-up (DESIGN.md §6.4, §6.5) then does, each within its
 * field (0: none of that work): deletion of terminated vats (`units`: one
 * c-list entry, kv key or transcript item each), BOYDs of vats at the head
 * of the dirty list (`boyds`, each carrying kernel.reapBudget), and GC work
 * (`gc_krefs`: maybe-free decisions and krefs carried by GC deliveries). */
typedef struct kern_budget {
    uint64_t compute;  /* computrons of normal work; 0 = no limit */
    uint64_t gc_krefs; /* krefs of GC work */
    uint64_t boyds;    /* BOYDs of dirty vats */
    uint64_t units;    /* terminated-vat deletion units, all phases */
} kern_budget;

/* The budget of a block whose host gives none: no compute limit, 5000 GC
 * krefs, 2 BOYDs, 5000 deletion units. The only place defaults are set; the
 * ABI reports them to hosts (OpenResponse.default_cleanup). */
void kern_budget_default(kern_budget *b);

/* Work done by one part of a block. */
typedef struct kern_work_counts {
    uint64_t cranks;              /* cranks run */
    uint64_t computrons;          /* computrons vats reported */
    uint64_t gc_krefs;            /* GC krefs processed (a GC delivery's
                                     consumed actions, negated ones too) */
    uint64_t gc_deliveries;       /* GC deliveries among the GC cranks */
    uint64_t boyds;               /* BOYDs delivered */
    uint64_t units[KERN_PHASES];  /* deletion units per phase */
    uint64_t vats_deleted;        /* terminated vats whose state is gone */
    uint64_t wind_down_items;     /* vatstore items wind-down workers deleted */
    uint64_t syscalls;            /* syscalls vats made in deliveries */
} kern_work_counts;

typedef struct kern_work_report {
    kern_work_counts normal;      /* normal work */
    kern_work_counts cleanup;     /* block-end clean-up */
    kern_work_counts total;       /* both (each crank counted once, in its part and here) */
    bool work_left;               /* the compute budget stopped normal work */
    /* left after the clean-up */
    uint64_t gc_krefs_left;       /* maybe-free entries + GC actions waiting */
    uint64_t dirty_vats;          /* vats on the dirty list */
    uint64_t terminated_vats;     /* terminated vats not yet deleted */
    int phase;                    /* the head terminated vat's phase, -1 if none */
    uint64_t winding_down;        /* vats winding down */
    uint64_t wind_down_left;      /* the vatstore items the block's last wind-down BOYD left */
    bool wind_down_counting;      /* ... counted so far: that worker is still counting */
} kern_work_report;

/* One block's work: normal work under b->compute, then the clean-up under
 * the rest of *b. Fills *r (may be NULL). */
swing_status kern_work_block(kern *k, const kern_budget *b, kern_work_report *r, swing_err *err);

/* The clean-up part alone (b->compute unused); r->normal stays zero. */
swing_status kern_cleanup(kern *k, const kern_budget *b, kern_work_report *r, swing_err *err);

/* Runs one crank, GC work included (the kernel's own schedule: acceptance
 * queue, a GC delivery, a maybe-free chunk, a reapQueue BOYD, the run
 * queue). *did is false when there was no work. */
swing_status kern_step(kern *k, kern_crank_info *info, bool *did, swing_err *err);
/* Runs such cranks until no work is left or the policy says stop (policy
 * may be NULL: run to quiescence). *cranks (may be NULL) = cranks run. */
swing_status kern_run(kern *k, kern_policy_fn policy, void *ctx, uint64_t *cranks,
                      swing_err *err);
/* As kern_run, but GC work (the maybe-free set and GC deliveries) is left to
 * the clean-up: the normal work of a block. */
#define KERN_RUN_NO_GC 1u
swing_status kern_run_flags(kern *k, unsigned flags, kern_policy_fn policy, void *ctx,
                            uint64_t *cranks, swing_err *err);

/* The dirty-vat list in order (vat IDs; caller frees *vats with swing_mfree;
 * reap.c). */
swing_status kern_dirty_vats(kern *k, char (**vats)[24], size_t *n, swing_err *err);

/* ===== host access ===== */

/* Queues method(args) to a named vat's root object in its own crank; the
 * result promise is held by the kernel (+1) until kern_release. kpid gets
 * its name. args: smallcaps capdata whose slots are krefs. */
swing_status kern_queue_to_vat(kern *k, const char *vat_name, const char *method,
                               const char *args_body, char kpid[24], swing_err *err);

/* The host's names for the inbound results it waits for: consensus state
 * (exported, hashed), so a node restored from an export knows them. */
#define KERN_KEY_INBOUND "kernel.inbound." /* + id = kpid */

/* kern_queue_to_vat with the result named by the host: records
 * kernel.inbound.<id> = kpid in the same crank. INVALID if id is empty or
 * already pending. */
swing_status kern_inbound_queue(kern *k, const char *id, const char *vat_name, const char *method,
                                const char *args_body, char kpid[24], swing_err *err);
/* Forgets the inbound id and drops the kernel's hold on its result (if it
 * still holds it), in one crank. INVALID if id is not pending. */
swing_status kern_inbound_release(kern *k, const char *id, swing_err *err);

typedef enum kern_promise_state {
    KERN_PROMISE_UNKNOWN = 0,
    KERN_PROMISE_UNRESOLVED = 1,
    KERN_PROMISE_FULFILLED = 2,
    KERN_PROMISE_REJECTED = 3
} kern_promise_state;

/* State and, if settled, resolution body (caller frees) of a promise. */
swing_status kern_promise_status(kern *k, const char *kpid, kern_promise_state *state,
                                 swing_buf *body, swing_err *err);
/* Drops the kernel's hold on a kref taken by kern_queue_to_vat / genesis. */
swing_status kern_release(kern *k, const char *kref, swing_err *err);

/* Creates a vat after genesis, in its own crank (the host's create_vat; a
 * vat-admin service comes later). vat_config is one vat entry of the genesis
 * config; params (may be NULL: plain "parameters" of vat_config) is
 * kernel-side capdata whose slots are krefs the kernel retains (+1 each) in
 * vNN.vatParameters until the vat is deleted. */
swing_status kern_create_vat(kern *k, const char *name, const char *vat_config,
                             const vp_capdata *params, char vat_id[24], swing_err *err);

/* Schedules a bringOutYourDead delivery to a vat (FIFO reapQueue, served
 * after GC work and before the run queue). budget 0 = no limit. Dirt-driven
 * scheduling builds on this (block-end clean-up). */
swing_status kern_bring_out_your_dead(kern *k, const char *vat_name, uint64_t budget,
                                      swing_err *err);

/* Queues changeVatOptions(options) for a vat: the kernel applies the options
 * it owns ("reapDirtThreshold", "critical") to vNN.options and delivers the
 * whole object to the vat. options: a JSON object. */
swing_status kern_change_vat_options(kern *k, const char *vat_name, const char *options,
                                     swing_err *err);

/* Checks a Lua bundle (format, every module compiles) and stores it in its
 * own crank; id receives b1-<sha256>. INVALID with "<module>:<line>: ..." on
 * a syntax error. Vats name it with {"bundleID": id} in their config. */
swing_status kern_install_bundle(kern *k, const void *bytes, size_t len, char id[STORE_BUNDLE_ID_LEN + 1],
                                 swing_err *err);

/* Discards a vat's worker; the next delivery rebuilds it by replaying the
 * vat's transcript (the effect of a page-out, or of a restart). */
swing_status kern_evict_worker(kern *k, const char *vat_name, swing_err *err);

/* Terminates a vat (host request), in its own crank, with kind
 * KERN_TERM_HOST and the host's reason (NULL or "": "terminated by the
 * host"). A vat already terminated (deleted or not) keeps its first reason:
 * OK, nothing changes. INVALID if no vat ever had the name. */
swing_status kern_terminate_vat(kern *k, const char *vat_name, const char *reason,
                                swing_err *err);

/* ===== termination records (kernel/termination.c) ===== */

/* Why a vat was terminated. KEEP IN SYNC: the names in termination.c and
 * enum TerminationKind in proto/swing/v1/swing.proto (same values). */
typedef enum kern_term_kind {
    KERN_TERM_NONE = 0,                /* not terminated */
    KERN_TERM_HOST = 1,                /* kern_terminate_vat: the host's reason */
    KERN_TERM_COMPUTE_LIMIT = 2,       /* a delivery passed the vat's compute limit */
    KERN_TERM_MEMORY_LIMIT = 3,        /* the vat passed its memory limit */
    KERN_TERM_ILLEGAL_SYSCALL = 4,     /* a syscall broke the c-list rules */
    KERN_TERM_START_FAILED = 5,        /* startVat failed: buildRootObject threw */
    KERN_TERM_TRANSCRIPT_MISMATCH = 6, /* replaying its transcript diverged */
    KERN_TERM_EXIT = 7,                /* the vat exited (syscall exit) */
    KERN_TERM_EXIT_FAILURE = 8,        /* ... as a failure */
    KERN_TERM_DELIVERY_FAILED = 9,     /* any other failed delivery */
    KERN_TERM_LOAD_FAILED = 10,        /* its code could not be loaded */
    KERN_TERM_FORBIDDEN = 11,          /* vat code used a forbidden construct */
    KERN_TERM_ADMIN = 12,              /* adminNode.terminateWithFailure: the caller's reason */
    KERN_TERM_KINDS = 13
} kern_term_kind;

/* The kind's stored name ("host", "compute-limit", ...); "" for NONE or an
 * unknown value. */
const char *kern_term_kind_name(kern_term_kind kind);

#define KERN_TERM_REASON_MAX 200 /* reason bytes kept (cut at a UTF-8 boundary) */
#define KERN_TERM_NAME_MAX 32    /* vat names are [A-Za-z0-9_-]{1,32} */

/* One vat's termination, as recorded (vat.terminated.<name>). */
typedef struct kern_termination {
    char vat_id[24];                       /* vNN */
    char name[KERN_TERM_NAME_MAX + 1];     /* the vat's name */
    kern_term_kind kind;
    char reason[KERN_TERM_REASON_MAX + 1]; /* valid UTF-8, no control characters */
} kern_termination;

/* The termination record of a named vat; *found false if the vat is alive or
 * no vat had the name (a record lasts until a new vat takes the name). */
swing_status kern_vat_termination(kern *k, const char *vat_name, kern_termination *t, bool *found,
                                  swing_err *err);

/* The text a rejection or a refusal carries: "vat <name> (<id>) terminated:
 * <reason>" (" terminated by the host: " for KERN_TERM_HOST). */
void kern_term_message(const kern_termination *t, char *out, size_t cap);

/* Terminations since the last call, oldest first: vats terminated by cranks
 * that completed (normal work, clean-up, host requests). *list (caller frees
 * with swing_mfree) is NULL when there were none. The log is RAM only (the
 * records are the durable part) and grows until taken: the ABI takes it at
 * every end_block. Errors: none today (OK always). */
swing_status kern_terminations_take(kern *k, kern_termination **list, size_t *n, swing_err *err);

/* A vat as the host sees it. */
typedef struct kern_vat_info {
    kern_termination t; /* vat_id and name always; kind and reason once terminated */
    bool terminated;    /* logically dead (kind NONE only for a vat terminated
                           before termination records existed) */
    bool deleted;       /* terminated and its state all gone: only the record is left */
} kern_vat_info;

/* Every vat in name order: the vats that hold a name (live, or terminated
 * and not yet deleted) and the deleted ones whose record is kept. Caller
 * frees *list with swing_mfree; NULL when there are none. */
swing_status kern_vats_list(kern *k, kern_vat_info **list, size_t *n, swing_err *err);

/* The vat ID of a named vat. found false if none. */
swing_status kern_vat_id(kern *k, const char *vat_name, char vat_id[24], bool *found,
                         swing_err *err);

/* ===== vat upgrade (kernel/upgrade.c; DESIGN.md §6.5, docs/kernel.md) ===== */

#define KERN_UPGRADE_MESSAGE_MAX 200 /* upgradeMessage bytes */

/* What an upgrade asks for. */
typedef struct kern_upgrade_request {
    const char *bundle_id;    /* NULL or "": the vat's current bundle (a null upgrade) */
    const vp_capdata *params; /* NULL: the retained vatParameters; else kernel capdata
                                 (slots are krefs, retained +1 each once the upgrade succeeds) */
    const char *message;      /* NULL or "": "vat upgraded" (upgradeMessage of the
                                 disconnection record, valid UTF-8, at most 200 bytes) */
} kern_upgrade_request;

/* Queues an upgrade of a named vat on the run queue, in its own crank; it
 * runs as normal work (under the block's compute budget) and is reported by
 * kern_upgrades_take once done or failed. *upgrade_id (may be NULL) = its
 * ID (from 1). INVALID: no such vat, the vat is not eligible (the message
 * names the rule: terminated, raw C vat, kernel vat, no retained
 * vatParameters, an upgrade already queued), the bundle is not installed,
 * a bad message or bad parameters. A refused request changes nothing. */
swing_status kern_upgrade_vat(kern *k, const char *vat_name, const kern_upgrade_request *req,
                              uint64_t *upgrade_id, swing_err *err);

/* One live vat in an upgrade-all. */
typedef struct kern_upgrade_plan {
    char vat_id[24];
    char name[KERN_TERM_NAME_MAX + 1];
    bool queued;          /* its upgrade was queued */
    uint64_t upgrade_id;  /* when queued */
    char skipped[128];    /* when not: the eligibility rule it fails */
} kern_upgrade_plan;

/* Upgrade-all: every live vat, in vat-ID order, gets a null upgrade queued
 * (its current bundle, or bundle_ids[i] when names[i] is its name; its
 * retained vatParameters), all in one crank; a vat that is not eligible is
 * listed with the rule it fails and left alone. The run queue then spreads
 * the upgrades over blocks under their compute budgets. *list (caller frees
 * with swing_mfree; NULL when no vat is live) holds every live vat.
 * INVALID: a name in names that no live vat has, a bundle not installed. */
swing_status kern_upgrade_all(kern *k, const char *const *names, const char *const *bundle_ids,
                              size_t nbundles, kern_upgrade_plan **list, size_t *n, swing_err *err);

/* A finished upgrade. */
typedef struct kern_upgrade_result {
    uint64_t upgrade_id;
    char vat_id[24];
    char name[KERN_TERM_NAME_MAX + 1];
    bool ok;
    uint64_t incarnation;                  /* ok: the new incarnation; else the one that goes on */
    char reason[KERN_TERM_REASON_MAX + 1]; /* why it failed (valid UTF-8) */
} kern_upgrade_result;

/* Upgrades finished since the last call, oldest first (RAM only, like
 * kern_terminations_take; the ABI takes them at every end_block). *list
 * (caller frees with swing_mfree) is NULL when there were none. */
swing_status kern_upgrades_take(kern *k, kern_upgrade_result **list, size_t *n, swing_err *err);

/* Upgrades queued and not yet run (consensus state: kernel.upgrades.pending). */
swing_status kern_upgrades_pending(kern *k, uint64_t *n, swing_err *err);

/* A vat's current incarnation (0 before any upgrade). found false if no
 * live vat has the name. */
swing_status kern_vat_incarnation(kern *k, const char *vat_name, uint64_t *incarnation, bool *found,
                                  swing_err *err);

/* Winds a vat down (docs/winddown.md): queues, in its own crank, the event
 * that switches it to its runtime's built-in wind-down worker, which then
 * deletes its vatstore a kernel.reapBudget of items per clean-up BOYD with
 * the right GC syscalls and exits; termination removes the rest. INVALID:
 * no such vat, or not eligible (the upgrade rules, or a runtime without a
 * wind-down image). (winddown.c) */
swing_status kern_wind_down_vat(kern *k, const char *vat_name, swing_err *err);

/* Registers a bundle name for vats to use (vat admin's createVat and
 * upgrade take a bundle ID or such a name; consensus state
 * bundle.name.<name>), in its own crank; a later call moves the name.
 * INVALID: the bundle is not installed, a name empty,
 * longer than 64 bytes or holding '.', a bad bundle ID. (vatadmin.c) */
swing_status kern_bundle_name(kern *k, const char *name, const char *bundle_id, swing_err *err);
/* The same for n names at once, in one crank (init's bundles). */
swing_status kern_bundle_names(kern *k, const char *const *names, const char *const *bundle_ids, size_t n,
                               swing_err *err);
/* The bundle ID registered under name; *found false if none. */
swing_status kern_bundle_named(kern *k, const char *name, char id[STORE_BUNDLE_ID_LEN + 1], bool *found,
                               swing_err *err);

/* The smallcaps body ("#" + JSON, caller frees with swing_mfree) of a
 * plain JSON value (any JSON; strings escaped as smallcaps needs), as
 * vatParameters and inbound arguments are encoded. INVALID: not JSON, or a
 * record key that starts with one of !"#$%&'()*+,-. */
swing_status kern_encode_plain(const char *json, size_t len, char **body, swing_err *err);

/* Messages waiting in the run queue (host statistics). */
swing_status kern_run_queue_length(kern *k, uint64_t *len, swing_err *err);
/* The sticky panic, if any (SWING_ERR_PANIC with its message). */
swing_status kern_panicked(const kern *k, swing_err *err);

#endif /* LIBSWING_KERNEL_KERNEL_H */
