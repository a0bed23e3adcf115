/*
 * test-rpc-message.c: the RPC message layer against libvirt's wire.
 *
 * Expected bytes are built by hand from ../shared/wire.md, and frame sizes
 * are compared with what Debian's libvirt 9.0 sent
 * (../shared/wire-captures/rpc-sequence-*.txt, quoted where used).
 */
#include <config.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "util/typedparams.h"
#include "tests/rpc-wire-testutils.h"

/* ---- limits and names ---- */

static void test_limits(void)
{
    g_assert_cmpint(RPC_MESSAGE_FRAME_MIN, ==, 28);
    g_assert_cmpint(RPC_MESSAGE_MAX, ==, 33554432);
    g_assert_cmpint(RPC_MESSAGE_FRAME_MAX, ==, 33554436);
    g_assert_cmpint(RPC_MESSAGE_PAYLOAD_MAX, ==, 33554408);
    g_assert_cmpint(RPC_MESSAGE_INITIAL, ==, 65536);
    g_assert_cmpint(RPC_STREAM_CHUNK_MAX, ==, 262120);
    g_assert_cmpint(RPC_MESSAGE_NUM_FDS_MAX, ==, 32);
    g_assert_cmpint(FERRY_NET_MESSAGE_STRING_MAX, ==, 4194304);
    g_assert_cmpint(REMOTE_STRING_MAX, ==, 4194304);
    g_assert_cmpint(REMOTE_DOMAIN_LIST_MAX, ==, 16384);
    g_assert_cmpint(REMOTE_MIGRATE_COOKIE_MAX, ==, 4194304);
    g_assert_cmpint(REMOTE_DOMAIN_MIGRATE_PARAM_LIST_MAX, ==, 64);
    g_assert_cmpint(REMOTE_DOMAIN_JOB_STATS_MAX, ==, 64);
    g_assert_cmpint(REMOTE_AUTH_TYPE_LIST_MAX, ==, 20);
    g_assert_cmpint(REMOTE_DOMAIN_MESSAGES_MAX, ==, 2048);
    g_assert_cmpuint(REMOTE_PROGRAM, ==, 0x20008086);
    g_assert_cmpuint(FERRY_KEEPALIVE_PROGRAM, ==, 0x6b656570);
    g_assert_cmpint(FERRY_KEEPALIVE_PROC_PING, ==, 1);
    g_assert_cmpint(FERRY_KEEPALIVE_PROC_PONG, ==, 2);
    /* The typed parameter numbers are the same on both sides. */
    g_assert_cmpint(REMOTE_TYPED_PARAM_INT, ==, TYPED_PARAM_INT);
    g_assert_cmpint(REMOTE_TYPED_PARAM_STRING, ==, TYPED_PARAM_STRING);
}

static void test_names(void)
{
    static const char *const types[] = { "CALL",          "REPLY",          "MESSAGE",    "STREAM",
                                         "CALL_WITH_FDS", "REPLY_WITH_FDS", "STREAM_HOLE" };
    static const char *const statuses[] = { "OK", "ERROR", "CONTINUE" };

    G_STATIC_ASSERT(G_N_ELEMENTS(types) == RPC_TYPE_LAST);
    G_STATIC_ASSERT(G_N_ELEMENTS(statuses) == RPC_STATUS_LAST);
    for (int i = 0; i < RPC_TYPE_LAST; i++)
        g_assert_cmpstr(rpc_message_type_to_string(i), ==, types[i]);
    for (int i = 0; i < RPC_STATUS_LAST; i++)
        g_assert_cmpstr(rpc_message_status_to_string(i), ==, statuses[i]);
    g_assert_null(rpc_message_type_to_string(7));
    g_assert_null(rpc_message_type_to_string(-1));
    g_assert_null(rpc_message_status_to_string(3));
    g_assert_true(rpc_message_type_has_fds(RPC_CALL_WITH_FDS));
    g_assert_true(rpc_message_type_has_fds(RPC_REPLY_WITH_FDS));
    g_assert_false(rpc_message_type_has_fds(RPC_CALL));
}

/* ---- byte-exact frames ---- */

