/*
 * test-qemu-interface.c: the taps that ferry opens for a domain's
 * interfaces, with real QEMU running the test guest.
 *
 * Devices and traffic stay in a network namespace of the test's own: the
 * first thing main does (as root, before any thread exists) is to move
 * the whole process into a new network namespace, and into a new mount
 * namespace with a fresh sysfs on /sys so that /sys/class/net shows that
 * network namespace.  QEMU inherits both; both vanish when the test
 * exits.  Without root, unshare, sysfs or /dev/net/tun, every case that
 * needs them is skipped with the reason.
 *
 * Each case has its own temporary root and driver; the teardown destroys
 * what still runs, closes the driver and then checks that no QEMU of the
 * case is left (no process whose command line or environment names the
 * case's root, see testproc.h; it kills any it finds) and that no
 * interface but lo and the test's bridge is left in the namespace.  Waits are bounded by a
 * safety deadline (a hang guard, never a timed assertion).
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "test.qemu-interface"

#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "util/fd.h"
#include "driver/domain_obj.h"
#include "driver/qemu_driver.h"
#include "driver/qemu_interface.h"
#include "driver/qemu_process.h"
#include "tests/testproc.h"

#define SAFETY_MS 60000
#define POLL_US (20 * 1000)
#define KILL_GRACE_MS 2000

#define BRIDGE "fybr0"
#define UUID_A "7c8d1f3b-2a4e-4d6f-9bac-1d2e3f4a5b01"

static char *caps_dir; /* shared by the cases: QEMU is probed once */
static char *current_root; /* for the abort handler */
/* Why the namespace cases cannot run, or NULL when they can. */
static const char *netns_skip;
/* Why the bridge cases cannot run, or NULL when they can. */
static const char *bridge_skip;

typedef struct {
    gboolean skip;
    char *root;
    char *kernel;
    char *serial;
    QemuDriver *drv;
} Fixture;

/* ---------------------------------------------------------------- namespace */

static int ioctl_socket(void)
{
    return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static gboolean link_up(int sock, const char *name)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        return FALSE;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(sock, SIOCSIFFLAGS, &ifr) == 0;
}

/* The process's own network namespace with its own sysfs, and a bridge
 * in it.  Runs first in main: unshare(CLONE_NEWNS) needs a process
 * without other threads, and namespaces are per thread until then. */
static void netns_enter(void)
{
    static char reason[256];
    g_auto(FerryFd) tun = -1;
    g_auto(FerryFd) sock = -1;
    char name[IFNAMSIZ] = BRIDGE;

    if (geteuid() != 0) {
        netns_skip = "not root: no network namespace of our own";
        return;
    }
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
        g_snprintf(reason, sizeof(reason), "unshare(CLONE_NEWNET | CLONE_NEWNS): %s",
                   g_strerror(errno));
        netns_skip = reason;
        return;
    }
    /* From here on the process is in the new namespaces, whatever else
     * fails: nothing below touches the host's network. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        g_snprintf(reason, sizeof(reason), "cannot mount a sysfs for the new namespace: %s",
                   g_strerror(errno));
        netns_skip = reason;
        return;
    }
    tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tun < 0) {
        g_snprintf(reason, sizeof(reason), "/dev/net/tun: %s", g_strerror(errno));
        netns_skip = reason;
        return;
    }
    sock = ioctl_socket();
    if (sock < 0 || !link_up(sock, "lo")) {
        g_snprintf(reason, sizeof(reason), "cannot bring lo up: %s", g_strerror(errno));
        netns_skip = reason;
        return;
    }
    if (ioctl(sock, SIOCBRADDBR, name) < 0 || !link_up(sock, BRIDGE)) {
        static char breason[256];

        g_snprintf(breason, sizeof(breason), "cannot create bridge '%s': %s", BRIDGE,
                   g_strerror(errno));
        bridge_skip = breason;
    }
}

/* The interfaces of the namespace other than lo and the test's bridge. */
static GPtrArray *extra_links(void)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    struct if_nameindex *list = if_nameindex();

    g_assert_nonnull(list);
    for (struct if_nameindex *p = list; p->if_index != 0; p++) {
        if (!g_str_equal(p->if_name, "lo") && !g_str_equal(p->if_name, BRIDGE))
            g_ptr_array_add(names, g_strdup(p->if_name));
    }
    if_freenameindex(list);
    return names;
}

