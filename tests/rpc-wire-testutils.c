/*
 * rpc-wire-testutils.c: building and checking libvirt wire frames by hand.
 */
#include <config.h>

#include <string.h>

#include "tests/rpc-wire-testutils.h"

/* The UUID of the captured test domain "zero256". */
const unsigned char zero256_uuid[16] = { 0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x40, 0x00,
                                         0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x56 };

void put_u32(GByteArray *b, guint32 v)
{
    guint8 w[4] = { v >> 24, v >> 16, v >> 8, v };
    g_byte_array_append(b, w, 4);
}

void put_i32(GByteArray *b, gint32 v)
{
    put_u32(b, (guint32)v);
}

void put_u64(GByteArray *b, guint64 v)
{
    put_u32(b, (guint32)(v >> 32));
    put_u32(b, (guint32)v);
}

/* Fixed-size opaque: the bytes and zero padding to 4. */
void put_fixed(GByteArray *b, const void *data, size_t len)
{
    static const guint8 zero[4] = { 0 };

    g_byte_array_append(b, data, len);
    if (len % 4)
        g_byte_array_append(b, zero, 4 - len % 4);
}

/* A string or variable opaque: length word, bytes, padding. */
void put_string(GByteArray *b, const char *s)
{
    put_u32(b, strlen(s));
    put_fixed(b, s, strlen(s));
}

GByteArray *frame_start(guint32 prog, gint32 proc, gint32 type, guint32 serial, gint32 status)
{
    GByteArray *b = g_byte_array_new();

    put_u32(b, 0); /* the length, set by frame_end */
    put_u32(b, prog);
    put_u32(b, 1);
    put_i32(b, proc);
    put_i32(b, type);
    put_u32(b, serial);
    put_i32(b, status);
    return b;
}

void frame_end(GByteArray *b)
{
    guint32 len = b->len;

    b->data[0] = len >> 24;
    b->data[1] = len >> 16;
    b->data[2] = len >> 8;
    b->data[3] = len;
}

static void dump(const char *what, const guint8 *data, size_t len)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (size_t i = 0; i < len; i++)
        g_string_append_printf(s, "%s%02x", i % 16 ? " " : (i ? "\n  " : "  "), data[i]);
    g_printerr("%s (%zu bytes):\n%s\n", what, len, s->str);
}

void assert_bytes(const guint8 *got, size_t got_len, const guint8 *want, size_t want_len)
{
    if (got_len == want_len && memcmp(got, want, want_len) == 0)
        return;
    for (size_t i = 0; i < MIN(got_len, want_len); i++) {
        if (got[i] != want[i]) {
            g_printerr("first difference at byte %zu\n", i);
            break;
        }
    }
    dump("expected", want, want_len);
    dump("got", got, got_len);
    g_assert_not_reached();
}

RpcHeader remote_header(int proc, RpcMessageType type, guint32 serial, RpcMessageStatus status)
{
    RpcHeader hdr = { REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, proc, type, serial, status };
    return hdr;
}

/* Encodes data with proc under hdr; returns the message. */
RpcMessage *encode_ok(RpcHeader hdr, xdrproc_t proc, const void *data)
{
    g_autoptr(GError) err = NULL;
    RpcMessage *msg = rpc_message_new();

    g_assert_true(rpc_message_encode(msg, &hdr, proc, data, &err));
    g_assert_no_error(err);
    return msg;
}

/* Decodes a frame that must be refused; returns the error. */
GError *frame_error(const guint8 *frame, size_t len)
{
    GError *err = NULL;
    g_autoptr(RpcMessage) msg = rpc_message_new_from_frame(frame, len, &err);

    g_assert_null(msg);
    g_assert_nonnull(err);
    return err;
}
