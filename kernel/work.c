/*
 * work.c - the crank engine (DESIGN.md §6.4): every crank the kernel runs
 * comes from one table of work sources. A source says whether it has work
 * and, inside the crank the engine opened, performs one crank within what is
 * left of its budget (ending the crank itself); with no work it leaves the
 * crank untouched. Stages order the sources:
 *
 *   schedule   kern_step / kern_run: acceptance queue, a GC delivery, a
 *              maybe-free chunk, a reapQueue BOYD, the run queue (first
 *              match per crank; actions already decided go out before more
 *              are decided, as in clean-up, so a kref's GC keys live and
 *              die within a few cranks of each other)
 *   normal     a block's normal work: the same without the two GC sources,
 *              under the compute budget
 *   clean-up   a block's clean-up, three stages one after the other:
 *              terminated-vat deletion (units), then BOYDs of the vats at
 *              the head of the dirty list (boyds), then GC work (gc_krefs):
 *              a waiting GC delivery first, else maybe-free decisions, so
 *              actions decided earlier go out before more are decided
 *
 * A stage runs cranks until none of its sources has work within what is
 * left, or the compute budget or the policy stops it. Every crank is
 * counted here, once: into its part of the report and into the total.
 * Upgrade and wind-down work join the table as further sources.
 */
#include "kernel/kernel_int.h"

#include "base/alloc.h"

#define UNLIMITED UINT64_MAX
#define TEARDOWN_CRANK_UNITS 1000u /* deletion units in one crank at most */

/* What is left of a budget while a stage runs; UNLIMITED = no limit. */
typedef struct work_left {
    uint64_t compute, gc_krefs, boyds, units;
    bool capped; /* a clean-up stage: GC sources take at most gc_krefs */
} work_left;

typedef enum work_source_id {
    SRC_ACCEPTANCE,
    SRC_GC_CHUNK,
    SRC_GC_DELIVERY,
    SRC_REAP_QUEUE,
    SRC_RUN_QUEUE,
    SRC_TEARDOWN,
    SRC_DIRTY_BOYD,
    SRC_COUNT
} work_source_id;

typedef struct work_source {
    /* Whether what is left lets the source run at all. */
    bool (*affordable)(const work_left *l);
    /* Inside an open crank: one crank of work, or *did false and the crank
     * untouched. On error the crank is already rolled back. */
    swing_status (*crank)(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err);
} work_source;

typedef struct work_stage {
    const work_source_id *order; /* first match per crank */
    size_t n;
    bool normal;                 /* normal work: spends compute, counts as normal */
} work_stage;

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ---- the sources ---- */

static bool has_compute(const work_left *l) { return l->compute > 0; }
static bool has_gc_krefs(const work_left *l) { return l->gc_krefs > 0; }
static bool has_boyds(const work_left *l) { return l->boyds > 0; }
static bool has_units(const work_left *l) { return l->units > 0; }

/* A delivery of the event at the head of `queue` (reapQueue, run queue). */
static swing_status deliver_queued(kern *k, const char *queue, kern_crank_info *info, bool *did, swing_err *err)
{
    char *json = NULL;
    kern_vat_io io;
    swing_status s = kern_queue_pop(k, queue, &json, err);
    if (s) return kern_crank_failed(k, s, err);
    if (!json) return SWING_OK;
    *did = true;
    memset(&io, 0, sizeof io);
    s = kern_deliver_event(k, json, &io, info, err);
    swing_mfree(json);
    if (io.crank_done) return s;
    if (s) return kern_crank_failed(k, s, err);
    return kern_crank_finish(k, &io, queue, info, err);
}

static swing_status src_acceptance(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err)
{
    char *json = NULL;
    swing_status s = kern_queue_pop(k, KERN_ACCEPTANCE, &json, err);
    (void)l;
    if (s) return kern_crank_failed(k, s, err);
    if (!json) return SWING_OK;
    *did = true;
    s = kern_route_event(k, json, err);
    swing_mfree(json);
    if (s) return kern_crank_failed(k, s, err);
    info->kind = KERN_CRANK_ROUTING;
    return kern_crank_end(k, err);
}

