/*
 * swing.h - the public C ABI of libswing (DESIGN.md §8).
 *
 * This is the only header a host includes. It names fixed-width types and
 * opaque handles only; no LevelDB, Lua or protobuf-c type ever appears here.
 * Operations travel as protobuf messages through swing_open/swing_call, so
 * new operations never change the symbol table.
 */
#ifndef LIBSWING_ABI_SWING_H
#define LIBSWING_ABI_SWING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes, swing_status_name and SWING_API (base/status.h, inlined
 * here by `make install`). */
#include "base/status.h" /* swing-install: inline */

/* Bumped on any incompatible change of a symbol, a status code or the envelope. */
#define SWING_ABI_VERSION 1

/* The ABI version this library was built with (compare with SWING_ABI_VERSION). */
SWING_API uint32_t swing_abi_version(void);

/* Library version string, static storage, never freed. */
SWING_API const char *swing_version(void);

/* Releases a buffer allocated by libswing. Accepts NULL. Call exactly once. */
SWING_API void swing_free(void *buffer);

/*
 * The operation envelope (proto/swing/v1/swing.proto, docs/abi.md).
 *
 * Ownership: request bytes are borrowed for the call only and never kept.
 * *response receives a library-allocated protobuf message (OpenResponse or
 * Response) that the caller releases once with swing_free; it is set on
 * every return, errors included, except when even the error response could
 * not be allocated (then NULL, 0 and SWING_ERR_NOMEM). The returned status
 * equals the response's status field. A host that passes NULL for response
 * or response_len gets only the status: the library frees the response
 * (and sets the other out-parameter, if any, to NULL or 0).
 *
 * Strings: a request whose string fields (at any depth) hold a NUL byte or
 * ill-formed UTF-8 is refused with SWING_ERR_INVALID before it is decoded;
 * every string field of a response is well-formed UTF-8 (text from vats
 * or the store that is not has each offending byte replaced by '?').
 *
 * One handle per data directory (an exclusive lock); calls on one handle
 * must not run concurrently. Different handles share nothing.
 */
typedef struct swing_handle swing_handle;

/* Opens (creating if needed) the data directory an OpenRequest names. On
 * success *handle is set; on failure it is NULL and nothing was changed. */
SWING_API swing_status swing_open(const uint8_t *request, size_t request_len,
                                  swing_handle **handle, uint8_t **response,
                                  size_t *response_len);

/* Performs one Request. A rejected request changes nothing. */
SWING_API swing_status swing_call(swing_handle *handle, const uint8_t *request,
                                  size_t request_len, uint8_t **response,
                                  size_t *response_len);

/* Closes the handle (uncommitted block work is discarded). Accepts NULL.
 * Call exactly once. */
SWING_API void swing_close(swing_handle *handle);

#ifdef __cplusplus
}
#endif
#endif /* LIBSWING_ABI_SWING_H */