static void test_connect_open(void)
{
    /* CALL CONNECT_OPEN serial 2 {name "qemu:///system", flags 0} */
    static const guint8 want[] = {
        0x00, 0x00, 0x00, 0x38, /* length 56, itself included */
        0x20, 0x00, 0x80, 0x86, /* prog REMOTE */
        0x00, 0x00, 0x00, 0x01, /* vers 1 */
        0x00, 0x00, 0x00, 0x01, /* proc 1 CONNECT_OPEN */
        0x00, 0x00, 0x00, 0x00, /* type CALL */
        0x00, 0x00, 0x00, 0x02, /* serial 2 */
        0x00, 0x00, 0x00, 0x00, /* status OK */
        0x00, 0x00, 0x00, 0x01, /* name present */
        0x00, 0x00, 0x00, 0x0e, /* 14 bytes */
        'q',  'e',  'm',  'u',  ':', '/', '/',  '/',
        's',  'y',  's',  't',  'e', 'm', 0x00, 0x00, /* and 2 of padding */
        0x00, 0x00, 0x00, 0x00, /* flags 0 */
    };
    char *name = (char *)"qemu:///system";
    remote_connect_open_args args = { &name, 0 };
    remote_connect_open_args back = { 0 };
    g_autoptr(GError) err = NULL;

    g_autoptr(RpcMessage) msg =
        encode_ok(remote_header(REMOTE_PROC_CONNECT_OPEN, RPC_CALL, 2, RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_connect_open_args, &args);
    assert_bytes(msg->buffer, msg->length, want, sizeof(want));
    /* rpc-sequence-direct.txt: "TX SRC CONNECT_OPEN CALL len=56 serial=2" */
    g_assert_cmpuint(msg->length, ==, 56);

    g_autoptr(RpcMessage) in = rpc_message_new_from_frame(want, sizeof(want), &err);
    g_assert_no_error(err);
    g_assert_cmphex(in->header.prog, ==, REMOTE_PROGRAM);
    g_assert_cmpint(in->header.proc, ==, REMOTE_PROC_CONNECT_OPEN);
    g_assert_cmpint(in->header.type, ==, RPC_CALL);
    g_assert_cmpuint(in->header.serial, ==, 2);
    g_assert_true(
        rpc_message_decode_payload(in, (xdrproc_t)xdr_remote_connect_open_args, &back, &err));
    g_assert_no_error(err);
    g_assert_nonnull(back.name);
    g_assert_cmpstr(*back.name, ==, "qemu:///system");
    g_assert_cmpuint(back.flags, ==, 0);
    xdr_free((xdrproc_t)xdr_remote_connect_open_args, &back);
}

static void test_keepalive_ping(void)
{
    static const guint8 want[] = {
        0x00, 0x00, 0x00, 0x1c, /* 28 */
        0x6b, 0x65, 0x65, 0x70, /* "keep" */
        0x00, 0x00, 0x00, 0x01, /* vers 1 */
        0x00, 0x00, 0x00, 0x01, /* PING */
        0x00, 0x00, 0x00, 0x02, /* MESSAGE */
        0x00, 0x00, 0x00, 0x00, /* serial 0 */
        0x00, 0x00, 0x00, 0x00, /* OK */
    };
    RpcHeader hdr = { FERRY_KEEPALIVE_PROGRAM,
                      FERRY_KEEPALIVE_PROTOCOL_VERSION,
                      FERRY_KEEPALIVE_PROC_PING,
                      RPC_MESSAGE,
                      0,
                      RPC_STATUS_OK };
    g_autoptr(GError) err = NULL;

    g_autoptr(RpcMessage) msg = encode_ok(hdr, NULL, NULL);
    assert_bytes(msg->buffer, msg->length, want, sizeof(want));

    g_autoptr(RpcMessage) in = rpc_message_new_from_frame(want, sizeof(want), &err);
    g_assert_no_error(err);
    g_assert_cmpstr(rpc_proc_name(in->header.prog, in->header.proc), ==, "PING");
    g_assert_true(rpc_message_decode_payload(in, NULL, NULL, &err));
    g_assert_no_error(err);
}

static void test_error_reply(void)
{
    const char *text = "Domain not found: no domain with matching name 'web1'";
    g_autoptr(GError) sent =
        g_error_new_literal(ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_NO_DOMAIN, text);
    RpcHeader hdr = remote_header(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, RPC_REPLY, 6, RPC_STATUS_OK);
    g_autoptr(RpcMessage) msg = rpc_message_new();
    g_autoptr(GError) err = NULL;

    g_assert_true(rpc_message_encode_error(msg, &hdr, sent, &err));
    g_assert_no_error(err);

    g_autoptr(GByteArray) want = frame_start(REMOTE_PROGRAM, 23, 1 /* REPLY */, 6, 1 /* ERROR */);
    put_i32(want, 42); /* VIR_ERR_NO_DOMAIN */
    put_i32(want, 10); /* VIR_FROM_QEMU */
    put_u32(want, 1); /* message present */
    put_string(want, text);
    put_i32(want, 2); /* level: error */
    put_u32(want, 0); /* dom: none */
    put_u32(want, 0); /* str1 */
    put_u32(want, 0); /* str2 */
    put_u32(want, 0); /* str3 */
    put_i32(want, -1); /* int1 */
    put_i32(want, -1); /* int2 */
    put_u32(want, 0); /* net: none */
    frame_end(want);
    assert_bytes(msg->buffer, msg->length, want->data, want->len);

    /* And back: domain, code and message kept. */
    g_autoptr(RpcMessage) in = rpc_message_new_from_frame(want->data, want->len, &err);
    g_assert_no_error(err);
    g_assert_cmpint(in->header.status, ==, RPC_STATUS_ERROR);
    g_autoptr(GError) back = rpc_message_decode_error(in, &err);
    g_assert_no_error(err);
    g_assert_error(back, ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(back->message, ==, text);
}

static void test_nonnull_domain(void)
{
    remote_domain_lookup_by_name_ret ret = { 0 };
    remote_domain_lookup_by_name_ret back = { 0 };
    g_autoptr(GError) err = NULL;

    rpc_nonnull_domain_set(&ret.dom, "zero256", zero256_uuid, 3);
    g_autoptr(RpcMessage) msg =
        encode_ok(remote_header(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, RPC_REPLY, 6, RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &ret);
    static const guint8 want_payload[] = {
        0x00, 0x00, 0x00, 0x07, 'z',  'e',  'r',  'o',  '2',  '5',  '6',  0x00, /* name */
        0x11, 0x11, 0x11, 0x11, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x56, /* uuid: 16 bytes, no length word */
        0x00, 0x00, 0x00, 0x03, /* id */
    };
    assert_bytes(msg->buffer + 28, msg->length - 28, want_payload, sizeof(want_payload));
    /* rpc-sequence-direct.txt: "RX SRC DOMAIN_LOOKUP_BY_NAME REPLY len=60" */
    g_assert_cmpuint(msg->length, ==, 60);

    g_assert_true(rpc_message_decode_payload(msg, (xdrproc_t)xdr_remote_domain_lookup_by_name_ret,
                                             &back, &err));
    g_assert_no_error(err);
    g_assert_true(rpc_nonnull_domain_check(&back.dom, &err));
    g_assert_cmpstr(back.dom.name, ==, "zero256");
    g_assert_cmpmem(back.dom.uuid, 16, zero256_uuid, 16);
    g_assert_cmpint(back.dom.id, ==, 3);
    xdr_free((xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &back);

    /* An inactive domain has id -1. */
    ret.dom.id = -1;
    g_autoptr(RpcMessage) inactive =
        encode_ok(remote_header(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, RPC_REPLY, 7, RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_domain_lookup_by_name_ret, &ret);
    static const guint8 minus_one[] = { 0xff, 0xff, 0xff, 0xff };
    assert_bytes(inactive->buffer + inactive->length - 4, 4, minus_one, 4);
    rpc_nonnull_domain_clear(&ret.dom);

    /* The checks on a received domain. */
    remote_nonnull_domain bad = { (char *)"", { 0 }, 1 };
    g_assert_false(rpc_nonnull_domain_check(&bad, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_RPC);
    g_assert_cmpstr(err->message, ==, "RPC: a domain with an empty name");
    g_clear_error(&err);
    bad.name = (char *)"x";
    bad.id = -2;
    g_assert_false(rpc_nonnull_domain_check(&bad, &err));
    g_assert_cmpstr(err->message, ==, "RPC: domain 'x' has id -2 (expected -1 or more)");
}

static void test_typed_params(void)
{
    g_autoptr(TypedParams) params = typed_params_new();
    g_autoptr(GError) err = NULL;
    remote_domain_get_job_stats_ret ret = { 0 };
    remote_domain_get_job_stats_ret back = { 0 };

    g_assert_cmpint(typed_params_add_int(params, "operation", -5, &err), ==, 0);
    g_assert_cmpint(typed_params_add_uint(params, "u", 7, &err), ==, 0);
    g_assert_cmpint(typed_params_add_llong(params, "l", -3000000000LL, &err), ==, 0);
    g_assert_cmpint(typed_params_add_ullong(params, "data_total", (1ULL << 40) + 1, &err), ==, 0);
    g_assert_cmpint(typed_params_add_double(params, "d", 1.5, &err), ==, 0);
    g_assert_cmpint(typed_params_add_boolean(params, "success", TRUE, &err), ==, 0);
    g_assert_cmpint(typed_params_add_string(params, "migrate_disks", "vda", &err), ==, 0);
    g_assert_no_error(err);

    ret.type = 3; /* COMPLETED */
    g_assert_true(rpc_params_to_wire(params, REMOTE_DOMAIN_JOB_STATS_MAX, &ret.params.params_val,
                                     &ret.params.params_len, &err));
    g_assert_no_error(err);
    g_autoptr(RpcMessage) msg =
        encode_ok(remote_header(REMOTE_PROC_DOMAIN_GET_JOB_STATS, RPC_REPLY, 3, RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_domain_get_job_stats_ret, &ret);
    xdr_free((xdrproc_t)xdr_remote_domain_get_job_stats_ret, &ret);

    g_autoptr(GByteArray) want = frame_start(REMOTE_PROGRAM, 298, 1, 3, 0);
    put_i32(want, 3);
    put_u32(want, 7); /* count, then {field, type, value} */
    put_string(want, "operation");
    put_i32(want, 1);
    put_i32(want, -5);
    put_string(want, "u");
    put_i32(want, 2);
    put_u32(want, 7);
    put_string(want, "l");
    put_i32(want, 3);
    put_u64(want, (guint64)-3000000000LL);
    put_string(want, "data_total");
    put_i32(want, 4);
    put_u64(want, (1ULL << 40) + 1);
    put_string(want, "d");
    put_i32(want, 5);
    put_u64(want, 0x3ff8000000000000ULL); /* 1.5 in IEEE 754 */
    put_string(want, "success");
    put_i32(want, 6);
    put_i32(want, 1);
    put_string(want, "migrate_disks");
    put_i32(want, 7);
    put_string(want, "vda");
    frame_end(want);
    assert_bytes(msg->buffer, msg->length, want->data, want->len);

    g_assert_true(rpc_message_decode_payload(msg, (xdrproc_t)xdr_remote_domain_get_job_stats_ret,
                                             &back, &err));
    g_assert_no_error(err);
    g_autoptr(TypedParams) got =
        rpc_params_from_wire(back.params.params_val, back.params.params_len, 64, &err);
    xdr_free((xdrproc_t)xdr_remote_domain_get_job_stats_ret, &back);
    g_assert_no_error(err);
    g_assert_cmpuint(typed_params_count(got), ==, 7);
    for (size_t i = 0; i < 7; i++) {
        const TypedParam *a = typed_params_nth(params, i);
        const TypedParam *b = typed_params_nth(got, i);
        g_autofree char *va = typed_param_format_value(a);
        g_autofree char *vb = typed_param_format_value(b);

        g_assert_cmpstr(a->field, ==, b->field);
        g_assert_cmpint(a->type, ==, b->type);
        g_assert_cmpstr(va, ==, vb);
    }
}

static void test_get_info(void)
{
    remote_domain_get_info_ret ret = { 1, 262144, 131072, 2, 123456789012ULL };
    g_autoptr(RpcMessage) msg =
        encode_ok(remote_header(REMOTE_PROC_DOMAIN_GET_INFO, RPC_REPLY, 9, RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_domain_get_info_ret, &ret);
    static const guint8 want_payload[] = {
        0x00, 0x00, 0x00, 0x01, /* unsigned char state: 4 bytes */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, /* maxMem */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, /* memory */
        0x00, 0x00, 0x00, 0x02, /* unsigned short nrVirtCpu: 4 bytes */
        0x00, 0x00, 0x00, 0x1c, 0xbe, 0x99, 0x1a, 0x14, /* cpuTime */
    };
    assert_bytes(msg->buffer + 28, msg->length - 28, want_payload, sizeof(want_payload));
}

/* migrate-compcache's calls (libvirt's remote_protocol.x): set is the
 * domain, cacheSize as an unsigned hyper, then flags; get's reply is the
 * hyper alone. */
static void test_compression_cache(void)
{
    remote_domain_migrate_set_compression_cache_args args = { .cacheSize = 0x100000000ULL,
                                                              .flags = 5 };
    remote_domain_migrate_get_compression_cache_ret ret = { .cacheSize = 64ULL << 20 };

    rpc_nonnull_domain_set(&args.dom, "zero256", zero256_uuid, 3);
    g_autoptr(RpcMessage) set = encode_ok(
        remote_header(REMOTE_PROC_DOMAIN_MIGRATE_SET_COMPRESSION_CACHE, RPC_CALL, 8, RPC_STATUS_OK),
        (xdrproc_t)xdr_remote_domain_migrate_set_compression_cache_args, &args);
    static const guint8 want_tail[] = {
        0x00, 0x00, 0x00, 0x03, /* dom.id */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* cacheSize */
        0x00, 0x00, 0x00, 0x05, /* flags */
    };
    /* 28 header bytes, 32 of domain, 8 + 4 */
    g_assert_cmpuint(set->length, ==, 28 + 32 + 12);
    assert_bytes(set->buffer + set->length - sizeof(want_tail), sizeof(want_tail), want_tail,
                 sizeof(want_tail));
    rpc_nonnull_domain_clear(&args.dom);

    g_autoptr(RpcMessage) get =
        encode_ok(remote_header(REMOTE_PROC_DOMAIN_MIGRATE_GET_COMPRESSION_CACHE, RPC_REPLY, 9,
                                RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_domain_migrate_get_compression_cache_ret, &ret);
    static const guint8 want_ret[] = { 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00 };
    assert_bytes(get->buffer + 28, get->length - 28, want_ret, sizeof(want_ret));
}

static void test_security_model(void)
{
    /* char arrays: every element is a 4-byte int. */
    char model[] = { 'n', 'o', 'n', 'e' };
    remote_node_get_security_model_ret ret = { { 4, model }, { 0, NULL } };
    g_autoptr(RpcMessage) msg =
        encode_ok(remote_header(REMOTE_PROC_NODE_GET_SECURITY_MODEL, RPC_REPLY, 4, RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_node_get_security_model_ret, &ret);
    static const guint8 want_payload[] = {
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 'n', 0x00, 0x00, 0x00, 'o',
        0x00, 0x00, 0x00, 'n',  0x00, 0x00, 0x00, 'e', 0x00, 0x00, 0x00, 0x00, /* doi: empty */
    };
    assert_bytes(msg->buffer + 28, msg->length - 28, want_payload, sizeof(want_payload));
}

static void test_node_info(void)
{
    remote_node_get_info_ret ret = { .model = "x86_64",
                                     .memory = 0x100000002ULL,
                                     .cpus = 8,
                                     .mhz = 2400,
                                     .nodes = 1,
                                     .sockets = 2,
                                     .cores = 2,
                                     .threads = 2 };
    g_autoptr(RpcMessage) msg =
        encode_ok(remote_header(REMOTE_PROC_NODE_GET_INFO, RPC_REPLY, 5, RPC_STATUS_OK),
                  (xdrproc_t)xdr_remote_node_get_info_ret, &ret);
    static const guint8 want_tail[] = {
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* memory */
        0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x09, 0x60, /* cpus, mhz */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* nodes, sockets */
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, /* cores, threads */
    };
    guint8 want[32 * 4 + sizeof(want_tail)] = { 0 };

    /* char model[32]: fixed size, no length word, every char a 4-byte int. */
    for (size_t i = 0; i < strlen("x86_64"); i++)
        want[i * 4 + 3] = (guint8) "x86_64"[i];
    memcpy(want + 32 * 4, want_tail, sizeof(want_tail));
    assert_bytes(msg->buffer + 28, msg->length - 28, want, sizeof(want));
}

static void test_stream(void)
{
    static const guint8 want[] = {
        0x00, 0x00, 0x00, 0x21, /* 33: no padding, no length word for the data */
        0x20, 0x00, 0x80, 0x86, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x01, 0x30, /* proc 304 PREPARE_TUNNEL3_PARAMS */
        0x00, 0x00, 0x00, 0x03, /* STREAM */
        0x00, 0x00, 0x00, 0x09, /* serial of the opening call */
        0x00, 0x00, 0x00, 0x02, /* CONTINUE */
        'a',  'b',  'c',  'd',  'e',
    };
    RpcHeader hdr = remote_header(REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS, RPC_STREAM, 9,
                                  RPC_STATUS_CONTINUE);
    g_autoptr(RpcMessage) msg = rpc_message_new();
    g_autoptr(GError) err = NULL;
    size_t len;

    g_assert_true(rpc_message_encode_stream(msg, &hdr, "abcde", 5, &err));
    g_assert_no_error(err);
    assert_bytes(msg->buffer, msg->length, want, sizeof(want));

    g_autoptr(RpcMessage) in = rpc_message_new_from_frame(want, sizeof(want), &err);
    g_assert_no_error(err);
    const guint8 *data = rpc_message_stream_data(in, &len);
    g_assert_cmpmem(data, len, "abcde", 5);

    /* End of stream: status OK, empty.  rpc-sequence-p2p-tunnelled.txt:
     * "RX DST DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS STREAM len=28 serial=9" */
    hdr.status = RPC_STATUS_OK;
    g_assert_true(rpc_message_encode_stream(msg, &hdr, NULL, 0, &err));
    g_assert_cmpuint(msg->length, ==, 28);

    /* A full legacy-sized chunk is fine; over the payload maximum is not. */
    g_autofree guint8 *chunk = g_malloc0(RPC_STREAM_CHUNK_MAX);
    hdr.status = RPC_STATUS_CONTINUE;
    g_assert_true(rpc_message_encode_stream(msg, &hdr, chunk, RPC_STREAM_CHUNK_MAX, &err));
    g_assert_cmpuint(msg->length, ==, 28 + RPC_STREAM_CHUNK_MAX);
    g_assert_false(
        rpc_message_encode_stream(msg, &hdr, chunk, (size_t)RPC_MESSAGE_PAYLOAD_MAX + 1, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_cmpstr(err->message, ==,
                    "RPC: stream chunk of 33554409 bytes is over the payload maximum of 33554408");
    g_clear_error(&err);

    /* Stream data only in STREAM messages. */
    hdr.type = RPC_CALL;
    g_assert_false(rpc_message_encode_stream(msg, &hdr, "x", 1, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_INTERNAL);
}

static int open_devnull(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    return fd;
}

static void test_with_fds(void)
{
    remote_domain_get_state_args args = { 0 };
    g_autoptr(RpcMessage) msg = rpc_message_new();
    g_autoptr(GError) err = NULL;
    RpcHeader hdr =
        remote_header(REMOTE_PROC_DOMAIN_GET_STATE, RPC_CALL_WITH_FDS, 11, RPC_STATUS_OK);
    int fd0 = open_devnull();

    g_assert_true(rpc_message_add_fd(msg, fd0, &err));
    g_assert_true(rpc_message_add_fd(msg, open_devnull(), &err));
    rpc_nonnull_domain_set(&args.dom, "zero256", zero256_uuid, 1);
    g_assert_true(
        rpc_message_encode(msg, &hdr, (xdrproc_t)xdr_remote_domain_get_state_args, &args, &err));
    g_assert_no_error(err);
    rpc_nonnull_domain_clear(&args.dom);

    /* header (type 4), then the count, then the payload */
    static const guint8 want_head[] = {
        0x00, 0x00, 0x00, 0x44, 0x20, 0x00, 0x80, 0x86, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0xd4, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00,
        0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* 2 fds */
        0x00, 0x00, 0x00, 0x07, /* the payload starts: name "zero256" */
    };
    g_assert_cmpuint(msg->length, ==, 28 + 4 + 36);
    assert_bytes(msg->buffer, sizeof(want_head), want_head, sizeof(want_head));
    g_assert_cmpuint(msg->payload_offset, ==, 32);

    g_autoptr(RpcMessage) in = rpc_message_new_from_frame(msg->buffer, msg->length, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(in->nfds_expected, ==, 2);
    g_assert_cmpuint(in->payload_offset, ==, 32);
    g_assert_true(
        rpc_message_decode_payload(in, (xdrproc_t)xdr_remote_domain_get_state_args, &args, &err));
    g_assert_cmpstr(args.dom.name, ==, "zero256");
    xdr_free((xdrproc_t)xdr_remote_domain_get_state_args, &args);

    /* The message owns its fds; a stolen one is the caller's. */
    int stolen = rpc_message_steal_fd(msg, 0);
    g_assert_cmpint(stolen, ==, fd0);
    g_assert_cmpint(rpc_message_steal_fd(msg, 0), ==, -1);
    g_assert_cmpint(rpc_message_steal_fd(msg, 5), ==, -1);
    int owned = msg->fds[1];
    g_clear_pointer(&msg, rpc_message_free);
    g_assert_cmpint(fcntl(owned, F_GETFD), ==, -1);
    g_assert_cmpint(fcntl(stolen, F_GETFD), >=, 0);
    close(stolen);

    /* fds only with the *_WITH_FDS types */
    msg = rpc_message_new();
    g_assert_true(rpc_message_add_fd(msg, open_devnull(), &err));
    hdr.type = RPC_CALL;
    g_assert_false(rpc_message_encode(msg, &hdr, NULL, NULL, &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_INTERNAL);
    g_assert_cmpstr(err->message, ==, "RPC: 1 file descriptors given with a CALL message");
    g_clear_error(&err);

    /* At most 32. */
    for (int i = 1; i < RPC_MESSAGE_NUM_FDS_MAX; i++)
        g_assert_true(rpc_message_add_fd(msg, open_devnull(), &err));
    g_assert_false(rpc_message_add_fd(msg, open_devnull(), &err));
    g_assert_error(err, RPC_ERROR, FERRY_ERR_OVERFLOW);
    g_assert_cmpstr(err->message, ==, "RPC: more than 32 file descriptors in one message");
    g_assert_cmpuint(msg->nfds, ==, 32);
}

/* ---- sizes libvirt 9.0 sent (rpc-sequence-*.txt) ---- */

static size_t frame_size(int proc, RpcMessageType type, xdrproc_t xdr, const void *data)
{
    g_autoptr(RpcMessage) msg = encode_ok(remote_header(proc, type, 1, RPC_STATUS_OK), xdr, data);
    return msg->length;
}

/* A cookie of n bytes, NUL included, as the daemons send it. */
static char *cookie_of(size_t n)
{
    char *c = g_malloc(n);

    memset(c, 'c', n - 1);
    c[n - 1] = '\0';
    return c;
}

static void test_capture_sizes(void)
{
    remote_nonnull_domain dom = { 0 };
    g_autoptr(GError) err = NULL;

    rpc_nonnull_domain_set(&dom, "zero256", zero256_uuid, 1);

    /* AUTH_LIST: CALL len=28, REPLY len=36 (one type, NONE) */
    remote_auth_type none = REMOTE_AUTH_NONE;
    remote_auth_list_ret auth = { { 1, &none } };
    g_assert_cmpuint(frame_size(REMOTE_PROC_AUTH_LIST, RPC_CALL, NULL, NULL), ==, 28);
    g_assert_cmpuint(
        frame_size(REMOTE_PROC_AUTH_LIST, RPC_REPLY, (xdrproc_t)xdr_remote_auth_list_ret, &auth),
        ==, 36);

    /* CONNECT_SUPPORTS_FEATURE: CALL len=32, REPLY len=32 */
    remote_connect_supports_feature_args feature = { 10 };
    remote_connect_supports_feature_ret supported = { 1 };
    g_assert_cmpuint(frame_size(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, RPC_CALL,
                                (xdrproc_t)xdr_remote_connect_supports_feature_args, &feature),
                     ==, 32);
    g_assert_cmpuint(frame_size(REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, RPC_REPLY,
                                (xdrproc_t)xdr_remote_connect_supports_feature_ret, &supported),
                     ==, 32);

    /* CONNECT_OPEN REPLY, REGISTER_CLOSE_CALLBACK, CONNECT_CLOSE: len=28 */
    g_assert_cmpuint(frame_size(REMOTE_PROC_CONNECT_OPEN, RPC_REPLY, NULL, NULL), ==, 28);
    g_assert_cmpuint(frame_size(REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK, RPC_CALL, NULL, NULL),
                     ==, 28);

    /* DOMAIN_LOOKUP_BY_NAME("zero256"): CALL len=40 */
    remote_domain_lookup_by_name_args byname = { (char *)"zero256" };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, RPC_CALL,
                                (xdrproc_t)xdr_remote_domain_lookup_by_name_args, &byname),
                     ==, 40);

    /* DOMAIN_GET_STATE: CALL len=64, REPLY len=36 */
    remote_domain_get_state_args state_args = { dom, 0 };
    remote_domain_get_state_ret state_ret = { 1, 1 };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_GET_STATE, RPC_CALL,
                                (xdrproc_t)xdr_remote_domain_get_state_args, &state_args),
                     ==, 64);
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_GET_STATE, RPC_REPLY,
                                (xdrproc_t)xdr_remote_domain_get_state_ret, &state_ret),
                     ==, 36);

    /* DOMAIN_GET_JOB_INFO: CALL len=60 */
    remote_domain_get_job_info_args job = { dom };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_GET_JOB_INFO, RPC_CALL,
                                (xdrproc_t)xdr_remote_domain_get_job_info_args, &job),
                     ==, 60);

    /* BEGIN3_PARAMS without parameters, flags LIVE: CALL len=68 */
    remote_domain_migrate_begin3_params_args begin = { dom, { 0, NULL }, 1 };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, RPC_CALL,
                                (xdrproc_t)xdr_remote_domain_migrate_begin3_params_args, &begin),
                     ==, 68);

    /* PREPARE3_PARAMS REPLY len=756: cookie-prepare3.xml (692 bytes and the
     * NUL) and a 20-character uri_out */
    g_autofree char *cookie2 = cookie_of(693);
    char *uri_out = (char *)"tcp://10.0.0.2:49152";
    remote_domain_migrate_prepare3_params_ret prepare = { { 693, cookie2 }, &uri_out };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS, RPC_REPLY,
                                (xdrproc_t)xdr_remote_domain_migrate_prepare3_params_ret, &prepare),
                     ==, 756);

    /* PERFORM3_PARAMS REPLY len=1160: cookie-perform3.xml, 1125 + NUL;
     * in p2p mode the cookie is empty: len=32 */
    g_autofree char *cookie3 = cookie_of(1126);
    remote_domain_migrate_perform3_params_ret perform = { { 1126, cookie3 } };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS, RPC_REPLY,
                                (xdrproc_t)xdr_remote_domain_migrate_perform3_params_ret, &perform),
                     ==, 1160);
    perform.cookie_out.cookie_out_len = 0;
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS, RPC_REPLY,
                                (xdrproc_t)xdr_remote_domain_migrate_perform3_params_ret, &perform),
                     ==, 32);

    /* FINISH3_PARAMS REPLY len=1212: dom zero256, cookie-finish3.xml,
     * 1147 + NUL */
    g_autofree char *cookie4 = cookie_of(1148);
    remote_domain_migrate_finish3_params_ret finish = { dom, { 1148, cookie4 } };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS, RPC_REPLY,
                                (xdrproc_t)xdr_remote_domain_migrate_finish3_params_ret, &finish),
                     ==, 1212);

    /* CONFIRM3_PARAMS REPLY len=28 */
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_CONFIRM3_PARAMS, RPC_REPLY, NULL, NULL),
                     ==, 28);

    /* Direct mode: BEGIN3 REPLY len=2524, then PREPARE3 CALL len=2556 with
     * the same cookie and one parameter, destination_xml = the returned
     * XML: 32 bytes more whatever their sizes. */
    g_autofree char *cookie1 = cookie_of(1054);
    g_autofree char *xml = g_strnfill(2488 - 1056, 'x');
    remote_domain_migrate_begin3_params_ret begun = { { 1054, cookie1 }, xml };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS, RPC_REPLY,
                                (xdrproc_t)xdr_remote_domain_migrate_begin3_params_ret, &begun),
                     ==, 2524);
    remote_typed_param dxml = { (char *)"destination_xml", { REMOTE_TYPED_PARAM_STRING, { 0 } } };
    dxml.value.remote_typed_param_value_u.s = xml;
    remote_domain_migrate_prepare3_params_args prep = { { 1, &dxml }, { 1054, cookie1 }, 1 };
    g_assert_cmpuint(frame_size(REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS, RPC_CALL,
                                (xdrproc_t)xdr_remote_domain_migrate_prepare3_params_args, &prep),
                     ==, 2556);

    /* The error reply to DOMAIN_GET_JOB_INFO after the domain left:
     * REPLY len=280 status=1.  libvirt fills message, str1 (the format) and
     * str2 (the detail); for "zero256" and its UUID that is exactly 280. */
    char *message = (char *)"Domain not found: no domain with matching uuid "
                            "'11111111-0000-4000-8000-000000000256' (zero256)";
    char *str1 = (char *)"Domain not found: %s";
    char *str2 = (char *)"no domain with matching uuid "
                         "'11111111-0000-4000-8000-000000000256' (zero256)";
    ferry_net_message_error lverr = { 42, 10, &message, 2, NULL, &str1, &str2, NULL, -1, -1, NULL };
    RpcHeader hdr = remote_header(REMOTE_PROC_DOMAIN_GET_JOB_INFO, RPC_REPLY, 14, RPC_STATUS_ERROR);
    g_autoptr(RpcMessage) errmsg = encode_ok(hdr, (xdrproc_t)xdr_ferry_net_message_error, &lverr);
    g_assert_cmpuint(errmsg->length, ==, 280);
    g_autoptr(GError) back = rpc_message_decode_error(errmsg, &err);
    g_assert_no_error(err);
    g_assert_error(back, ferry_error_quark(FERRY_FROM_QEMU), FERRY_ERR_NO_DOMAIN);
    g_assert_cmpstr(back->message, ==, message);

    rpc_nonnull_domain_clear(&dom);
}