static swing_status src_reap_queue(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err)
{
    (void)l;
    return deliver_queued(k, KERN_REAP, info, did, err);
}

static swing_status src_run_queue(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err)
{
    (void)l;
    return deliver_queued(k, KERN_RUN, info, did, err);
}

/* Maybe-free decisions: the oldest chunk (capped: at most gc_krefs of it). */
static swing_status src_gc_chunk(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err)
{
    bool pending;
    size_t max = l->capped ? (size_t)min_u64(l->gc_krefs, KERN_MAYBE_FREE_CHUNK) : 0;
    swing_status s = kern_gc_pending(k, &pending, err);
    if (s) return kern_crank_failed(k, s, err);
    if (!pending) return SWING_OK;
    *did = true;
    if ((s = kern_gc_process_chunk(k, max, &info->gc_krefs, err))) return kern_crank_failed(k, s, err);
    info->kind = KERN_CRANK_GC;
    return kern_crank_end(k, err);
}

/* One GC delivery (capped: at most gc_krefs krefs); a batch whose actions
 * were all negated is an empty crank. */
static swing_status src_gc_delivery(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err)
{
    kern_gc_batch b;
    kern_vat_io io;
    bool any;
    size_t n, max = l->capped ? (size_t)min_u64(l->gc_krefs, SIZE_MAX) : 0;
    swing_status s = kern_gc_next_batch(k, max, &b, &any, err);
    if (s) return kern_crank_failed(k, s, err);
    if (!any) return SWING_OK;
    *did = true;
    info->kind = KERN_CRANK_EMPTY; /* every action was negated */
    info->gc_examined = b.examined;
    n = b.n;
    memset(&io, 0, sizeof io);
    if (n > 0) s = kern_deliver_gc(k, &b, &io, info, err);
    kern_gc_batch_free(&b);
    if (s) return kern_crank_failed(k, s, err);
    return n > 0 ? kern_crank_finish(k, &io, NULL, info, err) : kern_crank_end(k, err);
}

/* Deletion of the oldest terminated vat, at most TEARDOWN_CRANK_UNITS. */
static swing_status src_teardown(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err)
{
    uint64_t n;
    int phase;
    swing_status s = kern_teardown_count(k, &n, &phase, err);
    if (s) return kern_crank_failed(k, s, err);
    if (n == 0) return SWING_OK;
    *did = true;
    s = kern_teardown_step(k, min_u64(l->units, TEARDOWN_CRANK_UNITS), info->units, &info->vat_deleted, err);
    if (s) return kern_crank_failed(k, s, err);
    info->kind = KERN_CRANK_TEARDOWN;
    return kern_crank_end(k, err);
}

/* A BOYD of the vat at the head of the dirty list, carrying kernel.reapBudget. */
static swing_status src_dirty_boyd(kern *k, const work_left *l, kern_crank_info *info, bool *did, swing_err *err)
{
    char vat[KERN_ID_MAX];
    uint64_t budget;
    bool found;
    kern_vat_io io;
    swing_status s = kern_reap_dirty_head(k, vat, &found, err);
    (void)l;
    if (!s && found) s = kern_reap_budget(k, &budget, err);
    if (s) return kern_crank_failed(k, s, err);
    if (!found) return SWING_OK;
    *did = true;
    memset(&io, 0, sizeof io);
    info->kind = KERN_CRANK_EMPTY;
    if ((s = kern_deliver_boyd(k, vat, budget, &io, info, err))) return kern_crank_failed(k, s, err);
    return kern_crank_finish(k, &io, NULL, info, err);
}

static const work_source sources[SRC_COUNT] = {
    [SRC_ACCEPTANCE] = {has_compute, src_acceptance},
    [SRC_GC_CHUNK] = {has_gc_krefs, src_gc_chunk},
    [SRC_GC_DELIVERY] = {has_gc_krefs, src_gc_delivery},
    [SRC_REAP_QUEUE] = {has_compute, src_reap_queue},
    [SRC_RUN_QUEUE] = {has_compute, src_run_queue},
    [SRC_TEARDOWN] = {has_units, src_teardown},
    [SRC_DIRTY_BOYD] = {has_boyds, src_dirty_boyd},
};

