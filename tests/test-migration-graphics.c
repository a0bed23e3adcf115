/*
 * test-migration-graphics.c: SPICE graphics relocation and the cookie's
 * graphics and capabilities (issues 6 and 7), between two QEMU drivers in
 * one process (the fixture of migration-testutils.h: real QEMU, the test
 * guest, two "hosts").  Both QEMUs run on this machine, so the
 * destination's SPICE gets a port of its own.
 *
 * What the source told its QEMU is seen two ways: the driver's QMP trace
 * (qemu.monitor logs every command it sends, to a file here) and QEMU
 * itself: after a completed migration query-spice says "migrated": true
 * only when client_migrate_info had given SPICE a target (QEMU 7.2's
 * spice-core ends the SPICE migration only then).
 *
 * A failing client_migrate_info cannot be had from a real QEMU on demand:
 * the source's QMP goes through a relay (qmp-relay.c) that answers
 * client_migrate_info with an error and passes everything else, fds
 * included, to the real QEMU.
 */
#include <config.h>

#include <string.h>

#include <glib/gstdio.h>
#include <json-c/json.h>

#include "conf/cookie.h"
#include "driver/domain_obj.h"
#include "driver/qemu_driver_priv.h"
#include "driver/qemu_monitor.h"
#include "util/error.h"
#include "util/log.h"
#include "tests/migration-testutils.h"
#include "tests/qmp-relay.h"
#include "tests/tls-certs.h"

#define SPICE_XML "    <graphics type='spice' autoport='yes' listen='127.0.0.1'/>\n"
/* The subject of tls-certs' "spice" certificate, as SPICE clients take it
 * (the certificate's order). */
#define SPICE_TLS_SUBJECT "C=GB,L=London,O=ferry,CN=localhost"

/* ---------------------------------------------------------------- helpers */

static void start_graphics_guest(Fixture *fx, DriverDomain *dom, const char *graphics)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = guest_xml(fx, fx->root_a, "mig1", 64);
    g_autofree char *serial = serial_path(fx->root_a);
    g_autofree char *devices = g_strconcat(graphics ? graphics : SPICE_XML, "  </devices>\n", NULL);
    g_autoptr(GString) with = g_string_new(xml);

    g_assert_cmpuint(g_string_replace(with, "  </devices>\n", devices, 1), ==, 1);
    g_assert_true(fx->src->ops->create_xml(fx->src, with->str, 0, dom, &err));
    g_assert_no_error(err);
    wait_serial(serial, 1, 0, NULL, NULL);
}

/* The port the domain's graphics of type got (its live definition). */
static int graphics_port(QemuDriver *drv, const char *name, DomainGraphicsType type)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_name(drv->domains, name, DOMAIN_LOOKUP_LOCKED, &err);

    g_assert_no_error(err);
    for (gsize i = 0; i < obj->def->ngraphics; i++) {
        if (obj->def->graphics[i]->type == type)
            return obj->def->graphics[i]->port;
    }
    g_assert_not_reached();
}

/* A QMP command on the domain's QEMU (what `virsh qemu-monitor-command`
 * would send). */
static json_object *domain_qmp(QemuDriver *drv, const char *name, const char *execute)
{
    g_autoptr(GError) err = NULL;
    QemuMonitor *mon = NULL;
    json_object *ret;

    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_name(drv->domains, name, DOMAIN_LOOKUP_LOCKED, &err);

        g_assert_no_error(err);
        mon = domain_obj_get_monitor(obj);
        g_assert_nonnull(mon);
        qemu_monitor_ref(mon);
    }
    ret = qmp_call(mon, execute, NULL, &err);
    qemu_monitor_unref(mon);
    g_assert_no_error(err);
    return ret;
}

/* query-spice on the domain's QEMU once it says "migrated": true, or
 * the last answer after 10 s: QEMU's SPICE server ends its part of the
 * migration from the main loop a moment after the migration completed. */
static json_object *spice_wait_migrated(QemuDriver *drv, const char *name)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    for (;;) {
        json_object *spice = domain_qmp(drv, name, "query-spice");
        json_object *v = NULL;

        if ((json_object_object_get_ex(spice, "migrated", &v) && json_object_get_boolean(v)) ||
            g_get_monotonic_time() > end)
            return spice;
        json_object_put(spice);
        g_usleep(10 * 1000);
    }
}

