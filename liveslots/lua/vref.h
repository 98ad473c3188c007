/*
 * vref.h - parsing the vrefs a Lua vat allocates and imports
 * (reference/vom-collections.md §1): o+N remotables, o-N imports,
 * o+vK/I[:F] virtual and o+dK/I[:F] durable objects and collections, p+N /
 * p-N promises. Pure: no Lua.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_VREF_H
#define LIBSWING_LIVESLOTS_LUA_VREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LS_LUA_VREF_MAX 64 /* bytes, NUL included, of any vref a Lua vat makes */

typedef struct ls_lua_vref {
    char type;         /* 'o' or 'p' */
    bool allocated;    /* '+': this vat made it */
    char virt;         /* 'v' virtual, 'd' durable, 0 otherwise */
    uint64_t id;       /* N, or the kind id K */
    uint64_t instance; /* I (virtual and durable only) */
    int facet;         /* F, or -1 without a facet */
    size_t base_len;   /* bytes of the baseRef (the vref without ":F") */
} ls_lua_vref;

/* Parses vref; false if it is not one of the forms above (decimal numbers
 * without leading zeros, N < 2^63). */
bool ls_lua_vref_parse(const char *vref, ls_lua_vref *out);

/* qsort comparator for arrays of C strings (vrefs, keys): bytewise. */
int ls_lua_vref_cmp(const void *a, const void *b);

/* The vref is a virtual or durable object or collection (o+v / o+d). */
bool ls_lua_vref_is_virtual(const char *vref);

#endif /* LIBSWING_LIVESLOTS_LUA_VREF_H */
