/*
 * message.h: RPC messages on libvirt's wire, without sockets.
 *
 * A frame is a 4-byte big-endian length that counts the whole frame (itself
 * included), a 24-byte header (prog, vers, proc, type, serial, status), for
 * the *_WITH_FDS types an int count of passed fds, then the payload: an XDR
 * body, an error record, or raw stream bytes.  Facts: ../shared/wire.md.
 *
 * Sending:
 *     g_autoptr(RpcMessage) msg = rpc_message_new();
 *     RpcHeader hdr = { REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION,
 *                       REMOTE_PROC_CONNECT_OPEN, RPC_CALL, serial, RPC_STATUS_OK };
 *     if (!rpc_message_encode(msg, &hdr, (xdrproc_t)xdr_remote_connect_open_args, &args, error))
 *         return FALSE;
 *     write(fd, msg->buffer, msg->length) ...
 *
 * Receiving (the caller owns the socket):
 *     read 4 bytes; len = rpc_message_decode_length(word, error)   (-1: drop the client)
 *     msg->buffer = that word + the next len - 4 bytes; msg->length = len;
 *     rpc_message_decode_header(msg, error)                        (refuses bad type/status)
 *     rpc_message_decode_payload(msg, proc->args, &args, error)    (bounded, never crashes)
 *
 * Every error here is FERRY_FROM_RPC: FERRY_ERR_RPC for malformed input,
 * FERRY_ERR_OVERFLOW for something over a protocol limit, and messages
 * start with "RPC: ".
 */
#pragma once

#include <stddef.h>

#include <glib.h>

#include "rpc/ferry_net_protocol.h"
#include "rpc/ferry_keepalive_protocol.h"
#include "rpc/ferry_remote_protocol.h"
#include "util/error.h"
#include "util/typedparams.h"

/* ---- limits (libvirt's VIR_NET_MESSAGE_*) ---- */

#define RPC_MESSAGE_LEN_SIZE FERRY_NET_MESSAGE_LEN_MAX /* 4: the length word */
#define RPC_MESSAGE_HEADER_SIZE FERRY_NET_MESSAGE_HEADER_MAX /* 24 */
/* The shortest frame: length word and header, no payload. */
#define RPC_MESSAGE_FRAME_MIN (RPC_MESSAGE_LEN_SIZE + RPC_MESSAGE_HEADER_SIZE)
/* Header plus payload: 32 MiB.  The length word counts itself on top, as
 * libvirt's virNetMessageDecodeLength does, so a frame is at most
 * RPC_MESSAGE_FRAME_MAX bytes. */
#define RPC_MESSAGE_MAX FERRY_NET_MESSAGE_MAX
#define RPC_MESSAGE_FRAME_MAX (RPC_MESSAGE_MAX + RPC_MESSAGE_LEN_SIZE)
#define RPC_MESSAGE_PAYLOAD_MAX FERRY_NET_MESSAGE_PAYLOAD_MAX /* 33554408 */
#define RPC_MESSAGE_INITIAL FERRY_NET_MESSAGE_INITIAL /* a receive buffer's first size */
#define RPC_MESSAGE_NUM_FDS_MAX FERRY_NET_MESSAGE_NUM_FDS_MAX /* 32 */
/* Senders cut stream data into chunks of at most this many bytes, what old
 * peers accept (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX); receivers take up to
 * RPC_MESSAGE_PAYLOAD_MAX. */
#define RPC_STREAM_CHUNK_MAX FERRY_NET_MESSAGE_LEGACY_PAYLOAD_MAX /* 262120 */

/* ---- header ---- */

typedef enum {
    RPC_CALL = FERRY_NET_CALL,
    RPC_REPLY = FERRY_NET_REPLY,
    RPC_MESSAGE = FERRY_NET_MESSAGE,
    RPC_STREAM = FERRY_NET_STREAM,
    RPC_CALL_WITH_FDS = FERRY_NET_CALL_WITH_FDS,
    RPC_REPLY_WITH_FDS = FERRY_NET_REPLY_WITH_FDS,
    RPC_STREAM_HOLE = FERRY_NET_STREAM_HOLE,
    RPC_TYPE_LAST
} RpcMessageType;

typedef enum {
    RPC_STATUS_OK = FERRY_NET_OK,
    RPC_STATUS_ERROR = FERRY_NET_ERROR,
    RPC_STATUS_CONTINUE = FERRY_NET_CONTINUE,
    RPC_STATUS_LAST
} RpcMessageStatus;

/* "CALL", "REPLY", "MESSAGE", "STREAM", "CALL_WITH_FDS", "REPLY_WITH_FDS",
 * "STREAM_HOLE"; NULL for a number that is not a type. */
const char *rpc_message_type_to_string(int type);
/* "OK", "ERROR", "CONTINUE"; NULL otherwise. */
const char *rpc_message_status_to_string(int status);
/* TRUE for CALL_WITH_FDS and REPLY_WITH_FDS. */
gboolean rpc_message_type_has_fds(RpcMessageType type);