static unsigned short link_flags(const char *name)
{
    g_auto(FerryFd) sock = ioctl_socket();
    struct ifreq ifr;

    g_assert_cmpint(sock, >=, 0);
    memset(&ifr, 0, sizeof(ifr));
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    g_assert_cmpint(ioctl(sock, SIOCGIFFLAGS, &ifr), ==, 0);
    return (unsigned short)ifr.ifr_flags;
}

static void link_mac(const char *name, unsigned char *mac)
{
    g_auto(FerryFd) sock = ioctl_socket();
    struct ifreq ifr;

    g_assert_cmpint(sock, >=, 0);
    memset(&ifr, 0, sizeof(ifr));
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    g_assert_cmpint(ioctl(sock, SIOCGIFHWADDR, &ifr), ==, 0);
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

/* The bridge a link is attached to (/sys/class/net/NAME/master), or NULL. */
static char *link_master(const char *name)
{
    g_autofree char *path = g_build_filename("/sys/class/net", name, "master", NULL);
    g_autofree char *target = g_file_read_link(path, NULL);

    return target ? g_path_get_basename(target) : NULL;
}

/* The tun flags of a tap, as sysfs shows them. */
static unsigned int tap_flags(const char *name)
{
    g_autofree char *path = g_build_filename("/sys/class/net", name, "tun_flags", NULL);
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return (unsigned int)g_ascii_strtoull(text, NULL, 16);
}

/* ---------------------------------------------------------------- helpers */

static char *guest_kernel_path(void)
{
    const char *top = g_getenv("FERRY_TOP_BUILDDIR");

    if (!top || !*top)
        top = FERRY_TOP_BUILDDIR;
    return g_build_filename(top, "tests", "guest", "ferry-guest", NULL);
}

static void rm_rf(const char *path)
{
    g_autoptr(GDir) dir = NULL;
    const char *entry;

    if (g_file_test(path, G_FILE_TEST_IS_SYMLINK) || !g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_unlink(path);
        return;
    }
    dir = g_dir_open(path, 0, NULL);
    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, entry, NULL);

        rm_rf(child);
    }
    g_rmdir(path);
}

static gboolean pid_exists(gint64 pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

/* QEMU's command line, spaces between the arguments. */
static char *process_cmdline(gint64 pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
    g_autofree char *text = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(path, &text, &len, NULL));
    for (gsize i = 0; i + 1 < len; i++) {
        if (text[i] == '\0')
            text[i] = ' ';
    }
    return g_steal_pointer(&text);
}

/* TRUE when one of pid's fds is open on path. */
static gboolean process_has_fd_on(gint64 pid, const char *path)
{
    g_autofree char *dirpath = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/fd", pid);
    g_autoptr(GDir) dir = g_dir_open(dirpath, 0, NULL);
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *link = g_build_filename(dirpath, entry, NULL);
        g_autofree char *target = g_file_read_link(link, NULL);

        if (target && g_str_equal(target, path))
            return TRUE;
    }
    return FALSE;
}

static const char domain_template_[] = "<domain type='%s'>\n"
                                       "  <name>%s</name>\n"
                                       "  <uuid>%s</uuid>\n"
                                       "  <memory unit='MiB'>64</memory>\n"
                                       "  <vcpu>1</vcpu>\n"
                                       "  <os>\n"
                                       "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                                       "    <kernel>%s</kernel>\n"
                                       "    <cmdline>mem=16 rate=100 seed=1</cmdline>\n"
                                       "  </os>\n"
                                       "  <devices>\n"
                                       "%s"
                                       "    <serial type='file'>\n"
                                       "      <source path='%s'/>\n"
                                       "    </serial>\n"
                                       "    <memballoon model='none'/>\n"
                                       "  </devices>\n"
                                       "</domain>\n";

static char *domain_xml_type(Fixture *fx, const char *type, const char *interfaces)
{
    return g_strdup_printf(domain_template_, type, "guest1", UUID_A, fx->kernel, interfaces,
                           fx->serial);
}

