/*
 * vref.c - vref parsing (see vref.h).
 */
#include "liveslots/lua/vref.h"

#include <string.h>

/* Reads a decimal number without leading zeros at *p; advances *p. */
static bool number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9') return false;
    if (*s == '0' && s[1] >= '0' && s[1] <= '9') return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX / 2 - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    *p = s;
    return true;
}

bool ls_lua_vref_parse(const char *vref, ls_lua_vref *out)
{
    const char *p = vref;
    uint64_t f;
    memset(out, 0, sizeof *out);
    out->facet = -1;
    if (!vref || (p[0] != 'o' && p[0] != 'p') || (p[1] != '+' && p[1] != '-')) return false;
    out->type = p[0];
    out->allocated = p[1] == '+';
    p += 2;
    if (out->type == 'o' && out->allocated && (*p == 'v' || *p == 'd')) {
        out->virt = *p++;
        if (!number(&p, &out->id) || *p++ != '/' || !number(&p, &out->instance)) return false;
        out->base_len = (size_t)(p - vref);
        if (*p == ':') {
            p++;
            if (!number(&p, &f) || f > 1000) return false;
            out->facet = (int)f;
        }
        return *p == '\0' && (size_t)(p - vref) < LS_LUA_VREF_MAX;
    }
    if (!number(&p, &out->id) || *p != '\0') return false;
    out->base_len = (size_t)(p - vref);
    return out->base_len < LS_LUA_VREF_MAX;
}

int ls_lua_vref_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool ls_lua_vref_is_virtual(const char *vref)
{
    return vref && vref[0] == 'o' && vref[1] == '+' && (vref[2] == 'v' || vref[2] == 'd');
}