typedef struct {
    guint32 prog;
    guint32 vers;
    gint32 proc;
    RpcMessageType type;
    guint32 serial;
    RpcMessageStatus status;
} RpcHeader;

/* ---- messages ---- */

typedef struct _RpcMessage RpcMessage;
struct _RpcMessage {
    RpcHeader header;
    guint8 *buffer; /* the frame: length word, header, [fd count], payload */
    size_t length; /* bytes of the frame in buffer (what the length word says) */
    size_t payload_offset; /* where the payload starts in buffer */
    /* Descriptors passed with a *_WITH_FDS message.  Owned: closed by
     * rpc_message_free unless taken with rpc_message_steal_fd.  When
     * decoding, nfds_expected is the count the frame announced; the socket
     * layer receives that many into fds. */
    int *fds;
    size_t nfds;
    size_t nfds_expected;
    /* buffer came from rpc_message_alloc_buffer's pool (and goes back) */
    gboolean pooled;
};

RpcMessage *rpc_message_new(void);
/* Frees the buffer and closes the fds it still owns. */
void rpc_message_free(RpcMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RpcMessage, rpc_message_free)

/* Drops buffer, header and fds (closing them): the message is as new. */
void rpc_message_clear(RpcMessage *msg);

/* Gives msg a buffer of len bytes (not zeroed), dropping the one it had.
 * A buffer for a frame of stream-chunk size (RPC_MESSAGE_FRAME_MIN +
 * RPC_STREAM_CHUNK_MAX bytes or less, and more than a quarter of that)
 * comes from a small process-wide pool and goes back to it when the
 * message is freed: a stream's many chunks then reuse a few warm buffers
 * instead of faulting fresh pages in for each.  msg->length is not set. */
void rpc_message_alloc_buffer(RpcMessage *msg, size_t len);

/* Takes ownership of fd (also when it fails: then fd is closed).  More than
 * RPC_MESSAGE_NUM_FDS_MAX fails with FERRY_ERR_OVERFLOW. */
gboolean rpc_message_add_fd(RpcMessage *msg, int fd, GError **error);
/* Fd number i, now the caller's (-1 when out of range or already taken). */
int rpc_message_steal_fd(RpcMessage *msg, size_t i);

/* Encodes header and body into msg->buffer, replacing what was there
 * (the fds stay).  proc/data give the payload (rpc_xdr_void or NULL proc
 * for none).  For the *_WITH_FDS types the count of msg->fds goes before
 * the payload; other types refuse fds.  Fails with FERRY_ERR_OVERFLOW when
 * a value is over its XDR limit (a string over REMOTE_STRING_MAX, 65 typed
 * parameters, ...) or the frame would pass RPC_MESSAGE_FRAME_MAX.  A NULL
 * where the protocol wants a string (remote_nonnull_string) is the
 * caller's bug: libtirpc refuses it, but under ASan its xdr_string
 * interceptor crashes first. */
gboolean rpc_message_encode(RpcMessage *msg, const RpcHeader *header, xdrproc_t proc,
                            const void *data, GError **error);

/* A REPLY (or STREAM) with status ERROR carrying err as the error record
 * (see rpc_error_from_gerror).  header->status is ignored. */
gboolean rpc_message_encode_error(RpcMessage *msg, const RpcHeader *header, const GError *err,
                                  GError **error);

/* A STREAM frame: the bytes as they are, no XDR length, up to
 * RPC_MESSAGE_PAYLOAD_MAX (senders keep to RPC_STREAM_CHUNK_MAX).  len 0
 * with status OK ends the stream. */
gboolean rpc_message_encode_stream(RpcMessage *msg, const RpcHeader *header, const void *data,
                                   size_t len, GError **error);

/* A STREAM frame filled in place, without copying the data: the payload
 * is read (from a socket, a pipe) straight into the frame's buffer.
 *
 *     guint8 *payload;
 *     g_autoptr(RpcMessage) msg = rpc_message_new_stream_frame(cap, &payload);
 *     n = read(fd, payload, cap);                    // 0 <= n <= cap
 *     rpc_message_seal_stream_frame(msg, &hdr, n, error);
 *
 * The buffer has room for the frame's head and cap bytes (at most
 * RPC_MESSAGE_PAYLOAD_MAX) and is not zeroed.  Sealing writes length word
 * and header for a payload of len <= cap bytes (header as for
 * rpc_message_encode_stream). */
RpcMessage *rpc_message_new_stream_frame(size_t cap, guint8 **payload);
gboolean rpc_message_seal_stream_frame(RpcMessage *msg, const RpcHeader *header, size_t len,
                                       GError **error);

/* The length word at word[0..3]: returns the frame's length (what to read
 * in all, the 4 bytes included), or -1 when it is below
 * RPC_MESSAGE_FRAME_MIN or above RPC_MESSAGE_FRAME_MAX. */
gssize rpc_message_decode_length(const guint8 *word, GError **error);