static char *domain_xml(Fixture *fx, const char *interfaces)
{
    return domain_xml_type(fx, "qemu", interfaces);
}

static QemuDriver *open_driver(Fixture *fx)
{
    g_autoptr(GError) err = NULL;
    QemuDriverConfig cfg = QEMU_DRIVER_CONFIG_INIT;
    static const unsigned char host_uuid[FERRY_UUID_BUFLEN] = { 0x11, 0x22, 0x33, 0x55 };
    QemuDriver *drv;

    cfg.root = fx->root;
    cfg.hostname = "testhost";
    cfg.host_uuid = host_uuid;
    cfg.caps_dir = caps_dir;
    cfg.kill_grace_ms = KILL_GRACE_MS;
    drv = qemu_driver_open(&cfg, &err);
    g_assert_no_error(err);
    g_assert_nonnull(drv);
    return drv;
}

/* A failed assertion aborts without running the teardown: kill the
 * case's QEMUs on the way out all the same. */
static void on_abort(int sig)
{
    if (current_root)
        test_kill_processes_naming(current_root);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* data: "bridge" when the case needs the bridge. */
static void fixture_setup(Fixture *fx, gconstpointer data)
{
    g_autofree char *qemu = g_find_program_in_path(QEMU_SYSTEM_X86_64);

    memset(fx, 0, sizeof(*fx));
    fx->skip = TRUE;
    fx->kernel = guest_kernel_path();
    if (netns_skip) {
        g_test_skip(netns_skip);
        return;
    }
    if (data && g_str_equal(data, "bridge") && bridge_skip) {
        g_test_skip(bridge_skip);
        return;
    }
    if (!qemu) {
        g_test_skip("qemu-system-x86_64 is not installed (" QEMU_SYSTEM_X86_64 ")");
        return;
    }
    if (!g_file_test(fx->kernel, G_FILE_TEST_IS_REGULAR)) {
        g_test_skip("the test guest is not built (run make first)");
        return;
    }
    fx->skip = FALSE;
    fx->root = g_dir_make_tmp("ferry-net-XXXXXX", NULL);
    g_assert_nonnull(fx->root);
    current_root = fx->root;
    fx->serial = g_build_filename(fx->root, "serial.log", NULL);
    fx->drv = open_driver(fx);
}

static void destroy_all(QemuDriver *drv)
{
    g_auto(GStrv) names = qemu_driver_list_names(drv, DOMAIN_LIST_ACTIVE);

    for (guint i = 0; names[i]; i++) {
        QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
        g_autoptr(GError) err = NULL;

        if (qemu_driver_lookup_by_name(drv, names[i], &ref, &err) &&
            !qemu_driver_domain_destroy(drv, ref.uuid, &err))
            g_printerr("# teardown: destroying '%s': %s\n", names[i], err->message);
        qemu_domain_ref_clear(&ref);
    }
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
    if (fx->drv) {
        destroy_all(fx->drv);
        qemu_driver_close(fx->drv);
    }
    if (fx->root) {
        guint left = test_kill_processes_naming(fx->root);
        g_autoptr(GPtrArray) links = NULL;

        rm_rf(fx->root);
        current_root = NULL;
        g_assert_cmpuint(left, ==, 0);
        /* with every QEMU gone, every tap is gone */
        links = extra_links();
        for (guint i = 0; i < links->len; i++)
            g_printerr("# teardown: interface '%s' was left\n", (char *)links->pdata[i]);
        g_assert_cmpuint(links->len, ==, 0);
    }
    g_free(fx->root);
    g_free(fx->kernel);
    g_free(fx->serial);
}

/* Waits until the guest's serial shows a status=ok line. */
static void serial_wait_ok(Fixture *fx)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)SAFETY_MS * 1000;

    for (;;) {
        g_autofree char *text = NULL;

        if (g_file_get_contents(fx->serial, &text, NULL, NULL)) {
            g_assert_null(strstr(text, "status=FAIL"));
            if (strstr(text, "status=ok\n"))
                return;
        }
        if (g_get_monotonic_time() > deadline)
            g_error("safety deadline: no status=ok line in the guest's serial (%s)", fx->serial);
        g_usleep(POLL_US);
    }
}