static MigrationCookie *parse_cookie(GBytes *bytes)
{
    g_autoptr(GError) err = NULL;
    gsize len = 0;
    const char *data = g_bytes_get_data(bytes, &len);
    MigrationCookie *cookie = cookie_parse(data, len, NULL, &err);

    g_assert_no_error(err);
    g_assert_nonnull(cookie);
    return cookie;
}

static TypedParams *params_with(const TypedParams *params, const char *name, const char *value)
{
    TypedParams *copy = typed_params_copy(params);

    typed_params_remove(copy, name);
    g_assert_cmpint(typed_params_add_string(copy, name, value, NULL), ==, 0);
    return copy;
}

/* The ports the domain's SPICE graphics got (its live definition). */
static void spice_ports(QemuDriver *drv, const char *name, int *port, int *tls_port)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj =
        domain_list_find_by_name(drv->domains, name, DOMAIN_LOOKUP_LOCKED, &err);

    g_assert_no_error(err);
    for (gsize i = 0; i < obj->def->ngraphics; i++) {
        if (obj->def->graphics[i]->type == DOMAIN_GRAPHICS_SPICE) {
            *port = obj->def->graphics[i]->port;
            *tls_port = obj->def->graphics[i]->tls_port;
            return;
        }
    }
    g_assert_not_reached();
}

/* The driver counts port as taken (autoport). */
static gboolean port_taken(QemuDriver *drv, int port)
{
    gboolean taken;

    g_mutex_lock(&drv->ports_lock);
    taken = g_hash_table_contains(drv->ports, GINT_TO_POINTER(port));
    g_mutex_unlock(&drv->ports_lock);
    return taken;
}

/* Waits (up to 10 s) until the driver no longer counts port as taken. */
static void wait_port_released(QemuDriver *drv, int port)
{
    for (int i = 0; i < 1000 && port_taken(drv, port); i++)
        g_usleep(10 * 1000);
    g_assert_false(port_taken(drv, port));
}

/* An int member of a QMP reply. */
static int qmp_int(json_object *obj, const char *key)
{
    json_object *v = NULL;

    g_assert_true(json_object_object_get_ex(obj, key, &v));
    return json_object_get_int(v);
}

/* The certificates, or NULL when certtool is missing (the case skips). */
static TlsCerts *spice_certs(void)
{
    g_autoptr(GError) err = NULL;
    TlsCerts *certs = tls_certs_new(&err);

    if (!certs && ferry_error_is(err, FERRY_ERR_NO_SUPPORT)) {
        g_test_skip(err->message);
        return NULL;
    }
    g_assert_no_error(err);
    return certs;
}

/* ROOT/etc/ferry/pki/spice (spice_tls_x509_cert_dir's default) with
 * QEMU's files: the CA, tls-certs' "spice" certificate and key; all but
 * leave_out (may be NULL). */
static void spice_tls_fill(TlsCerts *certs, const char *root, const char *leave_out)
{
    static const char *const files[][2] = {
        { "ca-cert.pem", "ca-cert.pem" },
        { "spice-cert.pem", "server-cert.pem" },
        { "spice-key.pem", "server-key.pem" },
    };
    g_autofree char *dir = g_build_filename(root, "etc", "ferry", "pki", "spice", NULL);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *text = NULL;
        g_autofree char *to = g_build_filename(dir, files[i][1], NULL);
        gsize len = 0;

        if (leave_out && g_str_equal(files[i][1], leave_out))
            continue;
        g_assert_true(g_file_get_contents(tls_certs_path(certs, files[i][0]), &text, &len, NULL));
        g_assert_true(g_file_set_contents(to, text, (gssize)len, NULL));
    }
}

/* "ferryd" restarts on host A with other settings. */
static void reopen_source(Fixture *fx, const FixtureOpts *opts)
{
    driver_conn_unref(g_steal_pointer(&fx->src));
    qemu_driver_close(fx->a);
    fx->a = open_driver(fx->root_a, HOST_A_UUID, "hostA", fx->kvm, fx->lease_dir, opts);
    fx->src = qemu_driver_conn_open(fx->a, 1, "qemu:///system");
}

/* ---------------------------------------------------------------- cases */

/* Begin3's cookie 1 says where the source's SPICE listens and which
 * migration capabilities its QEMU has (auto='yes': turned on for this
 * migration); Prepare3's cookie 2 where the destination's listens (a port
 * of its own) and its capabilities; Perform3 tells the source's SPICE
 * exactly that before `migrate`, and after the migration the destination
 * runs the guest with SPICE on that port. */
