/*
 * kernel_int.h - the kernel handle and the helpers shared by the kernel/ sources
 * only. Grouped by the file that implements them; each group's prefix names
 * its file (kern_kv_ -> kv.c, kern_obj_ -> objects.c, ...).
 */
#ifndef LIBSWING_KERNEL_KERNEL_INT_H
#define LIBSWING_KERNEL_KERNEL_INT_H

#include <jansson.h>

#include "kernel/kernel.h"
#include "store/keys.h"
#include "store/overlay.h"

#define KERN_ID_MAX 24       /* koNN, kpNN, vNN, o+NN ... plus NUL */
#define KERN_VREF_MAX 72     /* longest vref accepted from a vat, plus NUL */
#define KERN_MAYBE_FREE_CHUNK 1000u
#define KERN_GC_GROUPS 16u /* GC action groups (vat, type) tracked in RAM */
#define KERN_DEFAULT_GC_BATCH 500u
#define KERN_DIRT_FIELDS 3                /* deliveries, gcKrefs, computrons */
#define KERN_DEFAULT_REAP_DELIVERIES 1000u /* SwingSet's chain reapInterval */
#define KERN_DEFAULT_REAP_GC_KREFS 20u     /* SwingSet's default */
#define KERN_DEFAULT_REAP_BUDGET 1000u     /* objects per kernel-scheduled BOYD */

/* When a vat is due a BOYD: limit[i] 0 = "never" for that dirt field;
 * never = no dirt, no dirty list. */
typedef struct kern_reap_threshold {
    uint64_t limit[KERN_DIRT_FIELDS];
    bool never;
} kern_reap_threshold;

/* The parsed vNN.options the kernel reads on every delivery. */
typedef struct kern_vat_flags {
    char vat[KERN_ID_MAX];
    bool pipelining, transcript, critical;
    bool wind_down;           /* the vat runs its wind-down worker */
    uint64_t restart_after;   /* bounded replay: restart once the span holds this many items (0: never) */
    kern_reap_threshold reap; /* kernel default overlaid with the vat's own */
} kern_vat_flags;

typedef struct kern_worker {
    char vat_id[KERN_ID_MAX];   /* whose worker */
    const vp_worker_ops *ops;    /* worker kind */
    void *self;                 /* worker instance */
} kern_worker;

struct kern {
    store *st;                   /* borrowed; outlives the kernel */
    const kern_raw_vat *raw;     /* registry of raw C vats (borrowed) */
    size_t nraw;
    uint32_t gc_batch_default;   /* from options, used at genesis */
    const vp_runtime *runtime;   /* runs bundle vats (borrowed), NULL: none */
    kern_worker *workers;        /* online workers */
    size_t nworkers, capworkers;
    store_overlay maybe_free;    /* krefs touched this crank (RAM, per crank) */
    bool in_crank;               /* a kernel crank is open */
    int64_t gc_delta_free;       /* this crank's change to gc.pending's counts */
    int64_t gc_delta_actions;
    char gc_hint[128];           /* RAM only: no live gc.action key sorts below
                                    this ("" = unknown); saves LevelDB from
                                    re-skipping deleted actions; never changes
                                    which actions are chosen */
    bool gc_hint_incl;           /* the hint key itself may be live */
    /* RAM only, valid while gc_groups_known: every live gc.action key lies
     * in a group here, at most its max, and above its mark (gc.c). Lets a
     * GC batch stop at a group's last action instead of asking LevelDB for
     * the next key, which skips every deleted action after it. Cleared at
     * crank abort; never changes which actions are chosen. */
    struct kern_gc_group {
        char prefix[KERN_ID_MAX + 16]; /* gc.action.<vat>.<t>. */
        char max[128];                 /* the largest key added */
        char mark[128];                /* no live key below it ("" none) */
        bool mark_incl;                /* the mark itself may be live */
    } gc_groups[KERN_GC_GROUPS];
    size_t gc_ngroups;                 /* sorted by prefix */
    bool gc_groups_known;
    struct {
        char vat[KERN_ID_MAX];
        bool alive;
    } alive_cache[8];            /* RAM copy of kern_vats_alive answers */
    size_t nalive;               /* entries in alive_cache; cleared when a vat
                                    is created, terminated or deleted and at
                                    crank abort */
    uint64_t crank_number;       /* crankNumber as last committed by a crank
                                    end, when crank_number_known */
    bool crank_number_known;
    uint64_t gc_batch;           /* kernel.gcBatch, once read (0: not yet) */
    kern_vat_flags opts_cache[16]; /* RAM copy of hot vNN.options flags */
    size_t nopts;                /* entries in opts_cache; cleared when any
                                    options change and at crank abort */
    swing_err panic;             /* sticky kernel panic; code OK if none */
    kern_termination *terms;     /* terminations not yet taken by the host
                                    (kern_terminations_take), oldest first */
    size_t nterms, capterms;
    kern_upgrade_result *upgrades; /* finished upgrades not yet taken
                                    (kern_upgrades_take), oldest first */
    size_t nupgrades, capupgrades;
    size_t terms_done;           /* terms[0, terms_done) are of completed
                                    cranks; the rest of the open crank */
};