static void define(Fixture *fx, const char *xml, QemuDomainRef *ref)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(qemu_driver_define_xml(fx->drv, xml, ref, &err));
    g_assert_no_error(err);
}

static void start(Fixture *fx, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(qemu_driver_domain_create(fx->drv, uuid, 0, 0, &err));
    g_assert_no_error(err);
}

static void destroy(Fixture *fx, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(qemu_driver_domain_destroy(fx->drv, uuid, &err));
    g_assert_no_error(err);
}

static void check_shutoff(Fixture *fx, const unsigned char *uuid, const char *want_reason)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *reason = NULL;
    DomainState state = DOMAIN_STATE_NOSTATE;

    g_assert_true(qemu_driver_domain_get_state(fx->drv, uuid, &state, &reason, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(domain_state_to_string(state), ==,
                    domain_state_to_string(DOMAIN_STATE_SHUTOFF));
    g_assert_cmpstr(reason, ==, want_reason);
}

static gint64 domain_pid(Fixture *fx, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = domain_list_find_by_uuid(qemu_driver_get_domains(fx->drv),
                                                              uuid, DOMAIN_LOOKUP_LOCKED, &err);

    g_assert_no_error(err);
    g_assert_cmpint(obj->pid, >, 0);
    return obj->pid;
}

/* The tap names of the running definition, in interface order. */
static GStrv domain_taps(Fixture *fx, const unsigned char *uuid)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainObjLocked) obj = domain_list_find_by_uuid(qemu_driver_get_domains(fx->drv),
                                                              uuid, DOMAIN_LOOKUP_LOCKED, &err);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();

    g_assert_no_error(err);
    for (size_t i = 0; i < obj->def->nnets; i++) {
        g_assert_nonnull(obj->def->nets[i]->target_dev);
        g_strv_builder_add(b, obj->def->nets[i]->target_dev);
    }
    return g_strv_builder_end(b);
}

/* Nothing of a failed start is left: shut off, no QEMU, no tap. */
static void check_nothing_left(Fixture *fx, const unsigned char *uuid)
{
    g_autoptr(GArray) left = test_processes_naming(fx->root);
    g_autoptr(GPtrArray) links = extra_links();

    check_shutoff(fx, uuid, NULL);
    g_assert_cmpuint(left->len, ==, 0);
    for (guint i = 0; i < links->len; i++)
        g_test_message("interface left: %s", (char *)links->pdata[i]);
    g_assert_cmpuint(links->len, ==, 0);
}

/* ---------------------------------------------------------------- unit cases */