/* ---- the procedure table ---- */

static void test_proc_table(void)
{
    static const struct {
        int number;
        const char *name;
    } known[] = {
        /* wire.md section 8 and the briefing */
        { 1, "CONNECT_OPEN" },
        { 2, "CONNECT_CLOSE" },
        { 6, "NODE_GET_INFO" },
        { 9, "DOMAIN_CREATE" },
        { 11, "DOMAIN_DEFINE_XML" },
        { 12, "DOMAIN_DESTROY" },
        { 14, "DOMAIN_GET_XML_DESC" },
        { 15, "DOMAIN_GET_AUTOSTART" },
        { 16, "DOMAIN_GET_INFO" },
        { 17, "DOMAIN_GET_MAX_MEMORY" },
        { 19, "DOMAIN_GET_OS_TYPE" },
        { 21, "CONNECT_LIST_DEFINED_DOMAINS" },
        { 22, "DOMAIN_LOOKUP_BY_ID" },
        { 23, "DOMAIN_LOOKUP_BY_NAME" },
        { 24, "DOMAIN_LOOKUP_BY_UUID" },
        { 25, "CONNECT_NUM_OF_DEFINED_DOMAINS" },
        { 37, "CONNECT_LIST_DOMAINS" },
        { 51, "CONNECT_NUM_OF_DOMAINS" },
        { 60, "CONNECT_SUPPORTS_FEATURE" },
        { 66, "AUTH_LIST" },
        { 110, "CONNECT_GET_URI" },
        { 121, "DOMAIN_GET_SECURITY_LABEL" },
        { 122, "NODE_GET_SECURITY_MODEL" },
        { 149, "CONNECT_IS_SECURE" },
        { 151, "DOMAIN_IS_PERSISTENT" },
        { 163, "DOMAIN_GET_JOB_INFO" },
        { 164, "DOMAIN_ABORT_JOB" },
        { 166, "DOMAIN_MIGRATE_SET_MAX_DOWNTIME" },
        { 183, "DOMAIN_HAS_MANAGED_SAVE_IMAGE" },
        { 196, "DOMAIN_CREATE_WITH_FLAGS" },
        { 207, "DOMAIN_MIGRATE_SET_MAX_SPEED" },
        { 212, "DOMAIN_GET_STATE" },
        { 234, "DOMAIN_DESTROY_FLAGS" },
        { 242, "DOMAIN_MIGRATE_GET_MAX_SPEED" },
        { 273, "CONNECT_LIST_ALL_DOMAINS" },
        { 298, "DOMAIN_GET_JOB_STATS" },
        { 299, "DOMAIN_MIGRATE_GET_COMPRESSION_CACHE" },
        { 300, "DOMAIN_MIGRATE_SET_COMPRESSION_CACHE" },
        { 302, "DOMAIN_MIGRATE_BEGIN3_PARAMS" },
        { 303, "DOMAIN_MIGRATE_PREPARE3_PARAMS" },
        { 304, "DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS" },
        { 305, "DOMAIN_MIGRATE_PERFORM3_PARAMS" },
        { 306, "DOMAIN_MIGRATE_FINISH3_PARAMS" },
        { 307, "DOMAIN_MIGRATE_CONFIRM3_PARAMS" },
        { 316, "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY" },
        { 350, "DOMAIN_DEFINE_XML_FLAGS" },
        { 359, "DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION" },
        { 360, "CONNECT_REGISTER_CLOSE_CALLBACK" },
        { 361, "CONNECT_UNREGISTER_CLOSE_CALLBACK" },
        { 362, "CONNECT_EVENT_CONNECTION_CLOSED" },
        { 363, "DOMAIN_EVENT_CALLBACK_JOB_COMPLETED" },
        { 364, "DOMAIN_MIGRATE_START_POST_COPY" },
        { 387, "DOMAIN_MIGRATE_GET_MAX_DOWNTIME" },
        { 426, "DOMAIN_GET_MESSAGES" },
        { 442, "DOMAIN_ABORT_JOB_FLAGS" },
    };
    const RpcProgram *prog = rpc_program_find(REMOTE_PROGRAM);

    g_assert_true(prog == &rpc_remote_program);
    g_assert_true(rpc_program_find(FERRY_KEEPALIVE_PROGRAM) == &rpc_keepalive_program);
    g_assert_null(rpc_program_find(0x20008087));
    g_assert_cmpuint(prog->version, ==, 1);

    for (size_t i = 0; i < prog->nprocs; i++) {
        const RpcProcedure *p = &prog->procs[i];

        if (i > 0)
            g_assert_cmpint(prog->procs[i - 1].number, <, p->number);
        g_assert_nonnull(p->args);
        g_assert_nonnull(p->ret);
        g_assert_true(rpc_program_find_proc(prog, p->number) == p);
        g_assert_true((p->args_size == 0) == (p->args == (xdrproc_t)rpc_xdr_void));
        g_assert_true((p->ret_size == 0) == (p->ret == (xdrproc_t)rpc_xdr_void));
        if (p->flags & RPC_PROC_EVENT) {
            g_assert_cmpuint(p->ret_size, ==, 0);
            g_assert_true(g_str_has_suffix(p->name, "CONNECTION_CLOSED") ||
                          g_str_has_prefix(p->name, "DOMAIN_EVENT_CALLBACK_"));
        }
        g_assert_false(p->flags & RPC_PROC_FDS);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
        g_assert_cmpstr(rpc_proc_name(REMOTE_PROGRAM, known[i].number), ==, known[i].name);
    }
    g_assert_null(rpc_program_find_proc(prog, 0));
    g_assert_null(rpc_program_find_proc(prog, 303000));
    g_assert_null(rpc_proc_name(REMOTE_PROGRAM, 213)); /* old v3: refused */
    g_assert_null(rpc_proc_name(0x1234, 1));
    g_assert_cmpstr(rpc_proc_name(FERRY_KEEPALIVE_PROGRAM, 2), ==, "PONG");

    g_assert_true(rpc_program_find_proc(prog, 304)->flags & RPC_PROC_STREAM);
    g_assert_false(rpc_program_find_proc(prog, 303)->flags & RPC_PROC_STREAM);
    g_assert_true(rpc_program_find_proc(prog, 66)->flags & RPC_PROC_BEFORE_OPEN);
    g_assert_true(rpc_program_find_proc(prog, 60)->flags & RPC_PROC_BEFORE_OPEN);
    g_assert_false(rpc_program_find_proc(prog, 23)->flags & RPC_PROC_BEFORE_OPEN);
    g_assert_true(rpc_program_find_proc(prog, 164)->flags & RPC_PROC_PRIORITY);
    g_assert_true(rpc_program_find_proc(prog, 163)->flags & RPC_PROC_PRIORITY);
    g_assert_false(rpc_program_find_proc(prog, 305)->flags & RPC_PROC_PRIORITY);
    /* migrate-compcache may come while PERFORM3_PARAMS runs, as setspeed. */
    g_assert_true(rpc_program_find_proc(prog, 299)->flags & RPC_PROC_PRIORITY);
    g_assert_true(rpc_program_find_proc(prog, 300)->flags & RPC_PROC_PRIORITY);
}