/* ---- the stages ---- */

static const work_source_id schedule_order[] = {SRC_ACCEPTANCE, SRC_GC_DELIVERY, SRC_GC_CHUNK, SRC_REAP_QUEUE,
                                                SRC_RUN_QUEUE};
static const work_source_id normal_order[] = {SRC_ACCEPTANCE, SRC_REAP_QUEUE, SRC_RUN_QUEUE};
static const work_source_id teardown_order[] = {SRC_TEARDOWN};
static const work_source_id boyd_order[] = {SRC_DIRTY_BOYD};
static const work_source_id gc_order[] = {SRC_GC_DELIVERY, SRC_GC_CHUNK};

#define STAGE(order, normal) {order, sizeof order / sizeof *order, normal}
static const work_stage schedule_stage = STAGE(schedule_order, true);
static const work_stage normal_stage = STAGE(normal_order, true);
static const work_stage cleanup_stages[] = {STAGE(teardown_order, false), STAGE(boyd_order, false),
                                            STAGE(gc_order, false)};

/* ---- counting, once ---- */

/* The GC krefs a crank processed: a delivery's consumed actions (negated
 * ones too), a chunk's decisions. */
static uint64_t gc_krefs_of(work_source_id src, const kern_crank_info *info)
{
    if (src == SRC_GC_DELIVERY) return info->gc_examined > info->gc_krefs ? info->gc_examined : info->gc_krefs;
    return src == SRC_GC_CHUNK ? info->gc_krefs : 0;
}

static void count_into(kern_work_counts *c, work_source_id src, const kern_crank_info *info)
{
    c->cranks++;
    c->computrons += info->computrons;
    c->gc_krefs += gc_krefs_of(src, info);
    if (src == SRC_GC_DELIVERY && info->gc_krefs > 0) c->gc_deliveries++;
    if (src == SRC_DIRTY_BOYD || info->kind == KERN_CRANK_BOYD) c->boyds++;
    for (int i = 0; i < KERN_PHASES; i++) c->units[i] += info->units[i];
    if (info->vat_deleted) c->vats_deleted++;
    c->wind_down_items += info->wind_down_items;
    c->syscalls += info->syscalls;
}

static uint64_t units_of(const kern_crank_info *info)
{
    uint64_t n = 0;
    for (int i = 0; i < KERN_PHASES; i++) n += info->units[i];
    return n;
}

static void spend(uint64_t *left, uint64_t n)
{
    if (*left != UNLIMITED) *left -= min_u64(*left, n);
}

/* Counts a crank and charges it to what is left. */
static void account(const work_stage *st, work_source_id src, const kern_crank_info *info, work_left *l,
                    kern_work_report *r)
{
    uint64_t gc = gc_krefs_of(src, info);
    count_into(st->normal ? &r->normal : &r->cleanup, src, info);
    count_into(&r->total, src, info);
    if (info->wind_down) {
        r->wind_down_left = info->wind_down_left;
        r->wind_down_counting = info->wind_down_counting;
    }
    if (st->normal) spend(&l->compute, info->computrons);
    spend(&l->units, units_of(info));
    if (src == SRC_DIRTY_BOYD) spend(&l->boyds, 1);
    if (src == SRC_GC_CHUNK && gc == 0) gc = 1; /* an empty chunk still costs */
    spend(&l->gc_krefs, gc);
}

/* ---- the engine ---- */

static bool stage_affordable(const work_stage *st, const work_left *l)
{
    for (size_t i = 0; i < st->n; i++)
        if (sources[st->order[i]].affordable(l)) return true;
    return false;
}

/* One crank from the first source of the stage that has work; *did false
 * (and no crank left open) when none had. */
static swing_status crank_once(kern *k, const work_stage *st, const work_left *l, kern_crank_info *info,
                               work_source_id *src, bool *did, swing_err *err)
{
    swing_status s;
    memset(info, 0, sizeof *info);
    *did = false;
    if ((s = kern_crank_begin(k, err))) return s;
    for (size_t i = 0; i < st->n; i++) {
        const work_source *w = &sources[st->order[i]];
        if (!w->affordable(l)) continue;
        *src = st->order[i];
        if ((s = w->crank(k, l, info, did, err)) || *did) return s;
    }
    return kern_crank_abort(k, err); /* no work */
}