static void test_host_mac(void)
{
    static const unsigned char guest[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
    static const unsigned char want[6] = { 0xfe, 0x54, 0x00, 0xab, 0xcd, 0xef };
    static const unsigned char guest2[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
    static const unsigned char want2[6] = { 0xfe, 0x00, 0x00, 0x00, 0x00, 0x01 };
    unsigned char host[6];
    unsigned char inplace[6];

    qemu_interface_host_mac(guest, host);
    g_assert_cmpmem(host, 6, want, 6);
    qemu_interface_host_mac(guest2, host);
    g_assert_cmpmem(host, 6, want2, 6);
    /* the guest's MAC is left alone; the host's may be the same buffer */
    g_assert_cmpuint(guest[0], ==, 0x52);
    memcpy(inplace, guest, 6);
    qemu_interface_host_mac(inplace, inplace);
    g_assert_cmpmem(inplace, 6, want, 6);
}

static void test_names(void)
{
    static const struct {
        const char *name;
        gboolean ok;
    } cases[] = {
        { "tap0", TRUE },
        { "fy-tap_1.x", TRUE },
        { "abcdefghijklmno", TRUE }, /* 15 bytes */
        { "abcdefghijklmnop", FALSE }, /* 16 */
        { "", FALSE },
        { ".", FALSE },
        { "..", FALSE },
        { "...", TRUE },
        { "a/b", FALSE },
        { "a:1", FALSE },
        { "tap%d", FALSE }, /* the kernel would take it as a template */
        { "a b", FALSE },
    };
    DomainNetDef net = { .type = DOMAIN_NET_TYPE_ETHERNET, .info.alias = (char *)"net0" };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        gboolean ok = qemu_interface_check_name("guest1", &net, cases[i].name, &err);

        g_test_message("'%s': %s", cases[i].name, err ? err->message : "ok");
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (!ok) {
            g_assert_true(ferry_error_is(err, FERRY_ERR_INVALID_ARG));
            g_assert_nonnull(strstr(err->message, "interface 'net0'"));
            g_assert_nonnull(strstr(err->message, "domain 'guest1'"));
        }
    }
}

/* ---------------------------------------------------------------- running */

#define NET_ETHERNET_NAMED \
    "    <interface type='ethernet'>\n" \
    "      <mac address='52:54:00:12:34:01'/>\n" \
    "      <target dev='fytap0'/>\n" \
    "      <model type='e1000'/>\n" \
    "    </interface>\n"
#define NET_BRIDGE \
    "    <interface type='bridge'>\n" \
    "      <mac address='52:54:00:12:34:02'/>\n" \
    "      <source bridge='" BRIDGE "'/>\n" \
    "      <model type='virtio'/>\n" \
    "    </interface>\n"
#define NET_ETHERNET_AUTO \
    "    <interface type='ethernet'>\n" \
    "      <mac address='52:54:00:12:34:03'/>\n" \
    "    </interface>\n"

/* A guest with three interfaces: a named ethernet tap, a tap on the
 * bridge, a tap the kernel names; each up with the host MAC, attached
 * where it belongs, gone after destroy. */
static void test_start_destroy(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *live = NULL;
    g_autofree char *inactive = NULL;
    g_autofree char *cmdline = NULL;
    g_auto(GStrv) taps = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    static const unsigned char mac0[6] = { 0xfe, 0x54, 0x00, 0x12, 0x34, 0x01 };
    static const unsigned char mac1[6] = { 0xfe, 0x54, 0x00, 0x12, 0x34, 0x02 };
    unsigned char mac[6];
    gint64 pid;

    if (fx->skip)
        return;
    xml = domain_xml(fx, NET_ETHERNET_NAMED NET_BRIDGE NET_ETHERNET_AUTO);
    define(fx, xml, &ref);
    start(fx, ref.uuid);
    pid = domain_pid(fx, ref.uuid);
    serial_wait_ok(fx);

    taps = domain_taps(fx, ref.uuid);
    g_assert_cmpuint(g_strv_length(taps), ==, 3);
    g_test_message("taps: %s %s %s", taps[0], taps[1], taps[2]);

    /* net0: the name asked for, up, host MAC, on no bridge, no vnet header */
    g_assert_cmpstr(taps[0], ==, "fytap0");
    g_assert_cmpuint(if_nametoindex("fytap0"), !=, 0);
    g_assert_true(link_flags("fytap0") & IFF_UP);
    link_mac("fytap0", mac);
    g_assert_cmpmem(mac, 6, mac0, 6);
    g_assert_null(link_master("fytap0"));
    g_assert_false(tap_flags("fytap0") & IFF_VNET_HDR);
    g_assert_true(tap_flags("fytap0") & IFF_TAP);
    g_assert_true(tap_flags("fytap0") & IFF_NO_PI);

    /* net1: a kernel-chosen name (type='bridge' never keeps a target dev
     * from the inactive XML), on the bridge, virtio: vnet header */
    g_assert_true(g_str_has_prefix(taps[1], "vnet"));
    g_assert_cmpuint(if_nametoindex(taps[1]), !=, 0);
    g_assert_true(link_flags(taps[1]) & IFF_UP);
    link_mac(taps[1], mac);
    g_assert_cmpmem(mac, 6, mac1, 6);
    {
        g_autofree char *master = link_master(taps[1]);

        g_assert_cmpstr(master, ==, BRIDGE);
    }
    g_assert_true(tap_flags(taps[1]) & IFF_VNET_HDR);

    /* net2: no target dev: the kernel's vnetN, written into the live XML */
    g_assert_true(g_str_has_prefix(taps[2], "vnet"));
    g_assert_cmpstr(taps[2], !=, taps[1]);
    g_assert_cmpuint(if_nametoindex(taps[2]), !=, 0);
    g_assert_true(link_flags(taps[2]) & IFF_UP);
    g_assert_null(link_master(taps[2]));

    live = qemu_driver_domain_get_xml(fx->drv, ref.uuid, 0, &err);
    g_assert_no_error(err);
    for (guint i = 0; i < 3; i++) {
        g_autofree char *want = g_strdup_printf("<target dev=\"%s\"/>", taps[i]);

        g_assert_nonnull(strstr(live, want));
    }
    inactive = qemu_driver_domain_get_xml(fx->drv, ref.uuid, QEMU_DRIVER_XML_INACTIVE, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(inactive, "<target dev=\"fytap0\"/>"));
    g_assert_null(strstr(inactive, "vnet"));

    /* QEMU got the taps as fds, no vhost under tcg */
    cmdline = process_cmdline(pid);
    g_assert_nonnull(strstr(cmdline, "-netdev tap,fd="));
    g_assert_null(strstr(cmdline, "vhost"));
    /* ferryd keeps no tap fd: QEMU's are the only ones */
    g_assert_false(process_has_fd_on(getpid(), "/dev/net/tun"));
    g_assert_true(process_has_fd_on(pid, "/dev/net/tun"));

    destroy(fx, ref.uuid);
    check_shutoff(fx, ref.uuid, "destroyed");
    g_assert_false(pid_exists(pid));
    for (guint i = 0; i < 3; i++)
        g_assert_cmpuint(if_nametoindex(taps[i]), ==, 0);
    {
        g_autoptr(GPtrArray) links = extra_links();

        g_assert_cmpuint(links->len, ==, 0);
    }

    /* and again: the same names are free */
    start(fx, ref.uuid);
    serial_wait_ok(fx);
    g_assert_cmpuint(if_nametoindex("fytap0"), !=, 0);
    destroy(fx, ref.uuid);
    g_assert_cmpuint(if_nametoindex("fytap0"), ==, 0);
    qemu_domain_ref_clear(&ref);
}

/* The destination side of a migration opens its taps the same way. */
static void test_start_incoming(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = domain_xml(fx, NET_ETHERNET_NAMED);
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    gint64 pid;

    if (fx->skip)
        return;
    define(fx, xml, &ref);
    {
        g_autoptr(DomainObjLocked) obj = domain_list_find_by_uuid(
            qemu_driver_get_domains(fx->drv), ref.uuid, DOMAIN_LOOKUP_LOCKED, &err);

        g_assert_no_error(err);
        g_assert_true(domain_job_begin(obj, DOMAIN_JOB_MODIFY, "test", &err));
        g_assert_true(qemu_process_start_incoming(fx->drv, obj, "defer", 0, 0, &err));
        g_assert_no_error(err);
        domain_job_end(obj);
    }
    pid = domain_pid(fx, ref.uuid);
    g_assert_cmpuint(if_nametoindex("fytap0"), !=, 0);
    g_assert_true(link_flags("fytap0") & IFF_UP);
    destroy(fx, ref.uuid);
    g_assert_false(pid_exists(pid));
    g_assert_cmpuint(if_nametoindex("fytap0"), ==, 0);
    qemu_domain_ref_clear(&ref);
}

/* vhost-net for a virtio interface under kvm, when the host has both. */
static void test_vhost(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *cmdline = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    g_auto(FerryFd) kvm = -1;
    g_auto(FerryFd) vhost = -1;
    gint64 pid;

    if (fx->skip)
        return;
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        g_autofree char *why = g_strdup_printf("/dev/kvm: %s", g_strerror(errno));

        g_test_skip(why);
        return;
    }
    vhost = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    if (vhost < 0) {
        g_autofree char *why = g_strdup_printf("/dev/vhost-net: %s", g_strerror(errno));

        g_test_skip(why);
        return;
    }
    ferry_fd_close(&vhost);
    xml = domain_xml_type(fx, "kvm",
                          "    <interface type='ethernet'>\n"
                          "      <target dev='fytap1'/>\n"
                          "      <model type='virtio'/>\n"
                          "    </interface>\n");
    define(fx, xml, &ref);
    start(fx, ref.uuid);
    pid = domain_pid(fx, ref.uuid);
    serial_wait_ok(fx);
    cmdline = process_cmdline(pid);
    g_test_message("%s", cmdline);
    if (!strstr(cmdline, "-accel kvm")) {
        destroy(fx, ref.uuid);
        qemu_domain_ref_clear(&ref);
        g_test_skip("the driver found KVM unusable with this QEMU: ran under tcg");
        return;
    }
    g_assert_nonnull(strstr(cmdline, "vhost=on,vhostfd="));
    g_assert_true(process_has_fd_on(pid, "/dev/vhost-net"));
    g_assert_true(tap_flags("fytap1") & IFF_VNET_HDR);
    destroy(fx, ref.uuid);
    g_assert_cmpuint(if_nametoindex("fytap1"), ==, 0);
    qemu_domain_ref_clear(&ref);
}