/* A source of sample values: decoding from it fills any XDR type.  Every
 * int it gives is `value` (so lengths, counts and discriminants are all
 * value, which stays under every limit), every byte a letter. */
typedef struct {
    long value;
    u_int pos;
} SampleStream;

static bool_t sample_getlong(XDR *xdrs, long *lp)
{
    SampleStream *s = (SampleStream *)xdrs->x_private;

    *lp = s->value;
    s->pos += 4;
    return TRUE;
}

static bool_t sample_getbytes(XDR *xdrs, char *addr, u_int len)
{
    SampleStream *s = (SampleStream *)xdrs->x_private;

    for (u_int i = 0; i < len; i++)
        addr[i] = (char)('a' + (s->pos + i) % 26);
    s->pos += len;
    return TRUE;
}

static u_int sample_getpostn(XDR *xdrs)
{
    return ((SampleStream *)xdrs->x_private)->pos;
}

static int32_t *sample_inline(XDR *xdrs, u_int len)
{
    return NULL;
}

static void sample_destroy(XDR *xdrs)
{
}

static void sample_fill(xdrproc_t proc, void *data, long value)
{
    static const struct xdr_ops ops = {
        .x_getlong = sample_getlong,
        .x_getbytes = sample_getbytes,
        .x_getpostn = sample_getpostn,
        .x_inline = sample_inline,
        .x_destroy = sample_destroy,
    };
    SampleStream s = { value, 0 };
    XDR xdr = { 0 };

    xdr.x_op = XDR_DECODE;
    xdr.x_ops = &ops;
    xdr.x_private = (char *)&s;
    g_assert_true(proc(&xdr, data));
}

