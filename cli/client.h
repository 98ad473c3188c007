/*
 * client.h - the CLI's side of the host ABI: opens a data directory through
 * swing_open and sends protobuf envelopes through swing_call, exactly as a
 * chain node would. Every command that touches a node goes through here.
 */
#ifndef LIBSWING_CLI_CLIENT_H
#define LIBSWING_CLI_CLIENT_H

#include <stdbool.h>

#include "abi/swing.h"
#include "swing/v1/swing.pb-c.h"

typedef struct cli_client {
    swing_handle *h;
} cli_client;

/* Opens `dir`. With must_exist, a missing directory is refused before the
 * library would create it. On success *info (may be NULL) gets the open
 * response, freed with swing__v1__open_response__free_unpacked. On failure
 * prints "swing: <why>" and returns non-zero. */
int cli_client_open(cli_client *c, const char *dir, bool no_sync, bool must_exist,
                    Swing__V1__OpenResponse **info);

/* Sends req (its abi_version is filled in). Returns the response's status;
 * *resp is the unpacked response (free with swing__v1__response__free_unpacked),
 * or NULL when not even that could be had (then the status says why). */
swing_status cli_client_call(cli_client *c, Swing__V1__Request *req, Swing__V1__Response **resp);

/* cli_client_call for callers that only go on after OK: on success returns
 * 0 and *resp (caller frees); otherwise prints "swing: <what>: <why>", frees
 * what it got, sets *resp NULL and returns 1. */
int cli_client_ask(cli_client *c, Swing__V1__Request *req, const char *what,
                   Swing__V1__Response **resp);

/* The message for a failed call: the response's error, or the status name. */
const char *cli_client_why(const Swing__V1__Response *resp, swing_status s);

void cli_client_close(cli_client *c);

#endif /* LIBSWING_CLI_CLIENT_H */