/* ---------------------------------------------------------------- failures */

/* Starts the defined domain and expects it to fail with code and a
 * message holding each of the NULL-terminated strings. */
static void start_fails(Fixture *fx, const unsigned char *uuid, FerryErrorCode code, ...)
{
    g_autoptr(GError) err = NULL;
    va_list ap;
    const char *want;

    g_assert_false(qemu_driver_domain_create(fx->drv, uuid, 0, 0, &err));
    g_assert_nonnull(err);
    g_test_message("start failure: %s", err->message);
    g_assert_cmpstr(ferry_error_code_name(ferry_error_code_of(err)), ==,
                    ferry_error_code_name(code));
    va_start(ap, code);
    while ((want = va_arg(ap, const char *)))
        g_assert_nonnull(strstr(err->message, want));
    va_end(ap);
    check_nothing_left(fx, uuid);
}

/* A missing bridge: named in the error; the tap opened before it (net0)
 * is gone again. */
static void test_missing_bridge(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = NULL;
    g_autofree char *inactive = NULL;
    g_autoptr(GError) err = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    xml = domain_xml(fx, NET_ETHERNET_NAMED "    <interface type='bridge'>\n"
                                            "      <source bridge='fynobr9'/>\n"
                                            "    </interface>\n");
    define(fx, xml, &ref);
    start_fails(fx, ref.uuid, FERRY_ERR_OPERATION_FAILED, "domain 'guest1'", "interface 'net1'",
                "bridge 'fynobr9' does not exist", NULL);
    g_assert_cmpuint(if_nametoindex("fytap0"), ==, 0);
    /* no chosen name stuck in the definition */
    inactive = qemu_driver_domain_get_xml(fx->drv, ref.uuid, 0, &err);
    g_assert_no_error(err);
    g_assert_null(strstr(inactive, "vnet"));
    /* twice: nothing of the first attempt is in the way */
    start_fails(fx, ref.uuid, FERRY_ERR_OPERATION_FAILED, "bridge 'fynobr9' does not exist", NULL);
    qemu_domain_ref_clear(&ref);
}