/* Encode sample values of one payload, decode them, encode again: the
 * frames must be equal. */
static void round_trip(const RpcProcedure *p, RpcMessageType type, xdrproc_t proc, size_t size,
                       long value)
{
    g_autofree void *data = g_malloc0(MAX(size, 1));
    g_autofree void *back = g_malloc0(MAX(size, 1));
    g_autoptr(GError) err = NULL;
    RpcHeader hdr = remote_header(p->number, type, 42, RPC_STATUS_OK);

    sample_fill(proc, data, value);
    g_autoptr(RpcMessage) msg = encode_ok(hdr, proc, data);
    g_autoptr(RpcMessage) in = rpc_message_new_from_frame(msg->buffer, msg->length, &err);
    g_assert_no_error(err);
    g_assert_cmpint(in->header.proc, ==, p->number);
    g_assert_cmpint(in->header.type, ==, type);
    if (!rpc_message_decode_payload(in, proc, back, &err))
        g_error("%s: %s", p->name, err->message);
    g_autoptr(RpcMessage) again = encode_ok(hdr, proc, back);
    assert_bytes(again->buffer, again->length, msg->buffer, msg->length);
    if (size > 0)
        g_assert_cmpuint(msg->length, >, 28);
    xdr_free(proc, data);
    xdr_free(proc, back);
}