/* Decodes msg->buffer (msg->length bytes, a whole frame): checks the
 * length word against msg->length, reads the header (refusing an unknown
 * type or status) and, for *_WITH_FDS, the fd count (at most
 * RPC_MESSAGE_NUM_FDS_MAX) into msg->nfds_expected.  Sets
 * msg->payload_offset. */
gboolean rpc_message_decode_header(RpcMessage *msg, GError **error);

/* A message holding a copy of frame (len bytes), header decoded. */
RpcMessage *rpc_message_new_from_frame(const void *frame, size_t len, GError **error);

/* Decodes the payload into data, which must be zero-filled (pointers in it
 * NULL: XDR decodes into memory it finds there), with proc.  The body must
 * fill the payload exactly.  On failure data holds nothing to free and the
 * error names the procedure: "RPC: malformed arguments for procedure 303
 * (DOMAIN_MIGRATE_PREPARE3_PARAMS): XDR decoding failed at byte 8 of 40".
 * Free a decoded body with xdr_free(proc, data). */
gboolean rpc_message_decode_payload(const RpcMessage *msg, xdrproc_t proc, void *data,
                                    GError **error);

/* The raw payload of a STREAM frame (not copied). */
const guint8 *rpc_message_stream_data(const RpcMessage *msg, size_t *len);

/* Decodes an error payload into a new GError (rpc_error_to_gerror); NULL
 * with *error set when the payload is malformed. */
GError *rpc_message_decode_error(const RpcMessage *msg, GError **error);

/* ---- the error record ---- */

/* libvirt's virErrorLevel. */
#define RPC_ERROR_LEVEL_NONE 0
#define RPC_ERROR_LEVEL_WARNING 1
#define RPC_ERROR_LEVEL_ERROR 2

/* Mappings (tables in message.c).  Every FerryErrorCode has its own
 * virErrorNumber and comes back as itself.  A virErrorNumber ferry never
 * sends maps to the nearest FerryErrorCode (a few that libvirt sends, such
 * as 84 OPERATION_UNSUPPORTED), else to FERRY_ERR_OPERATION_FAILED: the
 * peer did report a failure, and FERRY_ERR_RPC would wrongly say that the
 * wire broke; the message is kept as sent.  Domains: each ferry subsystem
 * maps to a libvirt domain; FERRY_FROM_NONE (an error from GLib or GIO)
 * goes as VIR_FROM_NONE, which comes back as FERRY_FROM_UTIL (the only
 * domain that does not round-trip), and an unknown libvirt domain comes
 * back as FERRY_FROM_RPC. */
int rpc_error_code_to_vir(FerryErrorCode code);
FerryErrorCode rpc_error_code_from_vir(int vir_code);
int rpc_error_domain_to_vir(FerryErrorDomain domain);
FerryErrorDomain rpc_error_domain_from_vir(int vir_domain);

/* Fills rerr (zeroed first; free with rpc_error_clear) from err: code and
 * domain mapped (ferry_error_code_of / ferry_error_domain_of), the
 * message, level RPC_ERROR_LEVEL_ERROR, no objects, int1 = int2 = -1 as
 * libvirt sends.  err NULL gives an internal error "unknown error". */
void rpc_error_from_gerror(ferry_net_message_error *rerr, const GError *err);
void rpc_error_clear(ferry_net_message_error *rerr);
/* A GError in the mapped domain with the mapped code and the message as
 * sent ("unknown error" when the record has none). */
GError *rpc_error_to_gerror(const ferry_net_message_error *rerr);

/* ---- typed parameters ---- */

/* Fills *val / *len with a copy of params (free with
 * rpc_params_wire_free).  More than max entries fails with
 * FERRY_ERR_OVERFLOW; a parameter of an unknown type with FERRY_ERR_RPC. */
gboolean rpc_params_to_wire(const TypedParams *params, guint max, remote_typed_param **val,
                            u_int *len, GError **error);
/* A new list from a decoded array.  More than max entries
 * (FERRY_ERR_OVERFLOW), a name of 80 bytes or more, an empty name or one
 * with control characters, a string value that is not UTF-8 or an unknown
 * type (FERRY_ERR_RPC) are refused; repeated names are kept (migrate_disks). */
TypedParams *rpc_params_from_wire(const remote_typed_param *val, u_int len, guint max,
                                  GError **error);
void rpc_params_wire_free(remote_typed_param *val, u_int len);

/* ---- domains ---- */

/* Fills dom with a copy of name, the 16 bytes of uuid and id (-1 for an
 * inactive domain).  Free with rpc_nonnull_domain_clear. */
void rpc_nonnull_domain_set(remote_nonnull_domain *dom, const char *name, const unsigned char *uuid,
                            int id);
void rpc_nonnull_domain_clear(remote_nonnull_domain *dom);
/* Checks a received domain: a non-empty name and an id >= -1. */
gboolean rpc_nonnull_domain_check(const remote_nonnull_domain *dom, GError **error);
