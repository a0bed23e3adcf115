/*
 * rpc-wire-testutils.h: building and checking libvirt wire frames by hand,
 * for the RPC message tests (test-rpc-message.c, test-rpc-bad.c).
 */
#pragma once

#include <glib.h>

#include "util/error.h"
#include "rpc/message.h"
#include "rpc/remote_procs.h"

#define RPC_ERROR ferry_error_quark(FERRY_FROM_RPC)

/* The UUID of the captured test domain "zero256". */
extern const unsigned char zero256_uuid[16];

/* XDR by hand: big-endian words, fixed opaque padded to 4, strings and
 * variable opaque with their length word. */
void put_u32(GByteArray *b, guint32 v);
void put_i32(GByteArray *b, gint32 v);
void put_u64(GByteArray *b, guint64 v);
void put_fixed(GByteArray *b, const void *data, size_t len);
void put_string(GByteArray *b, const char *s);

/* A frame: its header (the length word left 0), then frame_end sets the
 * length to what was appended. */
GByteArray *frame_start(guint32 prog, gint32 proc, gint32 type, guint32 serial, gint32 status);
void frame_end(GByteArray *b);

/* Fails the test, showing both in hex, unless got is want. */
void assert_bytes(const guint8 *got, size_t got_len, const guint8 *want, size_t want_len);

RpcHeader remote_header(int proc, RpcMessageType type, guint32 serial, RpcMessageStatus status);
/* Encodes data with proc under hdr; returns the message. */
RpcMessage *encode_ok(RpcHeader hdr, xdrproc_t proc, const void *data);
/* Decodes a frame that must be refused; returns the error. */
GError *frame_error(const guint8 *frame, size_t len);
