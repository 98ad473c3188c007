/*
 * syscalls.h - syscalls issued by raw C vats (kernel_raw_vat dispatch
 * functions) in tests and benchmarks. No cmocka, so benchmarks link it too.
 */
#ifndef LIBSWING_TESTS_SYSCALLS_H
#define LIBSWING_TESTS_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/kernel.h"

/* Syscall helpers: return the status of vp_channel_syscall. */
swing_status tv_send(vp_channel *io, const char *target, const char *body, const char *const *slots,
                     size_t n, const char *result);
swing_status tv_resolve(vp_channel *io, const char *vpid, bool rejected, const char *body,
                        const char *const *slots, size_t n);
swing_status tv_subscribe(vp_channel *io, const char *vpid);
swing_status tv_gc(vp_channel *io, vp_stype type, const char *const *vrefs, size_t n);

/* Writes the method of a message delivery into buf (empty for anything
 * else) and returns buf. */
const char *tv_method(const vp_delivery *d, char *buf, size_t cap);

#endif /* LIBSWING_TESTS_SYSCALLS_H */
