/*
 * install_host.c - the smallest C host of an installed libswing, built by
 * tests/abi/install_test.sh with `pkg-config --cflags --libs libswing`
 * only: opens a node and asks for its stats. The requests are hand-encoded
 * protobuf (an installed libswing ships no protobuf-c headers):
 *   OpenRequest  08 <abi>  12 <len> <data_dir>  18 01        (no_sync)
 *   Request      08 <abi>  9a 01 02 20 01                    (query: stats)
 * Usage: install_host DATA_DIR. Exit 0 when both calls answer OK.
 */
#include <stdio.h>
#include <string.h>
#include <swing.h>

/* Appends v as a protobuf varint at p; returns the bytes written. */
static size_t varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

int main(int argc, char **argv)
{
    uint8_t open_req[4200], call_req[16], *resp = NULL;
    size_t n = 0, m = 0, resp_len = 0, dl;
    swing_handle *h = NULL;
    swing_status s;
    if (argc != 2 || (dl = strlen(argv[1])) > 4096) {
        fprintf(stderr, "usage: install_host DATA_DIR\n");
        return 2;
    }
    if (swing_abi_version() != SWING_ABI_VERSION) {
        fprintf(stderr, "install_host: library ABI %u, header %u\n", (unsigned)swing_abi_version(),
                (unsigned)SWING_ABI_VERSION);
        return 1;
    }
    open_req[n++] = 0x08;
    n += varint(open_req + n, SWING_ABI_VERSION);
    open_req[n++] = 0x12;
    n += varint(open_req + n, dl);
    memcpy(open_req + n, argv[1], dl);
    n += dl;
    open_req[n++] = 0x18;
    open_req[n++] = 0x01;
    s = swing_open(open_req, n, &h, &resp, &resp_len);
    swing_free(resp);
    if (s != SWING_OK || !h) {
        fprintf(stderr, "install_host: swing_open: %s\n", swing_status_name(s));
        return 1;
    }
    call_req[m++] = 0x08;
    m += varint(call_req + m, SWING_ABI_VERSION);
    memcpy(call_req + m, "\x9a\x01\x02\x20\x01", 5);
    m += 5;
    resp = NULL;
    s = swing_call(h, call_req, m, &resp, &resp_len);
    swing_free(resp);
    swing_close(h);
    if (s != SWING_OK || resp_len == 0) {
        fprintf(stderr, "install_host: swing_call(query stats): %s\n", swing_status_name(s));
        return 1;
    }
    printf("libswing %s (ABI %u): open and query OK\n", swing_version(), (unsigned)swing_abi_version());
    return 0;
}
