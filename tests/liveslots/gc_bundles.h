/*
 * gc_bundles.h - Lua sources of the export / drop workload shared by
 * luavat_test.c and the luavat benchmark: the exporter makes n Far objects
 * and returns them; the importer fetches and holds them, then drops them.
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

#endif /* LIBSWING_TESTS_LIVESLOTS_GC_BUNDLES_H */