/* An overlong target dev.  The XML parser refuses one already, so the
 * definition is changed in memory to reach the driver's own check (a
 * definition from elsewhere, an older status file, say). */
static void test_overlong_name(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = NULL;
    g_autoptr(GError) err = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    xml = domain_xml(fx, NET_ETHERNET_AUTO);
    define(fx, xml, &ref);
    {
        g_autoptr(DomainObjLocked) obj = domain_list_find_by_uuid(
            qemu_driver_get_domains(fx->drv), ref.uuid, DOMAIN_LOOKUP_LOCKED, &err);

        g_assert_no_error(err);
        g_free(obj->def->nets[0]->target_dev);
        obj->def->nets[0]->target_dev = g_strdup("fy-far-too-long-tap");
    }
    start_fails(fx, ref.uuid, FERRY_ERR_INVALID_ARG, "interface 'net0'",
                "target dev 'fy-far-too-long-tap' is not a valid interface name", NULL);
    g_assert_cmpuint(if_nametoindex("fy-far-too-long"), ==, 0);
    qemu_domain_ref_clear(&ref);
}

/* "." passes the XML's character check but is no interface name. */
static void test_dot_name(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    xml = domain_xml(fx, "    <interface type='ethernet'><target dev='.'/></interface>\n");
    define(fx, xml, &ref);
    start_fails(fx, ref.uuid, FERRY_ERR_INVALID_ARG, "interface 'net0'",
                "target dev '.' is not a valid interface name", NULL);
    qemu_domain_ref_clear(&ref);
}

