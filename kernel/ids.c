/*
 * ids.c - the forms of kernel references (koN objects, kpN promises) and of
 * vat references (o+N, o-N, p+N, p-N, and the virtual/durable forms
 * o+vK/I[:F], o+dK/I[:F] of reference/liveslots.md §1).
 */
#include "kernel/kernel_int.h"

static bool digits(const char *s)
{
    if (!*s || (s[0] == '0' && s[1])) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

bool kern_ids_is_kobj(const char *kref) { return kref[0] == 'k' && kref[1] == 'o'; }

bool kern_ids_is_kpromise(const char *kref) { return kref[0] == 'k' && kref[1] == 'p'; }

bool kern_ids_kref_valid(const char *kref)
{
    return strlen(kref) < KERN_ID_MAX && (kern_ids_is_kobj(kref) || kern_ids_is_kpromise(kref)) &&
           digits(kref + 2);
}

bool kern_ids_vref_parse(const char *vref, char *type, bool *exported)
{
    size_t n = strlen(vref);
    if (n < 3 || n >= KERN_VREF_MAX) return false;
    if (vref[0] != 'o' && vref[0] != 'p') return false;
    if (vref[1] != '+' && vref[1] != '-') return false;
    *type = vref[0];
    *exported = vref[1] == '+';
    if (digits(vref + 2)) return true;
    /* Virtual and durable object exports: o+v<kind>/<instance>[:<facet>]. */
    if (vref[0] != 'o' || vref[1] != '+' || (vref[2] != 'v' && vref[2] != 'd')) return false;
    for (const char *p = vref + 3; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '/' || *p == ':')) return false;
    return true;
}
