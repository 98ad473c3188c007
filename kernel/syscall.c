/*
 * syscall.c - the syscalls a vat makes during a delivery (DESIGN.md §5,
 * reference/kernel-gc.md §2.4): translation with c-list checks, then the
 * effect. An illegal syscall marks the delivery failed (vat-fatal) and
 * returns SWING_ERR_VAT; a kernel failure is kept in io->fatal.
 */
#include "kernel/kernel_int.h"

#include "base/utf8.h"

#include <stdio.h>

#include "kernel/transcript.h"

#include "base/alloc.h"

static swing_status sc_send(kern_vat_io *io, const vp_syscall *sc, swing_err *err)
{
    kern *k = io->k;
    char target[KERN_ID_MAX], result[KERN_ID_MAX];
    kern_cd ma;
    swing_status s = kern_tr_v2k(k, io->vat, sc->target, KERN_TR_ACCESS, target, err);
    if (s) return s;
    if (sc->result) {
        bool found;
        if (!io->pipelining) {
            /* Non-pipelining vats must use a brand-new promise as result. */
            if ((s = kern_clist_kref(k, io->vat, sc->result, result, &found, err))) return s;
            if (found || strncmp(sc->result, "p+", 2) != 0)
                return swing_err_set(err, SWING_ERR_VAT, "vat %s: send result %.40s is not a new promise",
                                     io->vat, sc->result);
        }
        if ((s = kern_tr_v2k(k, io->vat, sc->result, KERN_TR_RESULT, result, err))) return s;
    }
    if ((s = kern_tr_cd_v2k(k, io->vat, sc->methargs, &ma, err))) return s;
    if (sc->result) s = kern_kp_set_decider(k, result, "", err); /* the queue decides now */
    if (!s) s = kern_queue_send(k, KERN_ACCEPTANCE, target, kern_cd_view(&ma),
                                sc->result ? result : NULL, err);
    kern_cd_free(&ma);
    return s;
}

/* A body that is exactly one promise reference: #"&0". */
static bool resolves_to_promise(vp_capdata d)
{
    return d.nslots == 1 && strcmp(d.body, "#\"&0\"") == 0;
}

static swing_status sc_resolve(kern_vat_io *io, const vp_syscall *sc, swing_err *err)
{
    kern *k = io->k;
    char (*kpids)[KERN_ID_MAX] = swing_calloc(sc->nresolutions ? sc->nresolutions : 1, sizeof *kpids);
    kern_cd *data = swing_calloc(sc->nresolutions ? sc->nresolutions : 1, sizeof *data);
    swing_status s = kpids && data ? SWING_OK : SWING_NOMEM(err);
    for (size_t i = 0; !s && i < sc->nresolutions; i++) {
        const vp_resolution *r = &sc->resolutions[i];
        kern_promise_state st;
        char decider[KERN_ID_MAX], type;
        bool exported;
        if (!r->vpid || !kern_ids_vref_parse(r->vpid, &type, &exported) || type != 'p') {
            s = swing_err_set(err, SWING_ERR_VAT, "vat %s: resolve of a non-promise", io->vat);
            break;
        }
        if (resolves_to_promise(r->data)) {
            s = swing_err_set(err, SWING_ERR_VAT, "vat %s: cannot resolve to a promise", io->vat);
            break;
        }
        if ((s = kern_tr_v2k(k, io->vat, r->vpid, KERN_TR_ACCESS, kpids[i], err))) break;
        if ((s = kern_kp_state(k, kpids[i], &st, decider, err))) break;
        if (st != KERN_PROMISE_UNRESOLVED || strcmp(decider, io->vat) != 0) {
            s = swing_err_set(err, SWING_ERR_VAT, "vat %s: resolve of %.40s it does not decide",
                              io->vat, r->vpid);
            break;
        }
        s = kern_tr_cd_v2k(k, io->vat, r->data, &data[i], err);
    }
    for (size_t i = 0; !s && i < sc->nresolutions; i++) {
        s = kern_kp_resolve(k, kpids[i], sc->resolutions[i].rejected, kern_cd_view(&data[i]), err);
        if (!s) s = kern_clist_delete(k, io->vat, kpids[i], err); /* the decider forgets it */
    }
    for (size_t i = 0; data && i < sc->nresolutions; i++) kern_cd_free(&data[i]);
    swing_mfree(kpids);
    swing_mfree(data);
    return s;
}

static swing_status sc_subscribe(kern_vat_io *io, const vp_syscall *sc, swing_err *err)
{
    char kpid[KERN_ID_MAX], type;
    bool exported;
    swing_status s;
    if (!sc->vpid || !kern_ids_vref_parse(sc->vpid, &type, &exported) || type != 'p')
        return swing_err_set(err, SWING_ERR_VAT, "vat %s: subscribe to a non-promise", io->vat);
    if ((s = kern_tr_v2k(io->k, io->vat, sc->vpid, KERN_TR_ACCESS, kpid, err))) return s;
    return kern_kp_subscribe(io->k, kpid, io->vat, err);
}