static void test_spice_relocation(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL, dparams = NULL, sparams = NULL, fparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autoptr(MigrationCookie) k1 = NULL, k2 = NULL;
    g_autofree char *xml = NULL, *uri = NULL, *sent = NULL, *want = NULL;
    g_autoptr(json_object) src_spice = NULL, dst_spice = NULL;
    json_object *v = NULL;
    const CookieCapability *cap;
    int src_port, dst_port;
    unsigned int flags = MIGRATION_LIVE | MIGRATION_AUTO_CONVERGE;

    if (!have_guest(fx))
        return;
    start_graphics_guest(fx, &dom, NULL);
    src_port = graphics_port(fx->a, "mig1", DOMAIN_GRAPHICS_SPICE);
    g_assert_cmpint(src_port, >=, 5900);
    params = mig_params(fx, &dom);

    /* Begin3: cookie 1 */
    g_assert_true(fx->src->ops->migrate_begin3(fx->src, &dom, params, flags, &c1, &xml, &err));
    g_assert_no_error(err);
    k1 = parse_cookie(c1);
    g_assert_true(k1->flags & COOKIE_FLAG(COOKIE_FEATURE_GRAPHICS));
    g_assert_cmpint(k1->graphics->type, ==, COOKIE_GRAPHICS_SPICE);
    g_assert_cmpint(k1->graphics->port, ==, src_port);
    g_assert_cmpint(k1->graphics->tls_port, ==, -1);
    g_assert_cmpstr(k1->graphics->listen, ==, "127.0.0.1");
    g_assert_true(k1->flags & COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES));
    g_assert_nonnull(cap = cookie_find_capability(k1, "auto-converge"));
    g_assert_true(cap->auto_on); /* the flag asks for it */
    g_assert_nonnull(cap = cookie_find_capability(k1, "pause-before-switchover"));
    g_assert_true(cap->auto_on); /* ferry's own */
    g_assert_nonnull(cap = cookie_find_capability(k1, "postcopy-ram"));
    g_assert_false(cap->auto_on);
    g_assert_nonnull(cap = cookie_find_capability(k1, "xbzrle"));
    g_assert_false(cap->auto_on);
    g_test_message("cookie 1: spice %s:%d, %u capabilities", k1->graphics->listen,
                   k1->graphics->port, k1->capabilities->len);

    /* Prepare3: cookie 2 */
    dparams = params_with(params, MIGRATION_PARAM_DEST_XML, xml);
    g_assert_true(fx->dst->ops->migrate_prepare3(
        fx->dst, dparams, c1, flags & ~(unsigned int)MIGRATION_AUTO_CONVERGE, &c2, &uri, &err));
    g_assert_no_error(err);
    dst_port = graphics_port(fx->b, "mig1", DOMAIN_GRAPHICS_SPICE);
    g_assert_cmpint(dst_port, >=, 5900);
    g_assert_cmpint(dst_port, !=, src_port);
    k2 = parse_cookie(c2);
    g_assert_true(k2->flags & COOKIE_FLAG(COOKIE_FEATURE_GRAPHICS));
    g_assert_cmpint(k2->graphics->type, ==, COOKIE_GRAPHICS_SPICE);
    g_assert_cmpint(k2->graphics->port, ==, dst_port);
    g_assert_cmpint(k2->graphics->tls_port, ==, -1);
    g_assert_cmpstr(k2->graphics->listen, ==, "127.0.0.1");
    g_assert_null(k2->graphics->tls_subject); /* ferry has no SPICE TLS */
    g_assert_nonnull(cap = cookie_find_capability(k2, "postcopy-ram"));
    g_assert_false(cap->auto_on);
    g_assert_nonnull(cap = cookie_find_capability(k2, "multifd"));
    g_test_message("cookie 2: spice %s:%d (source's %d), %u capabilities", k2->graphics->listen,
                   k2->graphics->port, src_port, k2->capabilities->len);

    /* Perform3, traced */
    sparams = params_with(params, MIGRATION_PARAM_URI, uri);
    trace_start(fx);
    g_assert_true(
        fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, flags, &c3, &err));
    g_assert_no_error(err);
    sent = trace_grep(fx, "\"execute\":\"client_migrate_info\"");
    trace_stop();
    want = g_strdup_printf("{\"execute\":\"client_migrate_info\",\"arguments\":{\"protocol\":"
                           "\"spice\",\"hostname\":\"127.0.0.1\",\"port\":%d},",
                           dst_port);
    g_test_message("sent: %s", strstr(sent, "{"));
    g_assert_nonnull(strstr(sent, want));
    g_assert_null(strchr(sent, '\n')); /* once */
    {
        /* before `migrate` */
        g_autofree char *path = trace_path(fx);
        g_autofree char *text = NULL;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        const char *info = strstr(text, "\"execute\":\"client_migrate_info\"");
        const char *migrate = strstr(text, "\"execute\":\"migrate\"");
        g_assert_nonnull(info);
        g_assert_nonnull(migrate);
        g_assert_true(info < migrate);
    }
    /* the source's QEMU (paused, not yet confirmed) ended the SPICE
     * migration: it had a target */
    src_spice = spice_wait_migrated(fx->a, "mig1");
    g_test_message("source query-spice: %s", json_object_to_json_string(src_spice));
    g_assert_true(json_object_object_get_ex(src_spice, "migrated", &v));
    g_assert_true(json_object_get_boolean(v));

    /* Finish3, Confirm3 */
    fparams = params_with(params, MIGRATION_PARAM_DEST_NAME, "mig1");
    g_assert_true(
        fx->dst->ops->migrate_finish3(fx->dst, fparams, c3, flags, FALSE, &arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->migrate_confirm3(fx->src, &dom, params, c4, flags, FALSE, &err));
    g_assert_no_error(err);
    g_assert_false(domain_exists(fx->src, "mig1"));
    wait_processes_gone(fx->root_a);
    check_guest_moved(fx);

    dst_spice = domain_qmp(fx->b, "mig1", "query-spice");
    g_test_message("destination query-spice: %s", json_object_to_json_string(dst_spice));
    g_assert_true(json_object_object_get_ex(dst_spice, "enabled", &v));
    g_assert_true(json_object_get_boolean(v));
    g_assert_true(json_object_object_get_ex(dst_spice, "port", &v));
    g_assert_cmpint(json_object_get_int(v), ==, dst_port);
    g_assert_true(json_object_object_get_ex(dst_spice, "host", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, "127.0.0.1");
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* VNC: cookie 1 says where it listens; QEMU has no relocation for it, so
 * the destination's cookie carries none and nothing is sent. */
static void test_vnc(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(GBytes) c1 = NULL;
    g_autoptr(MigrationCookie) k1 = NULL;
    g_autofree char *xml = NULL, *sent = NULL;

    if (!have_guest(fx))
        return;
    start_graphics_guest(fx, &dom,
                         "    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>\n");
    params = mig_params(fx, &dom);
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    k1 = parse_cookie(c1);
    g_assert_cmpint(k1->graphics->type, ==, COOKIE_GRAPHICS_VNC);
    g_assert_cmpint(k1->graphics->port, ==, graphics_port(fx->a, "mig1", DOMAIN_GRAPHICS_VNC));
    g_assert_cmpstr(k1->graphics->listen, ==, "127.0.0.1");
    /* ends the job Begin3 took */
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, params, NULL, MIGRATION_LIVE, TRUE, &err));
    g_assert_no_error(err);

    trace_start(fx);
    g_assert_true(
        migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err));
    g_assert_no_error(err);
    sent = trace_grep(fx, "client_migrate_info");
    g_autofree char *src_cmds = trace_source_commands(fx);
    trace_stop();
    g_assert_cmpstr(sent, ==, "");
    /* the switchover: nobody resumed the guest during the migration, so
     * the source's QEMU is told to go on without asking whether its
     * CPUs are stopped (and the pre-switchover event needs no query) */
    g_test_message("source's QMP commands:%s", src_cmds);
    const char *from = strstr(src_cmds, " migrate ");
    g_assert_nonnull(from);
    const char *to = strstr(from, " migrate-continue ");
    g_assert_nonnull(to);
    g_autofree char *between = g_strndup(from, (gsize)(to - from) + 1);
    g_assert_null(strstr(between, " query-status "));
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* Begin3 and Prepare3 of a migration with flags: cookie 2 parsed, the
 * URI and the XML. */