static void test_proc_round_trips(void)
{
    const RpcProgram *prog = &rpc_remote_program;

    for (size_t i = 0; i < prog->nprocs; i++) {
        const RpcProcedure *p = &prog->procs[i];
        RpcMessageType args_type = p->flags & RPC_PROC_EVENT ? RPC_MESSAGE : RPC_CALL;

        /* 1 to 7 covers every arm of remote_typed_param_value. */
        for (long value = 1; value <= 7; value++) {
            round_trip(p, args_type, p->args, p->args_size, value);
            if (!(p->flags & RPC_PROC_EVENT))
                round_trip(p, RPC_REPLY, p->ret, p->ret_size, value);
        }
    }
}

/* ---- errors ---- */

static void test_error_codes(void)
{
    static const struct {
        FerryErrorCode code;
        int vir;
    } checked[] = {
        /* from wire.md, checked against copies of virterror.h */
        { FERRY_ERR_INTERNAL, 1 },
        { FERRY_ERR_NO_SUPPORT, 3 },
        { FERRY_ERR_INVALID_ARG, 8 },
        { FERRY_ERR_OPERATION_FAILED, 9 },
        { FERRY_ERR_OPERATION_DENIED, 29 },
        { FERRY_ERR_SYSTEM, 38 },
        { FERRY_ERR_RPC, 39 },
        { FERRY_ERR_NO_DOMAIN, 42 },
        { FERRY_ERR_AUTH_FAILED, 45 },
        { FERRY_ERR_OPERATION_INVALID, 55 },
    };
    GHashTable *seen = g_hash_table_new(NULL, NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(checked); i++)
        g_assert_cmpint(rpc_error_code_to_vir(checked[i].code), ==, checked[i].vir);
    /* Every code its own number, and back. */
    for (int c = 0; c < FERRY_ERR_LAST; c++) {
        int vir = rpc_error_code_to_vir(c);

        g_assert_false(g_hash_table_contains(seen, GINT_TO_POINTER(vir)));
        g_hash_table_add(seen, GINT_TO_POINTER(vir));
        g_assert_cmpint(rpc_error_code_from_vir(vir), ==, c);
    }
    g_hash_table_unref(seen);
    /* What libvirt may send and ferry does not. */
    g_assert_cmpint(rpc_error_code_from_vir(84), ==, FERRY_ERR_NO_SUPPORT);
    g_assert_cmpint(rpc_error_code_from_vir(2), ==, FERRY_ERR_INTERNAL);
    g_assert_cmpint(rpc_error_code_from_vir(9999), ==, FERRY_ERR_OPERATION_FAILED);
    g_assert_cmpint(rpc_error_code_from_vir(-3), ==, FERRY_ERR_OPERATION_FAILED);
    g_assert_cmpint(rpc_error_code_to_vir(FERRY_ERR_LAST), ==, 1);

    /* Domains: each back as itself, except those libvirt lumps together. */
    for (int d = 0; d < FERRY_FROM_LAST; d++) {
        FerryErrorDomain back = rpc_error_domain_from_vir(rpc_error_domain_to_vir(d));

        switch (d) {
        case FERRY_FROM_NONE:
        case FERRY_FROM_SHELL:
            g_assert_cmpint(back, ==, FERRY_FROM_UTIL);
            break;
        case FERRY_FROM_MONITOR:
        case FERRY_FROM_MIGRATION:
            g_assert_cmpint(back, ==, FERRY_FROM_QEMU);
            break;
        case FERRY_FROM_DAEMON:
            g_assert_cmpint(back, ==, FERRY_FROM_RPC);
            break;
        default:
            g_assert_cmpint(back, ==, d);
        }
    }
    g_assert_cmpint(rpc_error_domain_to_vir(FERRY_FROM_QEMU), ==, 10);
    g_assert_cmpint(rpc_error_domain_to_vir(FERRY_FROM_LIBFERRY), ==, 13);
    g_assert_cmpint(rpc_error_domain_from_vir(13), ==, FERRY_FROM_LIBFERRY);
    g_assert_cmpint(rpc_error_domain_from_vir(777), ==, FERRY_FROM_RPC);
}

