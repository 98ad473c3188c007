/*
 * vatproto.h - the vat boundary (DESIGN.md §5): deliveries the kernel makes
 * to a vat, syscalls a vat makes back during a delivery, and the vat-manager
 * interface every worker kind implements (raw C vats now, Lua vats later).
 *
 * Ownership: a delivery and everything it points to are borrowed by the vat
 * for the duration of deliver(); a syscall is borrowed by the kernel for the
 * duration of kern_vat_syscall(). Strings are NUL-terminated. vrefs follow
 * reference/liveslots.md §1: o+N / o-N objects, p+N / p-N promises.
 */
#ifndef LIBSWING_KERNEL_VATPROTO_H
#define LIBSWING_KERNEL_VATPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"

/* Capability data: a smallcaps body ("#" + JSON) and the slots it names. */
typedef struct kern_capdata {
    const char *body;          /* NUL-terminated */
    const char *const *slots;  /* nslots vrefs (vat side) or krefs (kernel side) */
    size_t nslots;
} kern_capdata;

typedef struct kern_resolution {
    const char *vpid;   /* the promise being resolved / notified */
    bool rejected;      /* true: rejection */
    kern_capdata data;  /* resolution value */
} kern_resolution;

typedef enum kern_dtype {
    KERN_D_MESSAGE = 1,        /* target, methargs, result (may be NULL) */
    KERN_D_NOTIFY = 2,         /* resolutions */
    KERN_D_DROP_EXPORTS = 3,   /* vrefs */
    KERN_D_RETIRE_EXPORTS = 4, /* vrefs */
    KERN_D_RETIRE_IMPORTS = 5, /* vrefs */
    KERN_D_BRING_OUT_YOUR_DEAD = 6,
    KERN_D_START_VAT = 7,      /* vat_parameters */
    KERN_D_CHANGE_VAT_OPTIONS = 8 /* options: JSON object text */
} kern_dtype;

typedef struct kern_delivery {
    kern_dtype type;
    const char *target;                   /* message */
    kern_capdata methargs;                /* message: body #["method",[args...]] */
    const char *result;                   /* message: result vpid or NULL */
    const kern_resolution *resolutions;   /* notify */
    size_t nresolutions;
    const char *const *vrefs;             /* GC deliveries, sorted */
    size_t nvrefs;
    kern_capdata vat_parameters;          /* startVat */
    uint64_t budget;                      /* bringOutYourDead: max objects, 0 = no limit;
                                             a vat over it sets result.more */
    const char *options;                  /* changeVatOptions: JSON object */
} kern_delivery;

typedef enum kern_stype {
    KERN_S_SEND = 1,             /* target, methargs, result (may be NULL) */
    KERN_S_RESOLVE = 2,          /* resolutions */
    KERN_S_SUBSCRIBE = 3,        /* vpid */
    KERN_S_EXIT = 4,             /* failure, info */
    KERN_S_VATSTORE_GET = 5,     /* key -> found, value */
    KERN_S_VATSTORE_SET = 6,     /* key, value */
    KERN_S_VATSTORE_DELETE = 7,  /* key */
    KERN_S_VATSTORE_NEXT = 8,    /* key -> found, value = next key */
    KERN_S_DROP_IMPORTS = 9,     /* vrefs */
    KERN_S_RETIRE_IMPORTS = 10,  /* vrefs */
    KERN_S_RETIRE_EXPORTS = 11,  /* vrefs */
    KERN_S_ABANDON_EXPORTS = 12, /* vrefs */
    KERN_S_CALL_NOW = 13         /* devices: not provided; always vat-fatal */
} kern_stype;

typedef struct kern_syscall {
    kern_stype type;
    const char *target;                  /* send */
    kern_capdata methargs;               /* send */
    const char *result;                  /* send: result vpid or NULL */
    const kern_resolution *resolutions;  /* resolve */
    size_t nresolutions;
    const char *vpid;                    /* subscribe */
    bool failure;                        /* exit */
    kern_capdata info;                   /* exit */
    swing_bytes key;                     /* vatstore */
    swing_bytes value;                   /* vatstore set */
    const char *const *vrefs;            /* GC syscalls */
    size_t nvrefs;
} kern_syscall;

typedef struct kern_syscall_result {
    bool found;      /* vatstore get / next: something was found */
    swing_buf value; /* owned by the caller after the call; free with swing_buf_free */
} kern_syscall_result;

/* Why a vat failed, as its worker tells the kernel: in a failed delivery's
 * result, and in the detail bits (KERN_VAT_FAIL_OF) of the status of a
 * worker that could not be created. */
typedef enum kern_vat_fail {
    KERN_VAT_FAIL_ERROR = 0,   /* vat code raised an error (or anything else) */
    KERN_VAT_FAIL_COMPUTE = 1, /* the compute limit */
    KERN_VAT_FAIL_MEMORY = 2,  /* the memory limit */
    KERN_VAT_FAIL_FORBIDDEN = 3 /* a construct the runtime forbids */
} kern_vat_fail;
/* A worker-creation status carrying its kern_vat_fail, and the reverse. */
#define KERN_VAT_FAIL_STATUS(primary, fail) ((swing_status)((unsigned)(primary) | ((unsigned)(fail) << 8)))
#define KERN_VAT_FAIL_OF(status) ((kern_vat_fail)(((unsigned)(status) >> 8) & 0xffu))

/* How a delivery ended, filled by the vat. */
typedef struct kern_delivery_result {
    bool ok;            /* false: the vat failed; it is terminated */
    kern_vat_fail fail; /* when !ok: why */
    char message[256];  /* failure reason */
    uint64_t computrons; /* work done, for the run policy */
    bool more;          /* bringOutYourDead: the budget stopped it with dead
                           objects left (the vat stays on the dirty list) */
} kern_delivery_result;

/* The kernel's per-delivery syscall channel. */
typedef struct kern_vat_io kern_vat_io;

/* Makes one syscall. SWING_OK on success; SWING_ERR_VAT when the syscall is
 * illegal: the vat is then terminated and the delivery's effects are rolled
 * back whatever the vat does next (it should return promptly). */
swing_status kern_vat_syscall(kern_vat_io *io, const kern_syscall *sc, kern_syscall_result *res);

/* The vat ID of the vat being delivered to. */
const char *kern_vat_io_vat_id(const kern_vat_io *io);

/* A worker kind. deliver() must fill r; it returns non-OK only for a worker
 * failure (treated like r->ok = false). */
typedef struct kern_vat_ops {
    swing_status (*deliver)(void *self, kern_vat_io *io, const kern_delivery *d,
                            kern_delivery_result *r);
    void (*destroy)(void *self);
} kern_vat_ops;

#endif /* LIBSWING_KERNEL_VATPROTO_H */
