/*
 * gc_bundles.h - Lua sources of the export / drop workloads shared by
 * tests and benchmarks: the exporter makes n Far objects and returns them;
 * the importer fetches and holds them, then drops them (luavat_test.c and
 * the luavat benchmark); the VOM scenarios' exporter.
 */
#ifndef LIBSWING_TESTS_LIVESLOTS_GC_BUNDLES_H
#define LIBSWING_TESTS_LIVESLOTS_GC_BUNDLES_H

static const char *const GC_EXPORTER =
    "function buildRootObject()\n"
    "  return Far('exporter', {\n"
    "    make = function(n)\n"
    "      local list = {}\n"
    "      for i = 1, n do list[i] = Far('thing', { id = function() return i end }) end\n"
    "      return list\n"
    "    end,\n"
    "  })\n"
    "end\n";

static const char *const GC_IMPORTER =
    "local held\n"
    "function buildRootObject()\n"
    "  return Far('importer', {\n"
    "    fetch = function(exporter, n)\n"
    "      return E(exporter).make(n):next(function(list) held = list return #list end)\n"
    "    end,\n"
    "    drop = function() held = nil return 'dropped' end,\n"
    "  })\n"
    "end\n";

/* The exporter of the VOM scenarios (vom_test.c, the vom_gc benchmark):
 * one() and many(k) make Far things whose id() counts up from 1. */
static const char *const VOM_EXPORTER =
    "function buildRootObject()\n"
    "  local n = 0\n"
    "  local function thing() n = n + 1 local id = n return Far('thing', { id = function() return id end }) end\n"
    "  return Far('exporter', {\n"
    "    one = function() return thing() end,\n"
    "    many = function(k) local list = {} for i = 1, k do list[i] = thing() end return list end,\n"
    "  })\n"
    "end\n";

#endif /* LIBSWING_TESTS_LIVESLOTS_GC_BUNDLES_H */
