/*
 * test-rpc-bad.c: the RPC message layer against bad input: frames of the
 * wrong length or shape, payloads that do not decode, typed parameter and
 * encoding limits.  Each is refused with a clear error, never a crash.
 */
#include <config.h>

#include <string.h>

#include <glib.h>

#include "util/typedparams.h"
#include "tests/rpc-wire-testutils.h"

/* ---- typed parameter limits ---- */

static void test_params_limits(void)
{
    g_autoptr(TypedParams) params = typed_params_new();
    g_autoptr(GError) err = NULL;
    remote_typed_param *val = NULL;
    u_int len = 0;

    for (int i = 0; i < 65; i++)
        g_assert_cmpint(typed_params_add_string_another(params, "migrate_disks", "vda", &err), ==,
                        0);
    g_assert_false(rpc_params_to_wire(params, 64, &val, &len, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_cmpstr(err->message, ==, "RPC: 65 typed parameters, at most 64 may be sent");
    g_clear_error(&err);
    g_assert_null(val);

    /* 65 on the wire: refused by the conversion ... */
    g_assert_true(rpc_params_to_wire(params, 65, &val, &len, &err));
    g_assert_null(rpc_params_from_wire(val, len, 64, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_cmpstr(err->message, ==, "RPC: 65 typed parameters, at most 64 are accepted");
    g_clear_error(&err);

    /* ... and by the encoder, whose XDR limit is 64. */
    remote_domain_migrate_prepare3_params_args args = { { len, val }, { 0, NULL }, 0 };
    RpcHeader hdr =
        remote_header(REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS, RPC_CALL, 1, RPC_STATUS_OK);
    g_autoptr(RpcMessage) msg = rpc_message_new();
    g_assert_false(rpc_message_encode(
        msg, &hdr, (xdrproc_t)xdr_remote_domain_migrate_prepare3_params_args, &args, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_cmpstr(err->message, ==,
                    "RPC: cannot encode the arguments of procedure 303 "
                    "(DOMAIN_MIGRATE_PREPARE3_PARAMS): a string, array or cookie is over its "
                    "protocol limit, or a required string is missing");
    g_clear_error(&err);

    /* Repeated names are kept; a name of 80 bytes is not. */
    g_autoptr(TypedParams) two = rpc_params_from_wire(val, 2, 64, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(typed_params_count(two), ==, 2);
    g_free(val[0].field);
    val[0].field = g_strnfill(80, 'f');
    g_assert_null(rpc_params_from_wire(val, 1, 64, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
    g_assert_cmpstr(err->message, ==,
                    "RPC: typed parameter name 'ffffffffffffffffffffffffffffffff...' is 80 bytes "
                    "long, at most 79");
    g_clear_error(&err);
    val[0].field[0] = '\0';
    g_assert_null(rpc_params_from_wire(val, 1, 64, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
    g_assert_true(g_str_has_prefix(err->message, "RPC: typed parameter 1 of 1: "));
    g_clear_error(&err);

    /* An unknown type. */
    g_free(val[1].value.remote_typed_param_value_u.s);
    val[1].value.type = 9;
    g_assert_null(rpc_params_from_wire(val + 1, 1, 64, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
    g_assert_cmpstr(err->message, ==, "RPC: typed parameter 'migrate_disks' has unknown type 9");
    g_clear_error(&err);
    val[1].value.type = REMOTE_TYPED_PARAM_INT;
    rpc_params_wire_free(val, len);

    /* The empty list */
    g_assert_true(rpc_params_to_wire(NULL, 64, &val, &len, &err));
    g_assert_null(val);
    g_assert_cmpuint(len, ==, 0);
}

/* ---- bad input ---- */

static void test_bad_length(void)
{
    g_autoptr(GError) err = NULL;
    static const guint8 short_len[] = { 0x00, 0x00, 0x00, 0x1b };
    static const guint8 max_len[] = { 0x02, 0x00, 0x00, 0x04 };
    static const guint8 over_len[] = { 0x02, 0x00, 0x00, 0x05 };
    static const guint8 huge_len[] = { 0xff, 0xff, 0xff, 0xff };

    g_assert_cmpint(rpc_message_decode_length(short_len, &err), ==, -1);
    g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
    g_assert_cmpstr(err->message, ==,
                    "RPC: frame length 27 is below the minimum of 28 bytes (length word and "
                    "header)");
    g_clear_error(&err);

    g_assert_cmpint(rpc_message_decode_length(max_len, &err), ==, 33554436);
    g_assert_no_error(err);

    g_assert_cmpint(rpc_message_decode_length(over_len, &err), ==, -1);
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_cmpstr(err->message, ==,
                    "RPC: frame length 33554437 is over the maximum of 33554436 bytes (32 MiB "
                    "and the length word)");
    g_clear_error(&err);
    g_assert_cmpint(rpc_message_decode_length(huge_len, &err), ==, -1);
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
}

static GByteArray *call_frame(int proc)
{
    return frame_start(REMOTE_PROGRAM, proc, 0, 5, 0);
}

static void test_bad_frames(void)
{
    g_autoptr(GError) err = NULL;

    /* truncated: the length word says more than arrived */
    {
        g_autoptr(GByteArray) b = call_frame(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME);
        put_string(b, "zero256");
        frame_end(b);
        err = frame_error(b->data, b->len - 3);
        g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
        g_assert_cmpstr(err->message, ==,
                        "RPC: truncated frame: the length word says 40 bytes, the frame has 37");
        g_clear_error(&err);
        err = frame_error(b->data, 2);
        g_assert_cmpstr(err->message, ==, "RPC: truncated frame: 2 bytes, no length word");
        g_clear_error(&err);
    }
    /* length below 28 */
    {
        static const guint8 f[] = { 0x00, 0x00, 0x00, 0x08, 0x20, 0x00, 0x80, 0x86 };
        err = frame_error(f, sizeof(f));
        g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
        g_assert_true(g_str_has_prefix(err->message, "RPC: frame length 8 is below the minimum"));
        g_clear_error(&err);
    }
    /* length over the maximum */
    {
        g_autoptr(GByteArray) b = call_frame(1);
        frame_end(b);
        b->data[0] = 0x7f;
        err = frame_error(b->data, b->len);
        g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
        g_assert_true(g_str_has_prefix(err->message, "RPC: frame length 2130706460 is over"));
        g_clear_error(&err);
    }
    /* unknown type */
    {
        g_autoptr(GByteArray) b = frame_start(REMOTE_PROGRAM, 23, 7, 5, 0);
        frame_end(b);
        err = frame_error(b->data, b->len);
        g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
        g_assert_cmpstr(err->message, ==,
                        "RPC: unknown message type 7 (procedure 23, serial 5); known are 0 to 6");
        g_clear_error(&err);
        memset(b->data + 16, 0xff, 4); /* -1 */
        err = frame_error(b->data, b->len);
        g_assert_cmpstr(err->message, ==,
                        "RPC: unknown message type -1 (procedure 23, serial 5); known are 0 to 6");
        g_clear_error(&err);
    }
    /* unknown status */
    {
        g_autoptr(GByteArray) b = frame_start(REMOTE_PROGRAM, 23, 1, 5, 3);
        frame_end(b);
        err = frame_error(b->data, b->len);
        g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
        g_assert_cmpstr(err->message, ==,
                        "RPC: unknown message status 3 (procedure 23, serial 5); known are 0 to 2");
        g_clear_error(&err);
    }
    /* fd count over 32, negative, or missing */
    {
        g_autoptr(GByteArray) b = frame_start(REMOTE_PROGRAM, 212, RPC_CALL_WITH_FDS, 5, 0);
        put_u32(b, 33);
        frame_end(b);
        err = frame_error(b->data, b->len);
        g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
        g_assert_cmpstr(err->message, ==,
                        "RPC: message announces 33 file descriptors, at most 32 may be passed");
        g_clear_error(&err);
        b->data[28] = 0x80;
        err = frame_error(b->data, b->len);
        g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
        g_clear_error(&err);
        g_autoptr(GByteArray) c = frame_start(REMOTE_PROGRAM, 212, RPC_REPLY_WITH_FDS, 5, 0);
        frame_end(c);
        err = frame_error(c->data, c->len);
        g_assert_cmpstr(err->message, ==, "RPC: truncated REPLY_WITH_FDS message: no fd count");
        g_clear_error(&err);
    }
}

/* Decodes the payload of a well-framed message that must be refused. */
static GError *payload_error(GByteArray *b, xdrproc_t proc, size_t size)
{
    GError *err = NULL;
    g_autofree void *data = g_malloc0(size);
    g_autoptr(RpcMessage) msg = NULL;

    frame_end(b);
    msg = rpc_message_new_from_frame(b->data, b->len, &err);
    g_assert_no_error(err);
    g_assert_false(rpc_message_decode_payload(msg, proc, data, &err));
    g_assert_nonnull(err);
    return err;
}

static void test_bad_payloads(void)
{
    g_autoptr(GError) err = NULL;

    /* garbage: a CONNECT_OPEN whose name pointer says 7 */
    {
        g_autoptr(GByteArray) b = call_frame(REMOTE_PROC_CONNECT_OPEN);
        put_u32(b, 0xdeadbeef);
        put_u32(b, 0xdeadbeef);
        err = payload_error(b, (xdrproc_t)xdr_remote_connect_open_args,
                            sizeof(remote_connect_open_args));
        g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
        g_assert_cmpstr(err->message, ==,
                        "RPC: malformed arguments for procedure 1 (CONNECT_OPEN): XDR decoding "
                        "failed at byte 8 of 8 (truncated, a length over its limit, or a bad "
                        "discriminant)");
        g_clear_error(&err);
    }
    /* a body shorter than its type */
    {
        g_autoptr(GByteArray) b = call_frame(REMOTE_PROC_DOMAIN_GET_STATE);
        put_string(b, "zero256");
        put_fixed(b, zero256_uuid, 10);
        err = payload_error(b, (xdrproc_t)xdr_remote_domain_get_state_args,
                            sizeof(remote_domain_get_state_args));
        g_assert_true(g_str_has_prefix(err->message, "RPC: malformed arguments for procedure 212 "
                                                     "(DOMAIN_GET_STATE): XDR decoding failed"));
        g_clear_error(&err);
    }
    /* trailing bytes after a complete body */
    {
        g_autoptr(GByteArray) b = call_frame(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE);
        put_i32(b, 10);
        put_i32(b, 0);
        err = payload_error(b, (xdrproc_t)xdr_remote_connect_supports_feature_args,
                            sizeof(remote_connect_supports_feature_args));
        g_assert_cmpstr(err->message, ==,
                        "RPC: malformed arguments for procedure 60 (CONNECT_SUPPORTS_FEATURE): 4 "
                        "unexpected bytes after the 4 that make the body");
        g_clear_error(&err);
    }
    /* a string longer than REMOTE_STRING_MAX */
    {
        g_autoptr(GByteArray) b = call_frame(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME);
        put_u32(b, REMOTE_STRING_MAX + 1);
        put_fixed(b, "abcd", 4);
        err = payload_error(b, (xdrproc_t)xdr_remote_domain_lookup_by_name_args,
                            sizeof(remote_domain_lookup_by_name_args));
        g_assert_cmpstr(err->message, ==,
                        "RPC: malformed arguments for procedure 23 (DOMAIN_LOOKUP_BY_NAME): XDR "
                        "decoding failed at byte 4 of 8 (truncated, a length over its limit, or "
                        "a bad discriminant)");
        g_clear_error(&err);
    }
    /* 65 typed parameters in PREPARE3_PARAMS */
    {
        g_autoptr(GByteArray) b = call_frame(REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS);
        put_u32(b, 65);
        for (int i = 0; i < 65; i++) {
            put_string(b, "bandwidth");
            put_i32(b, 4);
            put_u64(b, 100);
        }
        put_u32(b, 0);
        put_u32(b, 0);
        err = payload_error(b, (xdrproc_t)xdr_remote_domain_migrate_prepare3_params_args,
                            sizeof(remote_domain_migrate_prepare3_params_args));
        g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
        g_assert_true(g_str_has_prefix(err->message,
                                       "RPC: malformed arguments for procedure 303 "
                                       "(DOMAIN_MIGRATE_PREPARE3_PARAMS): XDR decoding failed "
                                       "at byte 4 of "));
        g_clear_error(&err);
    }
    /* a typed parameter of an unknown type: a bad discriminant, after the
     * first, well-formed entry (whose memory is freed) */
    {
        g_autoptr(GByteArray) b = call_frame(REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS);
        put_string(b, "zero256");
        put_fixed(b, zero256_uuid, 16);
        put_i32(b, -1);
        put_u32(b, 2);
        put_string(b, "destination_name");
        put_i32(b, 7);
        put_string(b, "web1");
        put_string(b, "bandwidth");
        put_i32(b, 9);
        put_u64(b, 100);
        put_u32(b, 0);
        err = payload_error(b, (xdrproc_t)xdr_remote_domain_migrate_begin3_params_args,
                            sizeof(remote_domain_migrate_begin3_params_args));
        g_assert_true(g_str_has_prefix(err->message, "RPC: malformed arguments for procedure 302 "
                                                     "(DOMAIN_MIGRATE_BEGIN3_PARAMS)"));
        g_clear_error(&err);
    }
    /* a cookie over REMOTE_MIGRATE_COOKIE_MAX in a reply */
    {
        g_autoptr(GByteArray) b = frame_start(REMOTE_PROGRAM, 305, 1, 5, 0);
        put_u32(b, REMOTE_MIGRATE_COOKIE_MAX + 1);
        err = payload_error(b, (xdrproc_t)xdr_remote_domain_migrate_perform3_params_ret,
                            sizeof(remote_domain_migrate_perform3_params_ret));
        g_assert_true(g_str_has_prefix(err->message, "RPC: malformed reply for procedure 305 "
                                                     "(DOMAIN_MIGRATE_PERFORM3_PARAMS)"));
        g_clear_error(&err);
    }
    /* an unknown procedure is named by number and program */
    {
        g_autoptr(GByteArray) b = frame_start(0x12345678, 99, 0, 5, 0);
        put_u32(b, 1);
        err = payload_error(b, NULL, 1);
        g_assert_cmpstr(err->message, ==,
                        "RPC: malformed arguments for procedure 99 of program 0x12345678: 4 "
                        "unexpected bytes after the 0 that make the body");
        g_clear_error(&err);
    }
    /* a malformed error record */
    {
        g_autoptr(GByteArray) b = frame_start(REMOTE_PROGRAM, 23, 1, 5, 1);
        put_i32(b, 42);
        frame_end(b);
        g_autoptr(RpcMessage) msg = rpc_message_new_from_frame(b->data, b->len, &err);
        g_assert_no_error(err);
        g_assert_null(rpc_message_decode_error(msg, &err));
        g_assert_true(g_str_has_prefix(err->message, "RPC: malformed error for procedure 23 "
                                                     "(DOMAIN_LOOKUP_BY_NAME)"));
        g_clear_error(&err);
    }
}

static void test_encode_limits(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(RpcMessage) msg = rpc_message_new();
    RpcHeader hdr = remote_header(REMOTE_PROC_DOMAIN_DEFINE_XML, RPC_CALL, 1, RPC_STATUS_OK);

    /* A string over 4 MiB. */
    g_autofree char *xml = g_strnfill(REMOTE_STRING_MAX + 1, 'x');
    remote_domain_define_xml_args args = { xml };
    g_assert_false(
        rpc_message_encode(msg, &hdr, (xdrproc_t)xdr_remote_domain_define_xml_args, &args, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_cmpstr(err->message, ==,
                    "RPC: cannot encode the arguments of procedure 11 (DOMAIN_DEFINE_XML): a "
                    "string, array or cookie is over its protocol limit, or a required string "
                    "is missing");
    g_clear_error(&err);

    /* Exactly 4 MiB is fine. */
    xml[REMOTE_STRING_MAX] = '\0';
    g_assert_true(
        rpc_message_encode(msg, &hdr, (xdrproc_t)xdr_remote_domain_define_xml_args, &args, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(msg->length, ==, 28 + 4 + REMOTE_STRING_MAX);

    /* (A NULL where a string must be is refused by libtirpc, but ASan's
     * xdr_string interceptor reads it first: not tested here.) */

    /* A header with an unknown type is a bug of ours. */
    hdr.type = 9;
    g_assert_false(rpc_message_encode(msg, &hdr, NULL, NULL, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_INTERNAL);
    g_assert_cmpstr(err->message, ==, "RPC: cannot send a message of unknown type 9");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/rpc/params/limits", test_params_limits);
    g_test_add_func("/rpc/bad/length", test_bad_length);
    g_test_add_func("/rpc/bad/frames", test_bad_frames);
    g_test_add_func("/rpc/bad/payloads", test_bad_payloads);
    g_test_add_func("/rpc/bad/encode-limits", test_encode_limits);

    return g_test_run();
}
