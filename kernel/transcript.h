/*
 * transcript.h - vat transcripts in the kernel (DESIGN.md §4, §7): every
 * delivery to a transcript-keeping vat is recorded with its syscalls and
 * their results; a new worker for such a vat first replays the current span,
 * and any syscall that differs from the record is vat-fatal.
 *
 * Item (canonical JSON):
 *   {"d": <delivery>, "sc": [{"r": <result>|null, "s": <syscall>}, ...]}
 * Deliveries and syscalls are JSON objects with a "type" field (message,
 * notify, startVat, dropExports, ..., send, resolve, subscribe, exit,
 * vatstoreGet, ...); capdata as {"body","slots"}; vatstore bytes as JSON
 * strings, or {"hex": "..."} when not valid UTF-8.
 */
#ifndef LIBSWING_KERNEL_TRANSCRIPT_H
#define LIBSWING_KERNEL_TRANSCRIPT_H

#include <jansson.h>

#include "kernel/kernel_int.h"

json_t *kern_transcript_delivery(const vp_delivery *d);
json_t *kern_transcript_syscall(const vp_syscall *sc);
json_t *kern_transcript_result(const vp_syscall_result *res);

/* Starts recording the delivery's syscalls into io (io->log). */
swing_status kern_transcript_begin(kern_vat_io *io, const vp_delivery *d, swing_err *err);
/* Appends the recorded item to the vat's transcript (same crank). */
swing_status kern_transcript_commit(kern *k, kern_vat_io *io, swing_err *err);
void kern_transcript_discard(kern_vat_io *io);

/* Records one syscall and its result (no-op when not recording). */
void kern_transcript_note(kern_vat_io *io, const vp_syscall *sc, const vp_syscall_result *res);

/* A replay that diverged from the record: VAT with this detail. */
#define KERN_ERR_REPLAY ((swing_status)((unsigned)SWING_ERR_VAT | (0x10u << 8)))

/* Replays the vat's current span into a fresh worker. KERN_ERR_REPLAY on a
 * mismatch, a failed replayed delivery or missing syscalls, with a message
 * "transcript mismatch at item N ..."; kernel errors as they are. */
swing_status kern_transcript_replay(kern *k, const char *vat, kern_worker *w, swing_err *err);

/* In replay: answers a syscall from the record, or fails the replay. */
swing_status kern_transcript_replay_syscall(kern_vat_io *io, const vp_syscall *sc,
                                            vp_syscall_result *res);

#endif /* LIBSWING_KERNEL_TRANSCRIPT_H */
