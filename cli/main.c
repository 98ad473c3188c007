/*
 * main.c - `swing` entry point: dispatches subcommands, prints usage.
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <string.h>

#include "abi/swing.h"

const char *cli_opt(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("swing: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int usage(FILE *f)
{
    fputs("usage: swing <command> [options]\n"
          "  run --config FILE --db DIR [--blocks N] [--actions FILE] [--compute-limit C]\n"
          "      [--cleanup-gc N] [--cleanup-boyds N] [--cleanup-units N]\n"
          "      [--json] [--no-sync]           run a chain: genesis, then a block per height\n"
          "  vats --db DIR                      list a node's vats\n"
          "  kv --db DIR [--prefix P]           list a node's kv entries\n"
          "  export --db DIR --out DIR2 [--mode operational|archival]\n"
          "  import --in DIR2 --db DIR3 --height H --activity-hash HEX\n"
          "                                     build a node from an export, verified against\n"
          "                                     the height and activity hash the chain committed\n"
          "  store-demo --db DIR [--blocks N]   drive the bare store (no kernel)\n"
          "  version                            print library and ABI versions\n",
          f);
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd) return usage(stderr);
    if (strcmp(cmd, "run") == 0) return cli_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "vats") == 0) return cli_cmd_vats(argc - 1, argv + 1);
    if (strcmp(cmd, "kv") == 0) return cli_cmd_kv(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0) return cli_cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0) return cli_cmd_import(argc - 1, argv + 1);
    if (strcmp(cmd, "store-demo") == 0) return cli_cmd_store_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0) {
        printf("libswing %s (ABI %u)\n", swing_version(), (unsigned)swing_abi_version());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) return usage(stdout);
    cli_fail("unknown command '%s'", cmd);
    return usage(stderr);
}
