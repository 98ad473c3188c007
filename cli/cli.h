/*
 * cli.h - the `swing` command-line tool: subcommand entry points and the
 * small argument helpers they share. Every command that touches a node is a
 * host over the protobuf ABI (cli/client.h); store-demo alone drives the
 * store directly.
 */
#ifndef LIBSWING_CLI_CLI_H
#define LIBSWING_CLI_CLI_H

#include <stdio.h>

/* Returns the value after `--name` in argv, or NULL. */
const char *cli_opt(int argc, char **argv, const char *name);

/* Prints "swing: <message>" to stderr and returns exit code 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_cmd_kv(int argc, char **argv);
int cli_cmd_export(int argc, char **argv);
int cli_cmd_import(int argc, char **argv);
int cli_cmd_vats(int argc, char **argv);
int cli_cmd_run(int argc, char **argv);
int cli_cmd_store_demo(int argc, char **argv);

#endif /* LIBSWING_CLI_CLI_H */