static swing_status vs_key(kern_vat_io *io, swing_bytes key, char *out, size_t cap, size_t *len,
                           swing_err *err)
{
    int n = snprintf(out, cap, "%s.vs.", io->vat);
    if (key.len == 0 || (size_t)n + key.len > STORE_KEY_MAX || (size_t)n + key.len >= cap)
        return swing_err_set(err, SWING_ERR_VAT, "vat %s: bad vatstore key", io->vat);
    /* Keys reach hosts as protobuf strings (export data, kv queries): they
     * must be text, or the host would see them altered. */
    if (memchr(key.ptr, '\0', key.len) || !swing_utf8_valid(key.ptr, key.len))
        return swing_err_set(err, SWING_ERR_VAT, "vat %s: vatstore key is not UTF-8 text", io->vat);
    memcpy(out + n, key.ptr, key.len);
    *len = (size_t)n + key.len;
    return SWING_OK;
}

static swing_status sc_vatstore(kern_vat_io *io, const vp_syscall *sc, vp_syscall_result *res,
                                swing_err *err)
{
    char key[STORE_KEY_MAX + 1];
    size_t kl = 0, pl;
    swing_status s = vs_key(io, sc->key, key, sizeof key, &kl, err);
    swing_bytes k = swing_bytes_of(key, kl);
    if (s) return s;
    pl = kl - sc->key.len;
    switch (sc->type) {
    case VP_S_VATSTORE_GET: return store_get(io->k->st, k, &res->value, &res->found, err);
    case VP_S_VATSTORE_SET: return store_set(io->k->st, k, sc->value, err);
    case VP_S_VATSTORE_DELETE: return store_delete(io->k->st, k, err);
    default: break;
    }
    /* next: within the vat's keys, or within the bound it gives (value):
     * a scan for a prefix that has no key left stops at once instead of
     * walking what was deleted after it */
    if (sc->value.len > 0) {
        char bound[STORE_KEY_MAX + 1];
        size_t bl = 0;
        if ((s = vs_key(io, sc->value, bound, sizeof bound, &bl, err))) return s;
        s = store_next_key_in(io->k->st, k, swing_bytes_of(bound, bl), &res->value, &res->found, err);
    } else {
        s = store_next_key_in(io->k->st, k, swing_bytes_of(key, pl), &res->value, &res->found, err);
    }
    if (s || !res->found) return s;
    if (!swing_bytes_has_prefix(swing_buf_view(&res->value), swing_bytes_of(key, pl))) {
        swing_buf_free(&res->value);
        res->found = false;
        return SWING_OK;
    }
    memmove(res->value.ptr, res->value.ptr + pl, res->value.len - pl);
    res->value.len -= pl;
    return SWING_OK;
}

/* Looks up an object vref of the given direction with an existing entry. */
static swing_status gc_entry(kern_vat_io *io, const char *vref, bool want_export,
                             char kref[KERN_ID_MAX], bool *reachable, swing_err *err)
{
    char type, cur[KERN_VREF_MAX];
    bool exported, found;
    swing_status s;
    if (!vref || !kern_ids_vref_parse(vref, &type, &exported) || type != 'o' || exported != want_export)
        return swing_err_set(err, SWING_ERR_VAT, "vat %s: GC syscall on bad vref %.40s", io->vat,
                             vref ? vref : "(null)");
    if ((s = kern_clist_kref(io->k, io->vat, vref, kref, &found, err))) return s;
    if (!found)
        return swing_err_set(err, SWING_ERR_VAT, "vat %s: GC syscall on unknown vref %.40s", io->vat, vref);
    return kern_clist_vref(io->k, io->vat, kref, cur, reachable, &found, err);
}

