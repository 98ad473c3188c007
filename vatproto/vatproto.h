/*
 * vatproto.h - the vat boundary (DESIGN.md §5): deliveries the kernel makes
 * to a vat, syscalls a vat makes back during a delivery, and the vat-manager
 * interface every worker kind implements (raw C vats now, Lua vats later).
 *
 * Ownership: a delivery and everything it points to are borrowed by the vat
 * for the duration of deliver(); a syscall is borrowed by the kernel for the
 * duration of vp_channel_syscall(). Strings are NUL-terminated. vrefs follow
 * reference/liveslots.md §1: o+N / o-N objects, p+N / p-N promises.
 */
#ifndef LIBSWING_VATPROTO_VATPROTO_H
#define LIBSWING_VATPROTO_VATPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"

/* Capability data: a smallcaps body ("#" + JSON) and the slots it names. */
typedef struct vp_capdata {
    const char *body;          /* NUL-terminated */
    const char *const *slots;  /* nslots vrefs (vat side) or krefs (kernel side) */
    size_t nslots;
} vp_capdata;

typedef struct vp_resolution {
    const char *vpid;   /* the promise being resolved / notified */
    bool rejected;      /* true: rejection */
    vp_capdata data;  /* resolution value */
} vp_resolution;

typedef enum vp_dtype {
    VP_D_MESSAGE = 1,        /* target, methargs, result (may be NULL) */
    VP_D_NOTIFY = 2,         /* resolutions */
    VP_D_DROP_EXPORTS = 3,   /* vrefs */
    VP_D_RETIRE_EXPORTS = 4, /* vrefs */
    VP_D_RETIRE_IMPORTS = 5, /* vrefs */
    VP_D_BRING_OUT_YOUR_DEAD = 6,
    VP_D_START_VAT = 7,      /* vat_parameters */
    VP_D_CHANGE_VAT_OPTIONS = 8 /* options: JSON object text */
} vp_dtype;

typedef struct vp_delivery {
    vp_dtype type;
    const char *target;                   /* message */
    vp_capdata methargs;                /* message: body #["method",[args...]] */
    const char *result;                   /* message: result vpid or NULL */
    const vp_resolution *resolutions;   /* notify */
    size_t nresolutions;
    const char *const *vrefs;             /* GC deliveries, sorted */
    size_t nvrefs;
    vp_capdata vat_parameters;          /* startVat */
    uint64_t budget;                      /* bringOutYourDead: max objects, 0 = no limit;
                                             a vat over it sets result.more */
    const char *options;                  /* changeVatOptions: JSON object */
} vp_delivery;

typedef enum vp_stype {
    VP_S_SEND = 1,             /* target, methargs, result (may be NULL) */
    VP_S_RESOLVE = 2,          /* resolutions */
    VP_S_SUBSCRIBE = 3,        /* vpid */
    VP_S_EXIT = 4,             /* failure, info */
    VP_S_VATSTORE_GET = 5,     /* key -> found, value */
    VP_S_VATSTORE_SET = 6,     /* key, value */
    VP_S_VATSTORE_DELETE = 7,  /* key */
    VP_S_VATSTORE_NEXT = 8,    /* key, value = bound or empty -> found, value = the
                                  next key after key (starting with the bound if
                                  one is given) */
    VP_S_DROP_IMPORTS = 9,     /* vrefs */
    VP_S_RETIRE_IMPORTS = 10,  /* vrefs */
    VP_S_RETIRE_EXPORTS = 11,  /* vrefs */
    VP_S_ABANDON_EXPORTS = 12, /* vrefs */
    VP_S_CALL_NOW = 13         /* devices: not provided; always vat-fatal */
} vp_stype;

typedef struct vp_syscall {
    vp_stype type;
    const char *target;                  /* send */
    vp_capdata methargs;               /* send */
    const char *result;                  /* send: result vpid or NULL */
    const vp_resolution *resolutions;  /* resolve */
    size_t nresolutions;
    const char *vpid;                    /* subscribe */
    bool failure;                        /* exit */
    vp_capdata info;                   /* exit */
    swing_bytes key;                     /* vatstore */
    swing_bytes value;                   /* vatstore set */
    const char *const *vrefs;            /* GC syscalls */
    size_t nvrefs;
} vp_syscall;

typedef struct vp_syscall_result {
    bool found;      /* vatstore get / next: something was found */
    swing_buf value; /* owned by the caller after the call; free with swing_buf_free */
} vp_syscall_result;

/* Why a vat failed, as its worker tells the kernel: in a failed delivery's
 * result, and in the detail bits (VP_FAIL_OF) of the status of a
 * worker that could not be created. */
typedef enum vp_fail {
    VP_FAIL_ERROR = 0,   /* vat code raised an error (or anything else) */
    VP_FAIL_COMPUTE = 1, /* the compute limit */
    VP_FAIL_MEMORY = 2,  /* the memory limit */
    VP_FAIL_FORBIDDEN = 3 /* a construct the runtime forbids */
} vp_fail;
/* A worker-creation status carrying its vp_fail, and the reverse. */
#define VP_FAIL_STATUS(primary, fail) ((swing_status)((unsigned)(primary) | ((unsigned)(fail) << 8)))
#define VP_FAIL_OF(status) ((vp_fail)(((unsigned)(status) >> 8) & 0xffu))

/* How a delivery ended, filled by the vat. */
typedef struct vp_delivery_result {
    bool ok;            /* false: the vat failed; it is terminated */
    vp_fail fail; /* when !ok: why */
    char message[256];  /* failure reason */
    uint64_t computrons; /* work done, for the run policy */
    bool more;          /* bringOutYourDead: the budget stopped it with dead
                           objects left (the vat stays on the dirty list) */
    uint64_t units;     /* bringOutYourDead: budget units it used (a wind-down
                           worker: vatstore items deleted) */
    uint64_t left;      /* a wind-down worker's BOYD: vatstore items left ... */
    bool counting;      /* ... so far counted: it is still counting them */
} vp_delivery_result;

/* The kernel's per-delivery syscall channel, filled by the kernel. A worker
 * uses it only through the two functions below. */
typedef struct vp_channel vp_channel;
struct vp_channel {
    swing_status (*syscall)(vp_channel *ch, const vp_syscall *sc, vp_syscall_result *res);
    const char *vat_id; /* the vat being delivered to */
};

/* Makes one syscall. SWING_OK on success; SWING_ERR_VAT when the syscall is
 * illegal: the vat is then terminated and the delivery's effects are rolled
 * back whatever the vat does next (it should return promptly). */
static inline swing_status vp_channel_syscall(vp_channel *ch, const vp_syscall *sc, vp_syscall_result *res)
{
    return ch->syscall(ch, sc, res);
}

/* The vat ID of the vat being delivered to. */
static inline const char *vp_channel_vat_id(const vp_channel *ch) { return ch->vat_id; }

/* A worker kind. deliver() must fill r; it returns non-OK only for a worker
 * failure (treated like r->ok = false). */
typedef struct vp_worker_ops {
    swing_status (*deliver)(void *self, vp_channel *ch, const vp_delivery *d, vp_delivery_result *r);
    void (*destroy)(void *self);
} vp_worker_ops;

#endif /* LIBSWING_VATPROTO_VATPROTO_H */