static void test_error_gerror(void)
{
    for (int c = FERRY_ERR_OK + 1; c < FERRY_ERR_LAST; c++) {
        g_autoptr(GError) sent = g_error_new(ferry_error_quark(FERRY_FROM_MIGRATION), c,
                                             "failure %d: 'web1' \xc3\xa9", c);
        ferry_net_message_error rerr;

        rpc_error_from_gerror(&rerr, sent);
        g_autoptr(GError) back = rpc_error_to_gerror(&rerr);
        g_assert_error(back, ferry_error_quark(FERRY_FROM_QEMU), c);
        g_assert_cmpstr(back->message, ==, sent->message);
        g_assert_cmpint(rerr.level, ==, 2);
        rpc_error_clear(&rerr);
    }

    /* A GLib error: its code maps, its domain arrives as util. */
    g_autoptr(GError) gio = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_NOENT, "no such file");
    ferry_net_message_error rerr;
    rpc_error_from_gerror(&rerr, gio);
    g_assert_cmpint(rerr.code, ==, 38);
    g_assert_cmpint(rerr.domain, ==, 0);
    g_autoptr(GError) back = rpc_error_to_gerror(&rerr);
    g_assert_error(back, ferry_error_quark(FERRY_FROM_UTIL), FERRY_ERR_SYSTEM);
    g_assert_cmpstr(back->message, ==, "no such file");
    rpc_error_clear(&rerr);

    /* No message, code 0: still an error. */
    ferry_net_message_error empty = { 0 };
    g_autoptr(GError) none = rpc_error_to_gerror(&empty);
    g_assert_error(none, ferry_error_quark(FERRY_FROM_UTIL), FERRY_ERR_INTERNAL);
    g_assert_cmpstr(none->message, ==, "unknown error");

    /* A very long message is cut, not refused. */
    g_autofree char *huge = g_strnfill(5 * 1024 * 1024, 'e');
    g_autoptr(GError) big = g_error_new_literal(RPC_ERROR, FERRY_ERR_RPC, huge);
    g_autoptr(RpcMessage) msg = rpc_message_new();
    g_autoptr(GError) err = NULL;
    RpcHeader hdr = remote_header(1, RPC_REPLY, 1, RPC_STATUS_OK);
    g_assert_true(rpc_message_encode_error(msg, &hdr, big, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(msg->length, <, 70000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/rpc/limits", test_limits);
    g_test_add_func("/rpc/names", test_names);
    g_test_add_func("/rpc/wire/connect-open", test_connect_open);
    g_test_add_func("/rpc/wire/keepalive-ping", test_keepalive_ping);
    g_test_add_func("/rpc/wire/error-reply", test_error_reply);
    g_test_add_func("/rpc/wire/nonnull-domain", test_nonnull_domain);
    g_test_add_func("/rpc/wire/typed-params", test_typed_params);
    g_test_add_func("/rpc/wire/get-info", test_get_info);
    g_test_add_func("/rpc/wire/compression-cache", test_compression_cache);
    g_test_add_func("/rpc/wire/security-model", test_security_model);
    g_test_add_func("/rpc/wire/node-info", test_node_info);
    g_test_add_func("/rpc/wire/stream", test_stream);
    g_test_add_func("/rpc/wire/with-fds", test_with_fds);
    g_test_add_func("/rpc/capture/sizes", test_capture_sizes);
    g_test_add_func("/rpc/procs/table", test_proc_table);
    g_test_add_func("/rpc/procs/round-trips", test_proc_round_trips);
    g_test_add_func("/rpc/errors/codes", test_error_codes);
    g_test_add_func("/rpc/errors/gerror", test_error_gerror);

    return g_test_run();
}