static swing_status sc_gc(kern_vat_io *io, const vp_syscall *sc, swing_err *err)
{
    kern *k = io->k;
    bool want_export = sc->type == VP_S_RETIRE_EXPORTS || sc->type == VP_S_ABANDON_EXPORTS;
    size_t n = sc->nvrefs ? sc->nvrefs : 1;
    char (*krefs)[KERN_ID_MAX] = swing_calloc(n, sizeof *krefs);
    bool *flags = swing_calloc(n, sizeof *flags);
    store_overlay seen; /* krefs named so far: a repeat must read its entry again */
    bool sorted = true;
    swing_status s = krefs && flags ? SWING_OK : SWING_NOMEM(err);
    store_overlay_init(&seen);
    /* Check everything first, so that a bad vref changes nothing. */
    for (size_t i = 0; !s && i < sc->nvrefs; i++) {
        s = gc_entry(io, sc->vrefs[i], want_export, krefs[i], &flags[i], err);
        if (!s && flags[i] && (sc->type == VP_S_RETIRE_IMPORTS || sc->type == VP_S_RETIRE_EXPORTS))
            s = swing_err_set(err, SWING_ERR_VAT, "vat %s: retire of reachable %.40s", io->vat, sc->vrefs[i]);
    }
    /* Liveslots sends strictly sorted lists: then no vref repeats and the
     * seen-set is not needed. */
    for (size_t i = 1; i < sc->nvrefs && sorted; i++) sorted = strcmp(sc->vrefs[i - 1], sc->vrefs[i]) < 0;
    for (size_t i = 0; !s && i < sc->nvrefs; i++) {
        const char *kref = krefs[i], *vref = sc->vrefs[i];
        bool repeat = !sorted && store_overlay_find(&seen, swing_str(kref)) != NULL;
        if (!sorted && !repeat) s = store_overlay_put(&seen, swing_str(kref), swing_bytes_of(NULL, 0), false, err);
        if (s) break;
        switch (sc->type) {
        case VP_S_DROP_IMPORTS:
            s = repeat ? kern_clist_set_reachable(k, io->vat, kref, false, err)
                       : kern_clist_set_reachable_known(k, io->vat, kref, vref, flags[i], false, err);
            break;
        case VP_S_RETIRE_IMPORTS:
            s = repeat ? kern_clist_delete(k, io->vat, kref, err)
                       : kern_clist_delete_known(k, io->vat, kref, vref, flags[i], err);
            break;
        case VP_S_RETIRE_EXPORTS:
            if (repeat) break; /* already retired */
            s = kern_clist_forget_known(k, io->vat, kref, vref, err);
            if (!s) s = kern_obj_retire(k, kref, err);
            break;
        default: s = kern_obj_orphan(k, kref, err); break;
        }
    }
    store_overlay_clear(&seen);
    swing_mfree(krefs);
    swing_mfree(flags);
    if (!s) io->gc_vrefs += sc->nvrefs;
    return s;
}

static swing_status dispatch(kern_vat_io *io, const vp_syscall *sc, vp_syscall_result *res,
                             swing_err *err)
{
    switch (sc->type) {
    case VP_S_SEND: return sc_send(io, sc, err);
    case VP_S_RESOLVE: return sc_resolve(io, sc, err);
    case VP_S_SUBSCRIBE: return sc_subscribe(io, sc, err);
    case VP_S_EXIT: {
        kern_cd info;
        swing_status s = kern_tr_cd_v2k(io->k, io->vat, sc->info, &info, err);
        kern_cd_free(&info);
        if (s) return s;
        io->exited = true;
        io->exit_failure = sc->failure;
        kern_term_clip(sc->info.body, io->exit_info, sizeof io->exit_info);
        return SWING_OK;
    }
    case VP_S_VATSTORE_GET:
    case VP_S_VATSTORE_SET:
    case VP_S_VATSTORE_DELETE:
    case VP_S_VATSTORE_NEXT: return sc_vatstore(io, sc, res, err);
    case VP_S_DROP_IMPORTS:
    case VP_S_RETIRE_IMPORTS:
    case VP_S_RETIRE_EXPORTS:
    case VP_S_ABANDON_EXPORTS: return sc_gc(io, sc, err);
    case VP_S_CALL_NOW: break;
    }
    return swing_err_set(err, SWING_ERR_VAT, "vat %s: unsupported syscall %d", io->vat, (int)sc->type);
}

/* The channel's syscall: io is the kern_vat_io the channel heads. */
static swing_status channel_syscall(vp_channel *ch, const vp_syscall *sc, vp_syscall_result *res)
{
    kern_vat_io *io = (kern_vat_io *)ch;
    vp_syscall_result dummy;
    swing_err e;
    swing_status s;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    io->syscalls++;
    if (io->failed || io->fatal.code != SWING_OK) return SWING_ERR_VAT;
    if (io->exited) {
        io->failed = true;
        io->kind = KERN_TERM_ILLEGAL_SYSCALL;
        snprintf(io->why, sizeof io->why, "illegal syscall: a syscall after exit");
        return SWING_ERR_VAT;
    }
    swing_err_clear(&e);
    if (io->replay && sc) {
        s = kern_transcript_replay_syscall(io, sc, res);
        if (res == &dummy) swing_buf_free(&dummy.value);
        return s;
    }
    s = sc ? dispatch(io, sc, res, &e) : swing_err_set(&e, SWING_ERR_VAT, "null syscall");
    if (s == SWING_OK) kern_transcript_note(io, sc, res);
    if (res == &dummy) swing_buf_free(&dummy.value);
    if (s == SWING_OK) return SWING_OK;
    swing_buf_free(&res->value);
    res->found = false;
    if (SWING_STATUS_PRIMARY(s) == SWING_ERR_VAT || SWING_STATUS_PRIMARY(s) == SWING_ERR_INVALID ||
        SWING_STATUS_PRIMARY(s) == SWING_ERR_LIMIT) {
        io->failed = true;
        io->kind = KERN_TERM_ILLEGAL_SYSCALL;
        snprintf(io->why, sizeof io->why, "illegal syscall: %.200s", e.msg);
        return SWING_ERR_VAT;
    }
    io->fatal = e;
    return s;
}

void kern_syscall_io_init(kern_vat_io *io, kern *k, const char *vat)
{
    memset(io, 0, sizeof *io);
    io->k = k;
    snprintf(io->vat, sizeof io->vat, "%s", vat);
    io->ch.syscall = channel_syscall;
    io->ch.vat_id = io->vat;
}