static swing_status run_stage(kern *k, const work_stage *st, work_left *l, kern_policy_fn policy, void *ctx,
                              kern_work_report *r, swing_err *err)
{
    swing_status s = SWING_OK;
    while (stage_affordable(st, l)) {
        kern_crank_info info;
        work_source_id src = SRC_COUNT;
        bool did;
        if ((s = crank_once(k, st, l, &info, &src, &did, err)) || !did) break;
        account(st, src, &info, l, r);
        if (policy && !policy(ctx, &info)) break;
        if (st->normal && l->compute == 0) {
            r->work_left = true;
            break;
        }
        /* A deletion crank that could do nothing ends its stage. */
        if (src == SRC_TEARDOWN && !info.vat_deleted && units_of(&info) == 0) break;
    }
    return s;
}

static swing_status report_left(kern *k, kern_work_report *r, swing_err *err)
{
    uint64_t f, a;
    char(*vats)[KERN_ID_MAX] = NULL;
    size_t n;
    swing_status s = kern_gc_left(k, &f, &a, err);
    if (s) return s;
    r->gc_krefs_left = f + a;
    if ((s = kern_reap_dirty_list(k, &vats, &n, err))) return s;
    swing_mfree(vats);
    r->dirty_vats = n;
    if ((s = kern_winddown_count(k, &r->winding_down, err))) return s;
    return kern_teardown_count(k, &r->terminated_vats, &r->phase, err);
}

static work_left left_of(const kern_budget *b)
{
    work_left l = {b->compute ? b->compute : UNLIMITED, b->gc_krefs, b->boyds, b->units, true};
    return l;
}

static swing_status run_cleanup(kern *k, work_left *l, kern_work_report *r, swing_err *err)
{
    swing_status s = SWING_OK;
    for (size_t i = 0; !s && i < sizeof cleanup_stages / sizeof *cleanup_stages; i++)
        s = run_stage(k, &cleanup_stages[i], l, NULL, NULL, r, err);
    return s ? s : report_left(k, r, err);
}

void kern_budget_default(kern_budget *b)
{
    b->compute = 0;
    b->gc_krefs = 5000;
    b->boyds = 2;
    b->units = 5000;
}

/* A block's work, or its clean-up alone. */
static swing_status run_block(kern *k, const kern_budget *b, bool normal, kern_work_report *out, swing_err *err)
{
    kern_work_report r;
    work_left l = left_of(b);
    swing_status s = kern_panicked(k, err);
    memset(&r, 0, sizeof r);
    r.phase = -1;
    if (!s && normal) s = run_stage(k, &normal_stage, &l, NULL, NULL, &r, err);
    if (!s) s = run_cleanup(k, &l, &r, err);
    if (out) *out = r;
    return s;
}

swing_status kern_work_block(kern *k, const kern_budget *b, kern_work_report *r, swing_err *err)
{
    return run_block(k, b, true, r, err);
}

swing_status kern_cleanup(kern *k, const kern_budget *b, kern_work_report *r, swing_err *err)
{
    return run_block(k, b, false, r, err);
}

swing_status kern_step(kern *k, kern_crank_info *info, bool *did, swing_err *err)
{
    work_left l = {UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED, false};
    work_source_id src;
    return crank_once(k, &schedule_stage, &l, info, &src, did, err);
}

swing_status kern_run_flags(kern *k, unsigned flags, kern_policy_fn policy, void *ctx, uint64_t *cranks,
                            swing_err *err)
{
    work_left l = {UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED, false};
    kern_work_report r;
    swing_status s;
    memset(&r, 0, sizeof r);
    s = run_stage(k, (flags & KERN_RUN_NO_GC) ? &normal_stage : &schedule_stage, &l, policy, ctx, &r, err);
    if (cranks) *cranks = r.normal.cranks;
    return s;
}

swing_status kern_run(kern *k, kern_policy_fn policy, void *ctx, uint64_t *cranks, swing_err *err)
{
    return kern_run_flags(k, 0, policy, ctx, cranks, err);
}