static MigrationCookie *begin_prepare(Fixture *fx, DriverDomain *dom, const TypedParams *params,
                                      unsigned int flags, char **uri)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL;
    g_autoptr(TypedParams) dparams = NULL;
    g_autofree char *xml = NULL;

    g_assert_true(fx->src->ops->migrate_begin3(fx->src, dom, params, flags, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = params_with(params, MIGRATION_PARAM_DEST_XML, xml);
    g_assert_true(fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, flags, &c2, uri, &err));
    g_assert_no_error(err);
    return parse_cookie(c2);
}

static GBytes *bake(MigrationCookie *cookie)
{
    g_autoptr(GError) err = NULL;
    char *text = cookie_format(cookie, &err);

    g_assert_no_error(err);
    return g_bytes_new_take(text, strlen(text) + 1);
}

static void drop_capability(MigrationCookie *cookie, const char *name)
{
    for (guint i = 0; i < cookie->capabilities->len; i++) {
        CookieCapability *cap = g_ptr_array_index(cookie->capabilities, i);

        if (g_str_equal(cap->name, name)) {
            g_ptr_array_remove_index(cookie->capabilities, i);
            return;
        }
    }
    g_assert_not_reached();
}

/* cookie 2 says the destination's QEMU lacks a capability this migration
 * turns on there (xbzrle for COMPRESSED): Perform3 refuses before
 * `migrate`, naming it, and the source runs on.  An older peer's cookie
 * without <capabilities> is accepted. */
