/*
 * client.c - swing_open/swing_call wrappers for the CLI: packing requests,
 * unpacking responses, and turning failures into messages.
 */
#include "cli/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

int cli_client_open(cli_client *c, const char *dir, bool no_sync, bool must_exist,
                    Swing__V1__OpenResponse **info)
{
    Swing__V1__OpenRequest req = SWING__V1__OPEN_REQUEST__INIT;
    Swing__V1__OpenResponse *r;
    struct stat sb;
    uint8_t *buf, *out = NULL;
    size_t n, out_len = 0;
    swing_status s;
    c->h = NULL;
    if (info) *info = NULL;
    if (must_exist && stat(dir, &sb) != 0)
        return cli_fail("%s: %s", dir, strerror(errno));
    req.abi_version = SWING_ABI_VERSION;
    req.data_dir = (char *)dir;
    req.no_sync = no_sync;
    n = swing__v1__open_request__get_packed_size(&req);
    if (!(buf = malloc(n ? n : 1))) return cli_fail("out of memory");
    swing__v1__open_request__pack(&req, buf);
    s = swing_open(buf, n, &c->h, &out, &out_len);
    free(buf);
    r = out ? swing__v1__open_response__unpack(NULL, out_len, out) : NULL;
    swing_free(out);
    if (s != SWING_OK || !r) {
        int rc = cli_fail("open %s: %s", dir, r && r->error[0] ? r->error : swing_status_name(s));
        if (r) swing__v1__open_response__free_unpacked(r, NULL);
        swing_close(c->h);
        c->h = NULL;
        return rc;
    }
    if (info) *info = r;
    else swing__v1__open_response__free_unpacked(r, NULL);
    return 0;
}

swing_status cli_client_call(cli_client *c, Swing__V1__Request *req, Swing__V1__Response **resp)
{
    uint8_t *buf, *out = NULL;
    size_t n, out_len = 0;
    swing_status s;
    *resp = NULL;
    req->abi_version = SWING_ABI_VERSION;
    n = swing__v1__request__get_packed_size(req);
    if (!(buf = malloc(n ? n : 1))) return SWING_ERR_NOMEM;
    swing__v1__request__pack(req, buf);
    s = swing_call(c->h, buf, n, &out, &out_len);
    free(buf);
    if (out) *resp = swing__v1__response__unpack(NULL, out_len, out);
    swing_free(out);
    if (!*resp && s == SWING_OK) s = SWING_ERR_NOMEM;
    return s;
}

int cli_client_ask(cli_client *c, Swing__V1__Request *req, const char *what,
                   Swing__V1__Response **resp)
{
    swing_status s = cli_client_call(c, req, resp);
    if (s == SWING_OK) return 0;
    cli_fail("%s: %s", what, cli_client_why(*resp, s));
    swing__v1__response__free_unpacked(*resp, NULL); /* NULL is fine */
    *resp = NULL;
    return 1;
}

const char *cli_client_why(const Swing__V1__Response *resp, swing_status s)
{
    return resp && resp->error && resp->error[0] ? resp->error : swing_status_name(s);
}

void cli_client_close(cli_client *c)
{
    swing_close(c->h);
    c->h = NULL;
}
