/*
 * version.c - ABI identity: version queries and swing_free,
 * the single release function for every buffer the library hands out.
 */
#include "abi/swing.h"

#include "base/alloc.h"

uint32_t swing_abi_version(void) { return SWING_ABI_VERSION; }

const char *swing_version(void) { return "0.1.0"; }

void swing_free(void *buffer) { swing_mfree(buffer); }