static void test_caps_refused(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL, sparams = NULL, fparams = NULL;
    g_autoptr(GBytes) lacking = NULL, c3 = NULL, c4 = NULL, old = NULL;
    g_autoptr(MigrationCookie) k2 = NULL, k2old = NULL;
    g_autofree char *uri = NULL, *uri2 = NULL, *sent = NULL;
    unsigned int flags = MIGRATION_LIVE | MIGRATION_COMPRESSED;

    if (!have_guest(fx))
        return;
    start_graphics_guest(fx, &dom, NULL);
    params = mig_params(fx, &dom);
    k2 = begin_prepare(fx, &dom, params, flags, &uri);
    g_assert_nonnull(cookie_find_capability(k2, "xbzrle"));
    g_assert_true(cookie_find_capability(k2, "xbzrle")->auto_on);
    /* the destination's QEMU "has no xbzrle" */
    drop_capability(k2, "xbzrle");
    lacking = bake(k2);

    sparams = params_with(params, MIGRATION_PARAM_URI, uri);
    trace_start(fx);
    g_assert_false(
        fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, lacking, flags, &c3, &err));
    sent = trace_grep(fx, "\"execute\":\"migrate\"");
    trace_stop();
    g_assert_nonnull(err);
    g_test_message("perform3: %s", err->message);
    g_assert_nonnull(strstr(err->message, "'mig1'"));
    g_assert_nonnull(
        strstr(err->message, "destination's QEMU has no migration capability 'xbzrle'"));
    g_assert_cmpstr(sent, ==, ""); /* refused before `migrate` */
    g_clear_error(&err);
    check_source_untouched(fx, &dom);

    /* the destination unwinds as after any failed Perform3 */
    fparams = params_with(params, MIGRATION_PARAM_DEST_NAME, "mig1");
    g_assert_false(
        fx->dst->ops->migrate_finish3(fx->dst, fparams, NULL, flags, TRUE, &arrived, &c4, NULL));
    g_assert_false(domain_exists(fx->dst, "mig1"));
    g_clear_pointer(&c3, g_bytes_unref);
    g_clear_pointer(&c4, g_bytes_unref);
    g_clear_pointer(&sparams, typed_params_free);

    /* a cookie without <capabilities> (an older peer): not checked */
    k2old = begin_prepare(fx, &dom, params, flags, &uri2);
    drop_capability(k2old, "xbzrle");
    k2old->flags &= ~COOKIE_FLAG(COOKIE_FEATURE_CAPABILITIES);
    old = bake(k2old);
    g_assert_null(strstr(g_bytes_get_data(old, NULL), "<capabilities"));
    sparams = params_with(params, MIGRATION_PARAM_URI, uri2);
    g_assert_true(
        fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, old, flags, &c3, &err));
    g_assert_no_error(err);
    g_assert_true(
        fx->dst->ops->migrate_finish3(fx->dst, fparams, c3, flags, FALSE, &arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_true(fx->src->ops->migrate_confirm3(fx->src, &dom, params, c4, flags, FALSE, &err));
    g_assert_no_error(err);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* SPICE listens on every address: cookie 2 names the host the
 * destination advertises for the migration (ferryd.conf's
 * migration_host here), and that is where the source's viewers go. */
static void test_wildcard_listen(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL, sparams = NULL, fparams = NULL;
    g_autoptr(GBytes) c2 = NULL, c3 = NULL, c4 = NULL;
    g_autoptr(MigrationCookie) k2 = NULL;
    g_autofree char *uri = NULL, *sent = NULL, *want = NULL;

    if (!have_guest(fx))
        return;
    start_graphics_guest(fx, &dom,
                         "    <graphics type='spice' autoport='yes' listen='0.0.0.0'/>\n");
    params = mig_params(fx, &dom);
    typed_params_remove(params, MIGRATION_PARAM_LISTEN_ADDRESS);
    k2 = begin_prepare(fx, &dom, params, MIGRATION_LIVE, &uri);
    g_assert_cmpstr(k2->graphics->listen, ==, "localhost");
    g_assert_cmpint(k2->graphics->port, ==, graphics_port(fx->b, "mig1", DOMAIN_GRAPHICS_SPICE));
    g_test_message("cookie 2: spice %s:%d, migration to %s", k2->graphics->listen,
                   k2->graphics->port, uri);

    c2 = bake(k2);
    sparams = params_with(params, MIGRATION_PARAM_URI, uri);
    trace_start(fx);
    g_assert_true(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                 &c3, &err));
    sent = trace_grep(fx, "\"execute\":\"client_migrate_info\"");
    trace_stop();
    g_assert_no_error(err);
    want = g_strdup_printf("\"arguments\":{\"protocol\":\"spice\",\"hostname\":\"localhost\","
                           "\"port\":%d}",
                           k2->graphics->port);
    g_assert_nonnull(strstr(sent, want));
    fparams = params_with(params, MIGRATION_PARAM_DEST_NAME, "mig1");
    g_assert_true(fx->dst->ops->migrate_finish3(fx->dst, fparams, c3, MIGRATION_LIVE, FALSE,
                                                &arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, params, c4, MIGRATION_LIVE, FALSE, &err));
    g_assert_no_error(err);
    check_guest_moved(fx);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* client_migrate_info fails (the relay answers it with QEMU's error):
 * a warning, and the migration goes on and completes. */
static void test_relocation_fails(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL;
    g_autoptr(QmpRelay) relay = NULL;
    g_autofree char *mon_path = NULL, *real_path = NULL, *warned = NULL, *args = NULL;

    if (!have_guest(fx))
        return;
    start_graphics_guest(fx, &dom, NULL);
    {
        g_autoptr(DomainObjLocked) obj =
            domain_list_find_by_name(fx->a->domains, "mig1", DOMAIN_LOOKUP_LOCKED, &err);

        g_assert_no_error(err);
        mon_path = g_strdup(obj->monitor_path);
    }
    /* "ferryd" restarts: its QEMU's monitor is reached through the relay */
    driver_conn_unref(g_steal_pointer(&fx->src));
    qemu_driver_close(fx->a);
    real_path = g_strconcat(mon_path, ".real", NULL);
    g_assert_cmpint(g_rename(mon_path, real_path), ==, 0);
    relay = qmp_relay_new(mon_path, real_path, "client_migrate_info", "GenericError",
                          "Could not set up display for migration");
    fx->a = open_driver(fx->root_a, HOST_A_UUID, "hostA", fx->kvm, fx->lease_dir, NULL);
    fx->src = qemu_driver_conn_open(fx->a, 1, "qemu:///system");
    g_assert_cmpint(state_of(fx->src, &dom), ==, DRIVER_STATE_RUNNING);

    params = mig_params(fx, &dom);
    trace_start(fx);
    g_assert_true(
        migration_sequence(fx->src, fx->dst, &dom, params, MIGRATION_LIVE, &arrived, &err));
    g_assert_no_error(err);
    warned = trace_grep(fx, "SPICE viewers will not follow");
    trace_stop();
    g_test_message("warning: %s", warned);
    g_assert_nonnull(strstr(warned, "Could not set up display for migration"));
    g_assert_cmpuint(qmp_relay_failed(relay, &args), ==, 1);
    g_test_message("relay failed: %s", args);
    g_assert_nonnull(strstr(args, "\"protocol\":\"spice\""));
    check_guest_moved(fx);
    wait_processes_gone(fx->root_a);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
}

/* SPICE over TLS on both hosts (ferryd.conf's spice_tls, the default x509
 * directory filled): autoport gives SPICE a TLS port too, claimed while
 * QEMU runs and free again after; the destination's cookie 2 carries its
 * ports and its server certificate's subject, and the source hands
 * exactly those to its SPICE (client_migrate_info) before `migrate`. */
static void test_spice_tls(Fixture *fx, gconstpointer data)
{
    static const FixtureOpts tls_opts = { .spice_tls = TRUE };
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsCerts) certs = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    g_autoptr(TypedParams) params = NULL, dparams = NULL, sparams = NULL, fparams = NULL;
    g_autoptr(GBytes) c1 = NULL, c2 = NULL, c3 = NULL, c4 = NULL;
    g_autoptr(MigrationCookie) k2 = NULL;
    g_autofree char *xml = NULL, *live = NULL, *uri = NULL, *sent = NULL, *want = NULL;
    g_autofree char *want_live = NULL;
    g_autoptr(json_object) src_spice = NULL, dst_spice = NULL;
    int src_port = -1, src_tls = -1, dst_port = -1, dst_tls = -1;

    if (!have_guest(fx) || !(certs = spice_certs()))
        return;
    spice_tls_fill(certs, fx->root_a, NULL);
    spice_tls_fill(certs, fx->root_b, NULL);
    reopen_source(fx, &tls_opts);
    start_graphics_guest(fx, &dom, NULL);
    spice_ports(fx->a, "mig1", &src_port, &src_tls);
    g_test_message("source: spice port %d, tls port %d", src_port, src_tls);
    g_assert_cmpint(src_port, >=, 5900);
    g_assert_cmpint(src_tls, >=, 5900);
    g_assert_cmpint(src_tls, !=, src_port);
    g_assert_true(port_taken(fx->a, src_port));
    g_assert_true(port_taken(fx->a, src_tls));
    live = fx->src->ops->get_xml_desc(fx->src, &dom, 0, &err);
    g_assert_no_error(err);
    want_live = g_strdup_printf("tlsPort=\"%d\"", src_tls);
    g_assert_nonnull(strstr(live, want_live));
    src_spice = domain_qmp(fx->a, "mig1", "query-spice");
    g_test_message("source query-spice: %s", json_object_to_json_string(src_spice));
    g_assert_cmpint(qmp_int(src_spice, "tls-port"), ==, src_tls);
    params = mig_params(fx, &dom);

    /* Begin3, Prepare3: cookie 2 */
    g_assert_true(
        fx->src->ops->migrate_begin3(fx->src, &dom, params, MIGRATION_LIVE, &c1, &xml, &err));
    g_assert_no_error(err);
    dparams = params_with(params, MIGRATION_PARAM_DEST_XML, xml);
    g_assert_true(
        fx->dst->ops->migrate_prepare3(fx->dst, dparams, c1, MIGRATION_LIVE, &c2, &uri, &err));
    g_assert_no_error(err);
    spice_ports(fx->b, "mig1", &dst_port, &dst_tls);
    g_test_message("destination: spice port %d, tls port %d", dst_port, dst_tls);
    g_assert_cmpint(dst_tls, >=, 5900);
    g_assert_true(port_taken(fx->b, dst_port));
    g_assert_true(port_taken(fx->b, dst_tls));
    dst_spice = domain_qmp(fx->b, "mig1", "query-spice");
    g_test_message("destination query-spice: %s", json_object_to_json_string(dst_spice));
    g_assert_cmpint(qmp_int(dst_spice, "tls-port"), ==, dst_tls);
    g_assert_cmpint(qmp_int(dst_spice, "port"), ==, dst_port);
    k2 = parse_cookie(c2);
    g_assert_true(k2->flags & COOKIE_FLAG(COOKIE_FEATURE_GRAPHICS));
    g_assert_cmpint(k2->graphics->type, ==, COOKIE_GRAPHICS_SPICE);
    g_assert_cmpint(k2->graphics->port, ==, dst_port);
    g_assert_cmpint(k2->graphics->tls_port, ==, dst_tls);
    g_assert_cmpstr(k2->graphics->listen, ==, "127.0.0.1");
    g_assert_cmpstr(k2->graphics->tls_subject, ==, SPICE_TLS_SUBJECT);
    g_test_message("cookie 2: spice %s port %d tls port %d subject '%s'", k2->graphics->listen,
                   k2->graphics->port, k2->graphics->tls_port, k2->graphics->tls_subject);

    /* Perform3, traced */
    sparams = params_with(params, MIGRATION_PARAM_URI, uri);
    trace_start(fx);
    g_assert_true(fx->src->ops->migrate_perform3(fx->src, &dom, NULL, sparams, c2, MIGRATION_LIVE,
                                                 &c3, &err));
    sent = trace_grep(fx, "\"execute\":\"client_migrate_info\"");
    trace_stop();
    g_assert_no_error(err);
    g_test_message("sent: %s", strstr(sent, "{"));
    want = g_strdup_printf("{\"execute\":\"client_migrate_info\",\"arguments\":{\"protocol\":"
                           "\"spice\",\"hostname\":\"127.0.0.1\",\"port\":%d,\"tls-port\":%d,"
                           "\"cert-subject\":\"%s\"}",
                           dst_port, dst_tls, SPICE_TLS_SUBJECT);
    g_assert_nonnull(strstr(sent, want));
    g_assert_null(strchr(sent, '\n'));

    /* Finish3, Confirm3: the source's ports are free again */
    fparams = params_with(params, MIGRATION_PARAM_DEST_NAME, "mig1");
    g_assert_true(fx->dst->ops->migrate_finish3(fx->dst, fparams, c3, MIGRATION_LIVE, FALSE,
                                                &arrived, &c4, &err));
    g_assert_no_error(err);
    g_assert_true(
        fx->src->ops->migrate_confirm3(fx->src, &dom, params, c4, MIGRATION_LIVE, FALSE, &err));
    g_assert_no_error(err);
    check_guest_moved(fx);
    wait_processes_gone(fx->root_a);
    wait_port_released(fx->a, src_port);
    wait_port_released(fx->a, src_tls);
    g_assert_true(fx->dst->ops->destroy(fx->dst, &arrived, 0, &err));
    g_assert_no_error(err);
    wait_port_released(fx->b, dst_port);
    wait_port_released(fx->b, dst_tls);
}

/* SPICE over TLS without server-key.pem in the x509 directory: the domain
 * does not start, the error names the file, and no port stays taken. */
static void test_spice_tls_missing_key(Fixture *fx, gconstpointer data)
{
    static const FixtureOpts tls_opts = { .spice_tls = TRUE };
    g_autoptr(GError) err = NULL;
    g_autoptr(TlsCerts) certs = NULL;
    g_auto(DriverDomain) dom = DRIVER_DOMAIN_INIT;
    g_autofree char *xml = NULL, *devices = NULL, *key = NULL;
    g_autoptr(GString) with = NULL;

    if (!have_guest(fx) || !(certs = spice_certs()))
        return;
    spice_tls_fill(certs, fx->root_a, "server-key.pem");
    reopen_source(fx, &tls_opts);
    xml = guest_xml(fx, fx->root_a, "mig1", 64);
    devices = g_strconcat(SPICE_XML, "  </devices>\n", NULL);
    with = g_string_new(xml);
    g_assert_cmpuint(g_string_replace(with, "  </devices>\n", devices, 1), ==, 1);
    g_assert_false(fx->src->ops->create_xml(fx->src, with->str, 0, &dom, &err));
    g_assert_nonnull(err);
    g_test_message("create: %s", err->message);
    key = g_build_filename(fx->root_a, "etc", "ferry", "pki", "spice", "server-key.pem", NULL);
    g_assert_nonnull(strstr(err->message, key));
    g_assert_nonnull(strstr(err->message, "'mig1'"));
    g_assert_nonnull(strstr(err->message, "spice_tls_x509_cert_dir"));
    g_assert_false(domain_exists(fx->src, "mig1"));
    g_assert_cmpuint(processes_naming(fx->root_a), ==, 0);
    g_mutex_lock(&fx->a->ports_lock);
    g_assert_cmpuint(g_hash_table_size(fx->a->ports), ==, 0);
    g_mutex_unlock(&fx->a->ports_lock);
}

int main(int argc, char **argv)
{
    static const FixtureOpts conf_host = { .mig_address = "0.0.0.0", .mig_host = "localhost" };
    static const FixtureOpts spice_tls = { .spice_tls = TRUE };

    migration_test_init(&argc, &argv);
#define ADD(path, fn, opts) \
    g_test_add("/migration/graphics/" path, Fixture, opts, fixture_setup, fn, fixture_teardown)
    ADD("spice-relocation", test_spice_relocation, NULL);
    ADD("vnc", test_vnc, NULL);
    ADD("caps-refused", test_caps_refused, NULL);
    ADD("wildcard-listen", test_wildcard_listen, &conf_host);
    ADD("relocation-fails", test_relocation_fails, NULL);
    ADD("spice-tls", test_spice_tls, &spice_tls);
    ADD("spice-tls-missing-key", test_spice_tls_missing_key, NULL);
#undef ADD
    return g_test_run();
}