/* type='network' is refused before anything is opened, even after an
 * interface that could be. */
static void test_network_refused(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;

    if (fx->skip)
        return;
    xml = domain_xml(fx, NET_ETHERNET_NAMED "    <interface type='network'>\n"
                                            "      <source network='default'/>\n"
                                            "      <model type='virtio'/>\n"
                                            "    </interface>\n");
    define(fx, xml, &ref);
    start_fails(fx, ref.uuid, FERRY_ERR_NO_SUPPORT,
                "interface 'net1': libvirt virtual networks (type='network') are not supported "
                "by ferry; use type='bridge' with the network's bridge",
                NULL);
    qemu_domain_ref_clear(&ref);
}

/* A tap name already taken by a running domain's tap: busy, and the
 * first domain's tap is untouched. */
static void test_name_busy(Fixture *fx, gconstpointer data)
{
    g_autofree char *xml = NULL;
    g_autofree char *xml2 = NULL;
    QemuDomainRef ref = QEMU_DOMAIN_REF_INIT;
    QemuDomainRef ref2 = QEMU_DOMAIN_REF_INIT;
    g_autoptr(GError) err = NULL;

    if (fx->skip)
        return;
    xml = domain_xml(fx, NET_ETHERNET_NAMED);
    define(fx, xml, &ref);
    start(fx, ref.uuid);
    {
        g_autofree char *serial2 = g_build_filename(fx->root, "serial2.log", NULL);

        xml2 = g_strdup_printf(domain_template_, "qemu", "guest2",
                               "7c8d1f3b-2a4e-4d6f-9bac-1d2e3f4a5b02", fx->kernel,
                               NET_ETHERNET_NAMED, serial2);
    }
    g_assert_true(qemu_driver_define_xml(fx->drv, xml2, &ref2, &err));
    g_assert_no_error(err);
    g_assert_false(qemu_driver_domain_create(fx->drv, ref2.uuid, 0, 0, &err));
    g_test_message("start failure: %s", err->message);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OPERATION_FAILED));
    g_assert_nonnull(strstr(err->message, "domain 'guest2'"));
    g_assert_nonnull(strstr(err->message, "tap 'fytap0' is busy"));
    check_shutoff(fx, ref2.uuid, NULL);
    g_assert_cmpuint(if_nametoindex("fytap0"), !=, 0);
    g_assert_true(link_flags("fytap0") & IFF_UP);
    destroy(fx, ref.uuid);
    g_assert_cmpuint(if_nametoindex("fytap0"), ==, 0);
    qemu_domain_ref_clear(&ref);
    qemu_domain_ref_clear(&ref2);
}

int main(int argc, char **argv)
{
    int rc;

    /* first: before any thread exists */
    netns_enter();
    g_test_init(&argc, &argv, NULL);
    ferry_log_init_from_env(NULL);
    if (netns_skip)
        g_test_message("namespace cases skipped: %s", netns_skip);
    caps_dir = g_dir_make_tmp("ferry-net-caps-XXXXXX", NULL);
    domain_job_set_wait_timeout(SAFETY_MS);
    signal(SIGABRT, on_abort);
    signal(SIGTRAP, on_abort); /* g_error() */

    g_test_add_func("/qemu-interface/host-mac", test_host_mac);
    g_test_add_func("/qemu-interface/names", test_names);
#define ADD(name, fn, needs) \
    g_test_add("/qemu-interface/" name, Fixture, needs, fixture_setup, fn, fixture_teardown)
    ADD("start-destroy", test_start_destroy, "bridge");
    ADD("start-incoming", test_start_incoming, NULL);
    ADD("vhost", test_vhost, NULL);
    ADD("missing-bridge", test_missing_bridge, NULL);
    ADD("overlong-name", test_overlong_name, NULL);
    ADD("dot-name", test_dot_name, NULL);
    ADD("network-refused", test_network_refused, NULL);
    ADD("name-busy", test_name_busy, NULL);
#undef ADD
    rc = g_test_run();
    if (caps_dir)
        rm_rf(caps_dir);
    g_free(caps_dir);
    return rc;
}