/* snprintf for the conversions kernel keys and values use (%s, %d, %u with
 * l/ll/z; others fall back to vsnprintf), without the printf machinery on
 * hot paths. Returns the length, or >= cap when it did not fit. */
int kern_kv_format(char *out, size_t cap, const char *fmt, ...);

/* Parses "A,B" (two decimal u64 with A <= B, nothing else): the shape of
 * refCount values and queue headers. */
bool kern_kv_parse_pair(const char *v, uint64_t *a, uint64_t *b);
/* Parses exactly n comma-separated decimal u64 (no order constraint). */
bool kern_kv_parse_u64s(const char *v, uint64_t *out, size_t n);

/* ===== kv.c: typed kv access with printf-formatted keys ===== */
swing_status kern_kv_get(kern *k, char **val, bool *found, swing_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
swing_status kern_kv_getu(kern *k, uint64_t *v, bool *found, swing_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
swing_status kern_kv_set(kern *k, const char *val, swing_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
swing_status kern_kv_setu(kern *k, uint64_t v, swing_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
swing_status kern_kv_del(kern *k, swing_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
swing_status kern_kv_has(kern *k, bool *found, swing_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Deletes every key starting with prefix; returns how many in *n. */
swing_status kern_kv_del_prefix(kern *k, const char *prefix, uint64_t *n, swing_err *err);
/* Every key under prefix, in byte order, its first `cut` bytes cut off
 * (keys whose rest does not fit KERN_VREF_MAX are skipped): collected
 * before a caller changes them, so its changes cannot skew the scan.
 * Caller frees *tails with swing_mfree. */
swing_status kern_kv_tails(kern *k, const char *prefix, size_t cut, char (**tails)[KERN_VREF_MAX], size_t *n,
                           swing_err *err);
/* Allocates the next number of counter key `name` (starting at `first`). */
swing_status kern_kv_next_id(kern *k, const char *name, uint64_t first, uint64_t *id,
                             swing_err *err);

/* ===== ids.c: kref and vref forms ===== */
bool kern_ids_is_kobj(const char *kref);
bool kern_ids_is_kpromise(const char *kref);
bool kern_ids_kref_valid(const char *kref);
/* Parses a vref: *type 'o' or 'p', *exported true for '+'. False if malformed. */
bool kern_ids_vref_parse(const char *vref, char *type, bool *exported);

/* ===== capdata.c: owned capdata and its canonical JSON ===== */
typedef struct kern_cd {
    char *body;    /* owned, NUL-terminated */
    char **slots;  /* owned strings */
    size_t nslots;
} kern_cd;
void kern_cd_free(kern_cd *cd);
vp_capdata kern_cd_view(const kern_cd *cd);
json_t *kern_cd_to_json(vp_capdata cd);
/* Parses {"body":s,"slots":[s...]}; INVALID on anything else. */
swing_status kern_cd_from_json(const json_t *j, kern_cd *out, swing_err *err);
/* Canonical JSON text of j (json.c: sorted keys, compact, numbers and
 * strings as base/json.h writes them); NULL on no memory or invalid UTF-8.
 * The caller frees it with free(). */
char *kern_json_dump(const json_t *j);
/* Smallcaps error body for a rejection: #{"#error":msg,"name":"Error"}. */
swing_status kern_cd_error(const char *msg, kern_cd *out, swing_err *err);
/* Smallcaps body "#..." of a plain JSON value (caller frees). */
swing_status kern_cd_plain(const json_t *v, char **body, swing_err *err);
/* Smallcaps methargs #[method,[args]] from plain JSON args (caller frees). */
swing_status kern_cd_methargs_plain(const char *method, const json_t *args, char **body,
                                    swing_err *err);
/* The method name of smallcaps methargs #["method",[...]] (caller frees), or NULL. */
char *kern_cd_method(const char *body);

/* ===== objects.c: kernel objects and their two refcounts ===== */
swing_status kern_obj_create(kern *k, const char *owner, char kref[KERN_ID_MAX], swing_err *err);
swing_status kern_obj_refs(kern *k, const char *kref, uint64_t *reach, uint64_t *recog,
                           bool *exists, swing_err *err);
/* Adds dreach / drecog (each -1, 0 or +1); a decrement that leaves either
 * count at 0 records the object as maybe-free. */
swing_status kern_obj_change(kern *k, const char *kref, int dreach, int drecog, swing_err *err);
swing_status kern_obj_incref(kern *k, const char *kref, bool reachable, swing_err *err);
swing_status kern_obj_decref(kern *k, const char *kref, bool reachable, swing_err *err);
/* Owner vat ID; *has false when orphaned or the object is gone. */
swing_status kern_obj_owner(kern *k, const char *kref, char owner[KERN_ID_MAX], bool *has,
                            swing_err *err);
swing_status kern_obj_delete(kern *k, const char *kref, swing_err *err);
/* Abandons an object: owner and the owner's c-list entry go; it stays known. */
swing_status kern_obj_orphan(kern *k, const char *kref, swing_err *err);
/* Queues retireImport actions for every vat importing kref, then deletes it. */
swing_status kern_obj_retire(kern *k, const char *kref, swing_err *err);

/* ===== promises.c: kernel promises ===== */
typedef enum kern_kp_policy { KERN_POLICY_IGNORE = 0, KERN_POLICY_PANIC = 1 } kern_kp_policy;
swing_status kern_kp_create(kern *k, const char *decider, kern_kp_policy policy,
                            char kpid[KERN_ID_MAX], swing_err *err);
swing_status kern_kp_incref(kern *k, const char *kpid, swing_err *err);
swing_status kern_kp_decref(kern *k, const char *kpid, swing_err *err);
/* State; decider ("" if none) for unresolved promises. */
swing_status kern_kp_state(kern *k, const char *kpid, kern_promise_state *state,
                           char decider[KERN_ID_MAX], swing_err *err);
swing_status kern_kp_set_decider(kern *k, const char *kpid, const char *decider, swing_err *err);
swing_status kern_kp_subscribe(kern *k, const char *kpid, const char *vat, swing_err *err);
/* Appends a message JSON to the promise's queue (refcounts move with it). */
swing_status kern_kp_enqueue(kern *k, const char *kpid, const char *msg_json, swing_err *err);
/* Moves every queued message back to the acceptance queue. */
swing_status kern_kp_requeue(kern *k, const char *kpid, swing_err *err);
/* Settles kpid: notifies subscribers, increfs data slots, requeues messages.
 * REQUIRES: unresolved; the caller checked the decider. */
swing_status kern_kp_resolve(kern *k, const char *kpid, bool rejected, vp_capdata data,
                             swing_err *err);
/* Resolution data of a settled promise (caller frees). */
swing_status kern_kp_data(kern *k, const char *kpid, kern_cd *data, swing_err *err);
/* Deletes a promise record (refcount reached 0), releasing its data slots. */
swing_status kern_kp_delete(kern *k, const char *kpid, swing_err *err);

/* ===== refs.c: counting references held by capdata and krefs ===== */
swing_status kern_refs_incref(kern *k, const char *kref, swing_err *err);
swing_status kern_refs_decref(kern *k, const char *kref, swing_err *err);
swing_status kern_refs_incref_cd(kern *k, vp_capdata cd, swing_err *err);
swing_status kern_refs_decref_cd(kern *k, vp_capdata cd, swing_err *err);

/* ===== clist.c: per-vat c-lists ===== */
swing_status kern_clist_vref(kern *k, const char *vat, const char *kref, char vref[KERN_VREF_MAX],
                             bool *reachable, bool *found, swing_err *err);
swing_status kern_clist_kref(kern *k, const char *vat, const char *vref, char kref[KERN_ID_MAX],
                             bool *found, swing_err *err);
/* Writes both directions with the given flag; an object import counts
 * recognizable (+ reachable when R), any promise entry +1, an export 0. */
swing_status kern_clist_add(kern *k, const char *vat, const char *kref, const char *vref,
                            bool reachable, swing_err *err);
/* Sets the flag; an import going _->R gains reachable, R->_ loses it. */
swing_status kern_clist_set_reachable(kern *k, const char *vat, const char *kref, bool reachable,
                                      swing_err *err);
/* Clears the flag, releases the counts, deletes both keys. */
swing_status kern_clist_delete(kern *k, const char *vat, const char *kref, swing_err *err);
/* Deletes both keys with no count change (exports being retired/orphaned). */
swing_status kern_clist_forget(kern *k, const char *vat, const char *kref, swing_err *err);
/* The same three with the entry (vref, current flag) already read: they
 * skip the read. The caller guarantees the entry is current. */
swing_status kern_clist_set_reachable_known(kern *k, const char *vat, const char *kref, const char *vref,
                                            bool was, bool reachable, swing_err *err);
swing_status kern_clist_delete_known(kern *k, const char *vat, const char *kref, const char *vref,
                                     bool reachable, swing_err *err);
swing_status kern_clist_forget_known(kern *k, const char *vat, const char *kref, const char *vref,
                                     swing_err *err);

/* ===== translate.c: vat <-> kernel references ===== */
typedef enum kern_tr_use {
    KERN_TR_ACCESS = 0,  /* send/resolve/exit: imports must be reachable */
    KERN_TR_RESULT = 1   /* a send's result: a new or vat-decided promise */
} kern_tr_use;
swing_status kern_tr_v2k(kern *k, const char *vat, const char *vref, kern_tr_use use,
                         char kref[KERN_ID_MAX], swing_err *err);
swing_status kern_tr_k2v(kern *k, const char *vat, const char *kref, char vref[KERN_VREF_MAX],
                         swing_err *err);
/* Translates capdata slots; the result owns its strings. */
swing_status kern_tr_cd_v2k(kern *k, const char *vat, vp_capdata in, kern_cd *out, swing_err *err);
swing_status kern_tr_cd_k2v(kern *k, const char *vat, vp_capdata in, kern_cd *out, swing_err *err);

/* ===== queue.c: acceptance and run queues ===== */
#define KERN_ACCEPTANCE "acceptanceQueue"
#define KERN_RUN "runQueue"
#define KERN_REAP "reapQueue"
swing_status kern_queue_push(kern *k, const char *queue, const char *event_json, swing_err *err);
/* Pops the head; *json NULL when empty (caller frees with swing_mfree). */
swing_status kern_queue_pop(kern *k, const char *queue, char **json, swing_err *err);
swing_status kern_queue_length(kern *k, const char *queue, uint64_t *len, swing_err *err);
/* Builds and pushes a send event {target, methargs, result}. */
swing_status kern_queue_send(kern *k, const char *queue, const char *target, vp_capdata methargs,
                             const char *result, swing_err *err);
swing_status kern_queue_notify(kern *k, const char *vat, const char *kpid, swing_err *err);

/* ===== gc.c: maybe-free set, GC processing, GC actions ===== */
typedef enum kern_gc_type {
    KERN_GC_DROP_EXPORT = 1,
    KERN_GC_RETIRE_EXPORT = 2,
    KERN_GC_RETIRE_IMPORT = 3
} kern_gc_type;
/* Records a kref whose counts may have reached zero (RAM, this crank). */
swing_status kern_gc_maybe_free(kern *k, const char *kref, swing_err *err);
/* End of crank: appends this crank's candidates to the persistent set. */
swing_status kern_gc_flush(kern *k, swing_err *err);
swing_status kern_gc_add_action(kern *k, const char *vat, kern_gc_type t, const char *kref,
                                swing_err *err);
/* True if a maybe-free chunk waits. */
swing_status kern_gc_pending(kern *k, bool *pending, swing_err *err);
/* Pops and decides the first `max` krefs (0: all) of the oldest chunk;
 * *n = krefs decided. */
swing_status kern_gc_process_chunk(kern *k, size_t max, size_t *n, swing_err *err);
/* What is left: maybe-free entries (duplicates included) and GC actions. */
swing_status kern_gc_left(kern *k, uint64_t *free, uint64_t *actions, swing_err *err);
/* Selects the next GC delivery: *nkrefs 0 when no action survived (the
 * consumed actions are still removed). *any false when no action exists. */
typedef struct kern_gc_batch {
    char vat[KERN_ID_MAX];
    kern_gc_type type;
    char (*krefs)[KERN_ID_MAX];  /* owned, sorted */
    char (*vrefs)[KERN_VREF_MAX]; /* the vat's c-list entry for each, as read */
    bool *flags;                 /* ... and its reachable flag */
    size_t n;
    size_t examined;             /* actions consumed, the negated ones too */
} kern_gc_batch;
/* max: at most this many krefs (0: kernel.gcBatch; never more than it). */
swing_status kern_gc_next_batch(kern *k, size_t max, kern_gc_batch *b, bool *any, swing_err *err);
void kern_gc_batch_free(kern_gc_batch *b);

/* ===== vats.c: vat records, workers, termination ===== */
swing_status kern_vats_alive(kern *k, const char *vat, bool *alive, swing_err *err);
swing_status kern_vats_pipelining(kern *k, const char *vat, bool *on, swing_err *err);
swing_status kern_vats_uses_transcript(kern *k, const char *vat, bool *on, swing_err *err);
swing_status kern_vats_worker(kern *k, const char *vat, kern_worker **w, swing_err *err);
void kern_vats_evict(kern *k, const char *vat);
/* Logical death: marks terminated, records why (termination.c), rejects
 * the promises it decides with that reason, evicts the worker; a critical
 * vat panics the kernel instead of going on. A dead vat: OK, nothing
 * changes (its first reason stays). */
swing_status kern_vats_terminate(kern *k, const char *vat, kern_term_kind kind, const char *reason,
                                 swing_err *err);
/* Creates a vat record from a config entry and queues its startVat; *root
 * receives its root kref (held by the kernel). vatParameters come from
 * `params` (kernel-side capdata; each slot is retained +1) or, when NULL,
 * from the plain-data cfg "parameters". */
swing_status kern_vats_create(kern *k, const char *name, const json_t *cfg,
                              const vp_capdata *params, char vat[KERN_ID_MAX],
                              char root[KERN_ID_MAX], swing_err *err);
/* Number of vats ever created (vat.nextID - 1). */
swing_status kern_vats_count(kern *k, uint64_t *n, swing_err *err);

/* The runtime that checks bundles and runs bundle vats: INVALID when the
 * host registered none. */
swing_status kern_vats_runtime(kern *k, const vp_runtime **rt, swing_err *err);

/* The vat's parsed options (cached until options change or a crank aborts). */
swing_status kern_vats_flags(kern *k, const char *vat, const kern_vat_flags **out, swing_err *err);

/* ===== reap.c: dirt, thresholds, the dirty-vat list ===== */
/* {"deliveries"?, "gcKrefs"?, "computrons"?: positive integer or "never",
 *  "never"?: bool} */
bool kern_reap_threshold_valid(const json_t *t);
void kern_reap_threshold_default(kern_reap_threshold *t);
/* Overlays the fields j sets (j already valid). */
void kern_reap_threshold_merge(kern_reap_threshold *t, const json_t *j);
/* The budget a kernel-scheduled BOYD carries (kernel.reapBudget). */
swing_status kern_reap_budget(kern *k, uint64_t *budget, swing_err *err);
/* After a delivery that counts (not BOYD, not changeVatOptions, not failed):
 * adds its dirt, lists the vat dirty, queues a BOYD when over a threshold. */
swing_status kern_reap_add_dirt(kern *k, const char *vat, uint64_t gc_krefs, uint64_t computrons,
                                swing_err *err);
/* After a BOYD: dirt reset; found_work moves the vat to the tail of the
 * dirty list, otherwise it leaves the list. */
swing_status kern_reap_done(kern *k, const char *vat, bool found_work, swing_err *err);
/* Termination: off the dirty list, dirt forgotten. */
swing_status kern_reap_forget(kern *k, const char *vat, swing_err *err);
/* The dirty list's head; *found false when empty. */
swing_status kern_reap_dirty_head(kern *k, char vat[KERN_ID_MAX], bool *found, swing_err *err);
/* The whole dirty list in order (caller frees *vats with swing_mfree). */
swing_status kern_reap_dirty_list(kern *k, char (**vats)[KERN_ID_MAX], size_t *n, swing_err *err);

/* ===== teardown.c: deletion of terminated vats ===== */
/* Logical death: the vat joins the end of vats.terminated. */
swing_status kern_teardown_enqueue(kern *k, const char *vat, swing_err *err);
/* Vats awaiting deletion, and the head vat's phase (-1 if none). */
swing_status kern_teardown_count(kern *k, uint64_t *n, int *phase, swing_err *err);
/* Spends up to `units` on the head vat (inside a crank): used[phase] grows
 * by the units of each phase; *vat_done when its state is all gone. */
swing_status kern_teardown_step(kern *k, uint64_t units, uint64_t used[KERN_PHASES], bool *vat_done,
                                swing_err *err);

/* ===== termination.c: termination records and the host's log ===== */
#define KERN_TERM_MSG_MAX (KERN_TERM_REASON_MAX + KERN_TERM_NAME_MAX + 96) /* kern_term_message */
/* Copies in to out (cap bytes with the NUL) as valid UTF-8 with no control
 * characters, cut at a character boundary. */
void kern_term_clip(const char *in, char *out, size_t cap);
/* Writes vat.terminated.<name> for a vat being terminated (inside its
 * crank), fills *t and logs it for the host. */
swing_status kern_term_record(kern *k, const char *vat, kern_term_kind kind, const char *reason,
                              kern_termination *t, swing_err *err);
/* The record of a vat by ID (its name read from vNN.options); *found false
 * when it is alive, has no record or its options are deleted. */
swing_status kern_term_of_vat(kern *k, const char *vat, kern_termination *t, bool *found, swing_err *err);
/* The vat's name (vNN.options); "" if it has none (its state is deleted). */
swing_status kern_term_name_of(kern *k, const char *vat, char name[KERN_TERM_NAME_MAX + 1], swing_err *err);
/* A new vat takes the name: the old record goes. */
swing_status kern_term_forget(kern *k, const char *vat_name, swing_err *err);
/* The refusal of a host request naming a dead vat: USER with
 * kern_term_message when a record exists (or "vat X is terminated" when
 * `named`, i.e. a terminated vat still holds the name), else INVALID "no vat
 * named X". Always returns non-OK. */
swing_status kern_term_refusal(kern *k, const char *vat_name, bool named, swing_err *err);
/* Rejection capdata #{"#error":kern_term_message,"name":"Error"}. */
swing_status kern_term_rejection(const kern_termination *t, kern_cd *out, swing_err *err);
/* Crank framing of the log: an ended crank's terminations are kept, an
 * aborted crank's dropped. */
void kern_term_crank_end(kern *k);
void kern_term_crank_abort(kern *k);

/* ===== crank.c: kernel crank framing ===== */
swing_status kern_crank_begin(kern *k, swing_err *err);
swing_status kern_crank_end(kern *k, swing_err *err);
swing_status kern_crank_abort(kern *k, swing_err *err);
/* A kernel error inside a crank: roll back and panic (the host must halt). */
swing_status kern_crank_failed(kern *k, swing_status s, swing_err *err);
/* Records a panic (sticky) and returns SWING_ERR_PANIC. */
swing_status kern_crank_panic(kern *k, swing_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ===== deliver.c / syscall.c / route.c ===== */
/* A delivery in progress: the channel its worker gets, and what the kernel
 * learns through it. */
typedef struct kern_vat_io kern_vat_io;
struct kern_vat_io {
    vp_channel ch;          /* first: what the worker gets (syscall.c fills it) */
    kern *k;
    char vat[KERN_ID_MAX];  /* the vat being delivered to */
    bool pipelining;        /* vat option enablePipelining */
    bool failed;            /* an illegal syscall happened */
    bool exited;            /* syscall.exit was made */
    bool exit_failure;      /* ... as a failure */
    char exit_info[96];     /* ... its info body (clipped) */
    kern_term_kind kind;    /* failure kind, with why */
    char why[256];          /* failure reason */
    swing_err fatal;        /* a non-vat error inside a syscall (kernel failure) */
    char *log;              /* transcript item being recorded (its canonical JSON text so
                               far: each syscall is written as it happens), or NULL */
    size_t log_len, log_cap;
    size_t log_n;           /* syscalls in it */
    json_t *replay;         /* replay: the recorded syscalls, or NULL */
    size_t replay_next;     /* replay: next recorded syscall */
    uint64_t replay_pos;    /* replay: transcript position (for messages) */
    uint64_t gc_vrefs;      /* vrefs named by GC syscalls (a BOYD's yield) */
    bool crank_done;        /* the event ended its crank itself (an upgrade) */
    uint64_t syscalls;      /* syscalls the vat made in this delivery */
};
/* syscall.c: a delivery's channel to vat `vat`, zeroed but for its
 * identity and the channel's syscall function. */
void kern_syscall_io_init(kern_vat_io *io, kern *k, const char *vat);
/* Processes one run-queue event JSON as a delivery crank body; io reports
 * whether the vat failed or exited (run.c handles both). */
swing_status kern_deliver_event(kern *k, const char *json, kern_vat_io *io, kern_crank_info *info,
                                swing_err *err);
/* Routes one acceptance-queue event. */
swing_status kern_route_event(kern *k, const char *json, swing_err *err);
/* Where a send to `target` goes now (reference/kernel-gc.md §2.7 table). */
typedef enum kern_route_kind { KERN_ROUTE_DELIVER, KERN_ROUTE_QUEUE, KERN_ROUTE_SPLAT } kern_route_kind;
typedef struct kern_route {
    kern_route_kind kind;
    char vat[KERN_ID_MAX];     /* DELIVER: the receiving vat */
    char target[KERN_ID_MAX];  /* the target after following a fulfilled promise */
    kern_cd reject;            /* SPLAT: rejection data for the result (owned) */
} kern_route;
swing_status kern_route_target(kern *k, const char *target, const char *methargs_body,
                               kern_route *r, swing_err *err);
/* Rejects a message's result with `reject` and releases the message's
 * references: target, methargs slots, result (a splat). */
swing_status kern_route_splat(kern *k, const char *target, const json_t *msg,
                              vp_capdata reject, swing_err *err);
/* Delivers startVat with the vat's retained vatParameters (deliver.c). */
swing_status kern_deliver_start(kern *k, const char *vat, kern_vat_io *io, kern_crank_info *info,
                                swing_err *err);
/* Delivers one GC batch to its vat. */
swing_status kern_deliver_gc(kern *k, const kern_gc_batch *b, kern_vat_io *io,
                             kern_crank_info *info, swing_err *err);
/* Delivers bringOutYourDead(budget) to a vat (a dead vat: its dirt is
 * forgotten, nothing delivered). */
swing_status kern_deliver_boyd(kern *k, const char *vat, uint64_t budget, kern_vat_io *io,
                               kern_crank_info *info, swing_err *err);
/* crank.c: ends a delivery crank (rollback and termination when the vat
 * failed, exit handling); `queue` (may be NULL) holds the event to dispose
 * of on failure. */
swing_status kern_crank_finish(kern *k, kern_vat_io *io, const char *queue, kern_crank_info *info,
                               swing_err *err);

/* ===== upgrade.c: who may be upgraded, requests, the log ===== */
/* Why the vat cannot be upgraded now (why[0] == '\0': it can). */
swing_status kern_upgrade_eligible(kern *k, const char *vat, char *why, size_t cap, swing_err *err);
/* Queues an upgradeVat event in the open crank (bundle_id NULL: the current
 * one; params NULL: the retained ones, else held by the event; result: a
 * kernel-decided promise the event holds and settles, or NULL). INVALID
 * when the vat is not eligible or the request is bad. */
swing_status kern_upgrade_queue(kern *k, const char *vat, const char *bundle_id, const vp_capdata *params,
                                const char *message, const char *result, uint64_t *upgrade_id, swing_err *err);
swing_status kern_upgrade_pending_count(kern *k, uint64_t *n, swing_err *err);
/* Bounded replay: queues a restart (a null upgrade) once the vat's current
 * span holds restart_after items. */
swing_status kern_upgrade_restart_due(kern *k, const char *vat, uint64_t restart_after, swing_err *err);
/* Appends to the RAM log kern_upgrades_take empties. */
swing_status kern_upgrade_log(kern *k, const kern_upgrade_result *r, swing_err *err);
swing_status kern_upgrade_incarnation(kern *k, const char *vat, uint64_t *incarnation, swing_err *err);
/* ===== upgrade_run.c: the upgrade crank ===== */
/* One upgradeVat event (popped in the open crank): performs it or rolls it
 * back, consumes the event, ends the crank and logs the result. */
swing_status kern_upgrade_run_event(kern *k, const char *json, kern_crank_info *info, swing_err *err);
/* Rejects every unresolved promise the vat decides with `why`; the vat's
 * own c-list entry goes unless it subscribed. */
swing_status kern_upgrade_run_reject(kern *k, const char *vat, vp_capdata why, swing_err *err);
/* ===== winddown.c: wind-down ===== */
/* The windDownVat event (popped in the open crank): ends its crank. */
swing_status kern_winddown_run_event(kern *k, const char *json, kern_crank_info *info, swing_err *err);
/* Queues the vat's windDownVat event in the open crank; INVALID when it is
 * not eligible. */
swing_status kern_winddown_queue(kern *k, const char *vat, swing_err *err);
/* Vats winding down now (kernel.windingDown). */
swing_status kern_winddown_count(kern *k, uint64_t *n, swing_err *err);
/* A vat ended (terminated): off the winding-down list. */
swing_status kern_winddown_ended(kern *k, const char *vat, swing_err *err);
/* Adds a wind-down BOYD's deleted items to vNN.windDown and records what it
 * said is left. */
swing_status kern_winddown_progress(kern *k, const char *vat, uint64_t items, uint64_t left, swing_err *err);
/* ===== vatadmin.c: the vat admin service (a kernel vat) ===== */
/* Genesis: creates the vatAdmin vat; *root its root object (held). */
swing_status kern_vatadmin_create(kern *k, char root[KERN_ID_MAX], swing_err *err);
/* A vat ended (kern_vats_terminate): its done() promises settle. */
swing_status kern_vatadmin_ended(kern *k, const char *vat, const kern_termination *t, swing_err *err);
/* The service's worker: self is the kern. */
extern const vp_worker_ops kern_vatadmin_ops;
#endif /* LIBSWING_KERNEL_KERNEL_INT_H */
