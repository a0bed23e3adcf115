/*
 * test-domain.c: domain XML, data-driven.
 *
 * tests/data/domain/NAME.xml is an input; NAME.out.xml is what formatting
 * it must give, or NAME.err a substring of the error parsing it must give.
 * Inputs called status-*.xml are <domstatus> documents.  Every valid input
 * must format canonically (format, parse, format again: the same text), in
 * the normal and the migratable form, and every formatted <domain> must
 * validate against libvirt's own domain.rng (xmllint --relaxng).
 *
 * FERRY_TEST_REGENERATE=1 rewrites the .out.xml files in the source tree.
 * tests/data/domain/abi/NAME.src.xml and NAME.dst.xml are pairs for the
 * ABI stability check: NAME.err holds the expected refusal, or there is no
 * .err and the pair must pass.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_XML
#define FERRY_LOG_MODULE "tests.domain"

#include "conf/domain_conf.h"
#include "conf/xmlutil.h"
#include "util/error.h"
#include "util/log.h"
#include "testutils.h"

#define SCHEMA "/usr/share/libvirt/schemas/domain.rng"

static guint n_formatted;
static guint n_validated;
static char *validate_skip; /* why validation cannot run, or NULL */

/* ---------------------------------------------------------------- helpers */

/* Deterministic "randomness": a counter, fresh for every parse. */
static int test_random_bytes(void *buf, size_t len, gpointer opaque, GError **error)
{
    guint8 *next = opaque;
    guint8 *out = buf;

    for (size_t i = 0; i < len; i++)
        out[i] = (*next)++;
    return 0;
}

typedef struct {
    guint8 next;
    DomainParseHooks hooks;
} TestRandom;

static const DomainParseHooks *test_hooks(TestRandom *rnd)
{
    rnd->next = 0x10;
    rnd->hooks.random_bytes = test_random_bytes;
    rnd->hooks.opaque = &rnd->next;
    return &rnd->hooks;
}

static DomainDef *parse(const char *xml, unsigned int flags, GError **error)
{
    TestRandom rnd;

    return domain_def_parse_full(xml, flags, test_hooks(&rnd), error);
}

static char *read_data(const char *name)
{
    return test_data_read_required("domain", name);
}

/* Runs xmllint --relaxng on text; counts it.  Never through a shell. */
static void validate(const char *what, const char *text)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    int status = 0;

    n_formatted++;
    if (validate_skip)
        return;
    int fd = g_file_open_tmp("ferry-domain-XXXXXX.xml", &path, &err);
    g_assert_no_error(err);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, &err));
    const char *argv[] = { "xmllint", "--noout", "--relaxng", SCHEMA, path, NULL };
    gboolean ran = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                                &errout, &status, &err);
    unlink(path);
    g_assert_no_error(err);
    g_assert_true(ran);
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_test_message("%s does not validate against domain.rng:\n%s\n%s", what, text, errout);
        g_test_fail_printf("%s: xmllint --relaxng %s failed", what, SCHEMA);
        return;
    }
    n_validated++;
}

/* format -> parse -> format gives the same text. */
static void check_canonical(const char *what, const char *formatted, unsigned int flags)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) again = parse(formatted, 0, &err);

    if (!again) {
        g_test_message("%s: the formatted text does not parse: %s\n%s", what, err->message,
                       formatted);
        g_test_fail_printf("%s: formatted output does not parse again", what);
        return;
    }
    g_autofree char *twice = domain_def_format(again, flags, &err);
    g_assert_no_error(err);
    test_compare_text(what, formatted, twice);
}

/* ---------------------------------------------------------------- data files */

static void check_def_forms(const char *name, const DomainDef *def)
{
    g_autoptr(GError) err = NULL;

    /* A copy formats the same, and owns everything (ASan sees any sharing
     * when the copy is freed before the original). */
    {
        g_autoptr(DomainDef) copy = domain_def_copy(def);
        g_autofree char *a = domain_def_format(def, DOMAIN_FORMAT_SECURE, &err);
        g_autofree char *b = domain_def_format(copy, DOMAIN_FORMAT_SECURE, &err);

        g_assert_no_error(err);
        test_compare_text("copy", a, b);
    }
    static const struct {
        const char *form;
        unsigned int flags;
    } forms[] = {
        { "normal", 0 },
        { "migratable", DOMAIN_FORMAT_MIGRATABLE },
        { "secure", DOMAIN_FORMAT_SECURE },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
        g_autofree char *what = g_strdup_printf("%s (%s form)", name, forms[i].form);
        g_autofree char *text = domain_def_format(def, forms[i].flags, &err);

        g_assert_no_error(err);
        check_canonical(what, text, forms[i].flags);
        if (forms[i].flags != DOMAIN_FORMAT_SECURE)
            validate(what, text);
    }
}

static void test_data_file(gconstpointer data)
{
    const char *name = data;
    g_autofree char *in_name = g_strdup_printf("%s.xml", name);
    g_autofree char *out_name = g_strdup_printf("%s.out.xml", name);
    g_autofree char *expected = test_data_expected_error("domain", name);
    g_autofree char *xml = read_data(in_name);
    gboolean status = g_str_has_prefix(name, "status-");
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = NULL;
    g_autoptr(DomainStatus) st = NULL;
    TestRandom rnd;

    if (status)
        st = domain_status_parse(xml, test_hooks(&rnd), &err);
    else
        def = domain_def_parse_full(xml, 0, test_hooks(&rnd), &err);

    if (expected) {
        /* domain XML errors all come from the XML subsystem */
        if (test_check_error_contains(name, err, expected))
            g_assert_true(ferry_error_domain_of(err) == FERRY_FROM_XML);
        return;
    }
    if (err) {
        g_test_fail_printf("%s: %s", name, err->message);
        return;
    }

    if (status) {
        g_autofree char *text = domain_status_format(st, &err);
        g_assert_no_error(err);
        test_compare_golden("domain", out_name, text);

        g_autoptr(DomainStatus) again = domain_status_parse(text, NULL, &err);
        g_assert_no_error(err);
        g_autofree char *twice = domain_status_format(again, &err);
        g_assert_no_error(err);
        test_compare_text(name, text, twice);
        check_def_forms(name, st->def);
        return;
    }
    g_autofree char *text = domain_def_format(def, 0, &err);
    g_assert_no_error(err);
    test_compare_golden("domain", out_name, text);
    check_def_forms(name, def);
}

static void test_validated_all(void)
{
    if (validate_skip) {
        g_test_skip(validate_skip);
        return;
    }
    if (n_formatted == 0) {
        g_test_skip("no domain XML was formatted in this run (run the whole program)");
        return;
    }
    g_test_message("validated %u of %u formatted domain XML outputs against domain.rng",
                   n_validated, n_formatted);
    g_assert_cmpuint(n_validated, ==, n_formatted);
}

/* libvirt's own parser (virsh on the in-process test:///default driver)
 * accepts every expected output: the real thing, beyond the schema. */
static void test_libvirt_accepts(void)
{
    g_autofree char *virsh = g_find_program_in_path("virsh");
    g_autoptr(GError) err = NULL;
    guint defined = 0;

    if (!virsh) {
        g_test_skip("virsh is not installed (Debian: libvirt-clients)");
        return;
    }
    g_autoptr(GPtrArray) names = test_data_list("domain", ".out.xml");
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        if (g_str_has_prefix(name, "status-"))
            continue;
        g_autofree char *entry = g_strdup_printf("%s.out.xml", name);
        g_autofree char *path = test_data_path("domain", entry);
        g_autofree char *errout = NULL;
        int status = 0;
        const char *argv[] = { virsh, "-q", "-c", "test:///default", "define", path, NULL };

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                                   NULL, NULL, &errout, &status, &err));
        g_assert_no_error(err);
        if (!g_spawn_check_wait_status(status, NULL))
            g_test_fail_printf("libvirt refuses %s: %s", entry, errout);
        else
            defined++;
    }
    g_test_message("libvirt's parser accepted %u formatted domain XML files", defined);
    g_assert_cmpuint(defined, >, 0);
}

/* ---------------------------------------------------------------- ABI */

static void check_abi(const char *what, const char *src_xml, const char *dst_xml,
                      const char *expected)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) src = parse(src_xml, 0, &err);
    g_assert_no_error(err);
    g_autoptr(DomainDef) dst = parse(dst_xml, 0, &err);
    if (!dst && expected && strstr(err->message, expected))
        return; /* the change is not even a valid definition */
    g_assert_no_error(err);
    gboolean ok = domain_def_check_abi_stability(src, dst, &err);

    if (!expected) {
        if (!ok)
            g_test_fail_printf("ABI %s: refused: %s", what, err->message);
        return;
    }
    if (ok)
        g_test_fail_printf("ABI %s: accepted, expected '%s'", what, expected);
    else if (!strstr(err->message, expected))
        g_test_fail_printf("ABI %s: error '%s' lacks '%s'", what, err->message, expected);
}

static char *replace(const char *text, const char *from, const char *to)
{
    g_assert_nonnull(strstr(text, from));
    g_auto(GStrv) parts = g_strsplit(text, from, 2);
    return g_strjoinv(to, parts);
}

typedef struct {
    const char *from, *to;
    const char *error; /* NULL: must pass */
} AbiCase;

static void test_abi_changes(void)
{
    static const AbiCase cases[] = {
        /* What the guest sees. */
        { "<vcpu placement='static' current='2'>4</vcpu>",
          "<vcpu placement='static' current='2'>8</vcpu>",
          "domain XML: <cpu><topology> gives 4 vcpus, <vcpu> 8" },
        { "<vcpu placement='static' current='2'>", "<vcpu placement='static' current='1'>",
          "target domain current vcpu count 1 does not match source 2" },
        { "<memory unit='GiB'>4</memory>", "<memory unit='GiB'>8</memory>",
          "target domain memory size (KiB) 8388608 does not match source 4194304" },
        { "machine='pc-i440fx-7.2'", "machine='pc-q35-7.2'",
          "target domain machine type 'pc-q35-7.2' does not match source 'pc-i440fx-7.2'" },
        { "<domain type='kvm'", "<domain type='qemu'",
          "target domain type 'qemu' does not match source 'kvm'" },
        { "Skylake-Client", "Haswell",
          "target domain cpu model 'Haswell' does not match source 'Skylake-Client'" },
        { "<feature policy='require' name='vmx'/>", "<feature policy='disable' name='vmx'/>",
          "target domain cpu feature disable='vmx' does not match source require='vmx'" },
        { "<cpu mode='custom' match='exact' check='partial'>\n    <model fallback='allow'>"
          "Skylake-Client</model>",
          "<cpu mode='host-model' check='partial'>\n    <model fallback='allow'>"
          "Skylake-Client</model>",
          "target domain cpu mode 'host-model' does not match source 'custom'" },
        { "<mac address='52:54:00:aa:bb:01'/>", "<mac address='52:54:00:aa:bb:09'/>",
          "target domain interface MAC address 52:54:00:aa:bb:09 does not match source "
          "52:54:00:aa:bb:01" },
        { "<model type='e1000'/>", "<model type='rtl8139'/>",
          "target domain interface model 'rtl8139' does not match source 'e1000'" },
        { "<target dev='vda' bus='virtio'/>", "<target dev='vdb' bus='virtio'/>",
          "target domain disk target 'vdb' does not match source 'vda'" },
        { "<target dev='hdc' bus='ide'/>", "<target dev='hdc' bus='sata'/>",
          "target domain disk bus 'sata' does not match source 'ide'" },
        { "<shareable/>", "<shareable/><readonly/>",
          "target domain disk 'sda' is read-only, source not read-only" },
        { "slot='0x04'", "slot='0x07'",
          "target domain disk 'virtio-disk0' address pci 0000:00:07.0 does not match source "
          "pci 0000:00:04.0" },
        { "<model type='qxl' ram='65536' vram='65536'",
          "<model type='qxl' ram='65536' vram='32768'",
          "target domain video vram 32768 does not match source 65536" },
        { "<memballoon model='virtio'>", "<memballoon model='virtio'><alias name='ua-b'/>",
          "target domain memballoon alias 'ua-b' does not match source 'balloon0'" },
        { "<serial type='pty'>", "<serial type='pty'><alias name='ua-serial'/>",
          "target domain serial alias 'ua-serial' does not match source 'serial0'" },
        { "    <interface type='ethernet'>\n      <mac address='52:54:00:aa:bb:03'/>\n"
          "      <target dev='tap-web1'/>\n      <model type='virtio'/>\n    </interface>\n",
          "", "target domain interface count 2 does not match source 3" },
        { "<acpi/>", "", "target domain <features> do not match the source's" },
        { "<suspend-to-mem enabled='no'/>", "",
          "target domain suspend-to-mem 'absent' does not match source 'off'" },
        { "<timer name='hpet' present='no'/>", "<timer name='hpet' present='yes'/>",
          "target domain timer 'hpet' does not match source 'hpet'" },
        { "8f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", "8f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f1",
          "target domain uuid 8f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f1 does not match source "
          "8f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0" },
        /* What it does not. */
        { "/var/lib/ferry/images/web1.qcow2", "/srv/images/web1.qcow2", NULL },
        { "/dev/vg0/web1-data", "/dev/mapper/other", NULL },
        { "listen='127.0.0.1'>\n      <listen type='address' address='127.0.0.1'/>",
          "listen='0.0.0.0'>\n      <listen type='address' address='0.0.0.0'/>", NULL },
        { "port='-1' autoport='yes'", "port='5990' autoport='no' passwd='x'", NULL },
        { "<title>Web server one</title>", "<title>Renamed</title>", NULL },
        { "<description>Front end.", "<description>Something else.", NULL },
        { "<app:owner>ops</app:owner>", "<app:owner>dev</app:owner>", NULL },
        { "<on_crash>coredump-restart</on_crash>", "<on_crash>destroy</on_crash>", NULL },
        { "<name>web1</name>", "<name>web1-migrated</name>", NULL },
        { "<source network='default'/>", "<source network='other'/>", NULL },
        { "<currentMemory unit='MiB'>3072</currentMemory>",
          "<currentMemory unit='MiB'>2048</currentMemory>", NULL },
        { "cache='none'", "cache='writeback'", NULL },
        { "<shareable/>", "", NULL },
    };
    g_autofree char *base = read_data("full.xml");

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *changed = replace(base, cases[i].from, cases[i].to);
        g_autofree char *what = g_strdup_printf("case %zu ('%s')", i, cases[i].to);

        check_abi(what, base, changed, cases[i].error);
    }
    /* A definition is ABI-stable against itself and against its migratable form. */
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = parse(base, 0, &err);
    g_assert_no_error(err);
    g_autofree char *mig = domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_assert_no_error(err);
    check_abi("migratable form", base, mig, NULL);
}

/* The devices libvirt tools add to every guest, on a typical q35 guest. */
static void test_abi_devices(void)
{
    static const AbiCase cases[] = {
        { "<target chassis='3' port='0x12'/>", "<target chassis='3' port='0x1a'/>",
          "target domain controller type='pci' index='3' port 26 does not match source 18" },
        { "<target chassis='3' port='0x12'/>", "<target chassis='9' port='0x12'/>",
          "target domain controller type='pci' index='3' chassis 9 does not match source 3" },
        { "<model name='pcie-root-port'/>\n      <target chassis='4'",
          "<model name='ioh3420'/>\n      <target chassis='4'",
          "target domain controller type='pci' index='4' model name 'ioh3420' does not match "
          "source 'pcie-root-port'" },
        { "model='qemu-xhci' ports='15'", "model='nec-xhci' ports='15'",
          "target domain controller type='usb' index='0' model 'nec-xhci' does not match source "
          "'qemu-xhci'" },
        { "model='qemu-xhci' ports='15'", "model='qemu-xhci' ports='8'",
          "target domain controller type='usb' index='0' ports 8 does not match source 15" },
        { "    <controller type='pci' index='8' model='pcie-root-port'>\n"
          "      <model name='pcie-root-port'/>\n"
          "      <target chassis='8' port='0x17'/>\n"
          "      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x7'/>\n"
          "    </controller>\n",
          "", "target domain controller count 11 does not match source 12" },
        { "<controller type='sata' index='0'>",
          "<controller type='sata' index='0'>\n      <alias name='ua-sata'/>",
          "target domain controller alias 'ua-sata' does not match source 'ide'" },
        { "<input type='keyboard' bus='ps2'/>", "<input type='keyboard' bus='virtio'/>",
          "target domain input bus 'virtio' does not match source 'ps2'" },
        { "<input type='mouse' bus='ps2'/>", "",
          "target domain input count 2 does not match source 3" },
        { "name='org.qemu.guest_agent.0'", "name='org.qemu.guest_agent.1'",
          "target domain channel target name 'org.qemu.guest_agent.1' does not match source "
          "'org.qemu.guest_agent.0'" },
        { "bus='0' port='2'/>\n    </channel>", "bus='0' port='3'/>\n    </channel>",
          "target domain channel 'channel1' address virtio-serial 0:0:3 does not match source "
          "virtio-serial 0:0:2" },
        { "<sound model='ich9'>", "<sound model='ich6'>",
          "target domain sound model 'ich6' does not match source 'ich9'" },
        { "<address type='usb' bus='0' port='3'/>", "<address type='usb' bus='0' port='4'/>",
          "target domain redirdev 'redir1' address usb 0:4 does not match source usb 0:3" },
        { "bus='0x06' slot='0x00'", "bus='0x07' slot='0x00'",
          "target domain rng 'rng0' address pci 0000:07:00.0 does not match source pci "
          "0000:06:00.0" },
        /* What the guest does not see. */
        { "<backend model='random'>/dev/urandom</backend>",
          "<backend model='random'>/dev/random</backend>", NULL },
        { "<audio id='1' type='spice'/>", "<audio id='1' type='none'/>", NULL },
        { "<source mode='bind'/>", "<source mode='bind' path='/run/ferry/agent.sock'/>", NULL },
        { "<image compression='off'/>", "<image compression='auto_glz'/>", NULL },
        { "</devices>", "</devices>\n  <resource><partition>/machine</partition></resource>",
          NULL },
        { "discard='unmap'", "", NULL },
    };
    g_autofree char *base = read_data("virt-install-q35.xml");

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *changed = replace(base, cases[i].from, cases[i].to);
        g_autofree char *what = g_strdup_printf("q35 case %zu ('%s')", i, cases[i].to);

        check_abi(what, base, changed, cases[i].error);
    }

    /* A live definition is ABI-stable against its migratable form and
     * against what parsing it as inactive gives. */
    g_autoptr(GError) err = NULL;
    g_autofree char *live = read_data("virsh-dumpxml-live-seclabels-removed.xml");
    g_autoptr(DomainDef) def = parse(live, 0, &err);
    g_assert_no_error(err);
    g_autofree char *mig = domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_assert_no_error(err);
    check_abi("live migratable form", live, mig, NULL);
}

static void test_abi_files(void)
{
    g_autoptr(GPtrArray) names = test_data_list("domain/abi", ".src.xml");

    g_assert_cmpuint(names->len, >=, 3);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        g_autofree char *src_name = g_strdup_printf("abi/%s.src.xml", name);
        g_autofree char *src = read_data(src_name);
        g_autofree char *dst_name = g_strdup_printf("abi/%s.dst.xml", name);
        g_autofree char *dst = read_data(dst_name);
        g_autofree char *expected = test_data_expected_error("domain/abi", name);

        g_test_message("ABI pair %s", name);
        check_abi(name, src, dst, expected);
    }
}

/* ---------------------------------------------------------------- behaviour */

static const char *const live_xml =
    "<domain type='kvm' id='5'>\n"
    "  <name>live</name>\n"
    "  <uuid>11111111-2222-4333-8444-000000000001</uuid>\n"
    "  <memory unit='MiB'>512</memory>\n"
    "  <os><type>hvm</type></os>\n"
    "  <devices>\n"
    "    <interface type='network'><mac address='52:54:00:01:02:03'/>"
    "<source network='default'/><target dev='vnet7'/></interface>\n"
    "    <interface type='ethernet'><mac address='52:54:00:01:02:04'/>"
    "<target dev='tapfixed'/></interface>\n"
    "    <serial type='pty'><source path='/dev/pts/3'/></serial>\n"
    "    <graphics type='vnc' port='5903' autoport='yes' passwd='hunter2'/>\n"
    "    <graphics type='spice' port='5950' tlsPort='5951' autoport='no'/>\n"
    "  </devices>\n"
    "</domain>\n";

static void test_migratable_form(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) def = parse(live_xml, 0, &err);
    g_assert_no_error(err);

    g_autofree char *normal = domain_def_format(def, 0, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(normal, "<domain type=\"kvm\" id=\"5\">"));
    g_assert_nonnull(strstr(normal, "port=\"5903\""));
    g_assert_nonnull(strstr(normal, "/dev/pts/3"));
    g_assert_nonnull(strstr(normal, "vnet7"));
    g_assert_null(strstr(normal, "hunter2")); /* secrets need SECURE */

    g_autofree char *secure = domain_def_format(def, DOMAIN_FORMAT_SECURE, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(secure, "passwd=\"hunter2\""));

    g_autofree char *mig = domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(mig, "<domain type=\"kvm\">"));
    g_assert_null(strstr(mig, "5903")); /* automatic port: runtime */
    g_assert_nonnull(strstr(mig, "port=\"5950\"")); /* fixed ports stay */
    g_assert_nonnull(strstr(mig, "tlsPort=\"5951\""));
    g_assert_null(strstr(mig, "/dev/pts/3"));
    g_assert_null(strstr(mig, "vnet7"));
    g_assert_nonnull(strstr(mig, "tapfixed")); /* the user's tap is config */
    g_assert_null(strstr(mig, "hunter2"));

    /* Parsing for a definition drops the same runtime data. */
    g_autoptr(DomainDef) inactive = parse(live_xml, DOMAIN_PARSE_INACTIVE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(inactive->id, ==, -1);
    g_assert_cmpint(inactive->graphics[0]->port, ==, -1);
    g_assert_null(inactive->serials[0]->path);
    g_assert_null(inactive->nets[0]->target_dev);
    g_assert_cmpstr(inactive->nets[1]->target_dev, ==, "tapfixed");
    g_assert_cmpstr(inactive->graphics[0]->passwd, ==, "hunter2");
}

/* What a running libvirt guest's XML carries that the host chose: channel
 * sockets libvirt named, the agent's connection state, ports and ptys. */
static void test_live_devices(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *live = read_data("virsh-dumpxml-live-seclabels-removed.xml");
    g_autoptr(DomainDef) def = parse(live, 0, &err);
    g_assert_no_error(err);

    g_assert_cmpuint(def->ncontrollers, ==, 12);
    g_assert_cmpint(def->controllers[0]->type, ==, DOMAIN_CONTROLLER_TYPE_USB);
    g_assert_cmpint(def->controllers[0]->model, ==, DOMAIN_USB_MODEL_QEMU_XHCI);
    g_assert_cmpint(def->controllers[2]->model, ==, DOMAIN_PCI_MODEL_PCIE_ROOT_PORT);
    g_assert_cmpint(def->controllers[2]->port, ==, 0x10);
    g_assert_cmpstr(def->controllers[10]->info.alias, ==, "ide");
    g_assert_cmpuint(def->nchannels, ==, 2);
    g_assert_cmpint(def->channels[0]->state, ==, DOMAIN_CHANNEL_STATE_CONNECTED);
    g_assert_cmpstr(def->resource_partition, ==, "/machine");
    g_assert_cmpuint(def->memballoon->stats_period, ==, 5);
    g_assert_true(domain_def_has_alias(def, "redir1"));
    g_assert_true(domain_def_has_alias(def, "pci.8"));

    g_autofree char *normal = domain_def_format(def, 0, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(normal, "/run/libvirt/qemu/channel/3-debian12/"));
    g_assert_nonnull(strstr(normal, "state=\"connected\""));

    g_autofree char *mig = domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_assert_no_error(err);
    g_assert_null(strstr(mig, "/run/libvirt/qemu/channel/"));
    g_assert_null(strstr(mig, "connected\""));
    g_assert_nonnull(strstr(mig, "<source mode=\"bind\"/>"));

    g_autoptr(DomainDef) inactive = parse(live, DOMAIN_PARSE_INACTIVE, &err);
    g_assert_no_error(err);
    g_assert_null(inactive->channels[0]->path);
    g_assert_cmpint(inactive->channels[0]->state, ==, DOMAIN_CHANNEL_STATE_DEFAULT);

    /* A socket the user chose is configuration and stays. */
    g_autofree char *own = replace(live, "/run/libvirt/qemu/channel/3-debian12/", "/srv/vm/");
    g_autoptr(DomainDef) mine = parse(own, DOMAIN_PARSE_INACTIVE, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(mine->channels[0]->path, ==, "/srv/vm/org.qemu.guest_agent.0");
    g_autofree char *mine_mig = domain_def_format(mine, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(mine_mig, "/srv/vm/org.qemu.guest_agent.0"));

    /* Controllers come out as libvirt keeps them: sorted by index within
     * their type, companions after their master. */
    g_autoptr(DomainDef) order = parse("<domain type='kvm'><name>o</name><memory>1048576</memory>"
                                       "<os><type machine='pc-i440fx-7.2'>hvm</type></os><devices>"
                                       "<controller type='usb' index='1' model='piix3-uhci'/>"
                                       "<controller type='pci' index='0' model='pci-root'/>"
                                       "<controller type='usb' index='0' model='ich9-uhci1'>"
                                       "<master startport='0'/></controller>"
                                       "<controller type='usb' index='0' model='ich9-ehci1'/>"
                                       "<controller type='virtio-serial'/>"
                                       "<controller type='virtio-serial'/>"
                                       "</devices></domain>",
                                       0, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(order->ncontrollers, ==, 6);
    g_assert_cmpint(order->controllers[0]->model, ==, DOMAIN_USB_MODEL_ICH9_EHCI1);
    g_assert_cmpint(order->controllers[1]->model, ==, DOMAIN_USB_MODEL_ICH9_UHCI1);
    g_assert_cmpstr(order->controllers[1]->info.alias, ==, "usb");
    g_assert_cmpint(order->controllers[2]->model, ==, DOMAIN_USB_MODEL_PIIX3_UHCI);
    g_assert_cmpstr(order->controllers[2]->info.alias, ==, "usb1");
    g_assert_cmpint(order->controllers[3]->type, ==, DOMAIN_CONTROLLER_TYPE_PCI);
    g_assert_cmpstr(order->controllers[3]->info.alias, ==, "pci.0");
    g_assert_cmpuint(order->controllers[4]->index, ==, 0);
    g_assert_cmpuint(order->controllers[5]->index, ==, 1);
    g_assert_cmpstr(order->controllers[5]->info.alias, ==, "virtio-serial1");
}

static void test_status(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainStatus) st = domain_status_new();

    st->def = parse(live_xml, 0, &err);
    g_assert_no_error(err);
    st->state = DOMAIN_STATE_PAUSED;
    st->reason = g_strdup("migration");
    st->pid = 31337;
    st->monitor_path = g_strdup("/run/ferry/qemu/live.monitor");
    st->async_job = DOMAIN_ASYNC_JOB_MIGRATION_IN;
    st->phase = DOMAIN_MIGRATION_PHASE_FINISH3;
    st->job_flags = 0x1b;

    g_autofree char *text = domain_status_format(st, &err);
    g_assert_no_error(err);
    g_assert_true(g_str_has_prefix(text, "<domstatus state=\"paused\" reason=\"migration\" "
                                         "pid=\"31337\">\n"));
    g_assert_nonnull(strstr(text, "<job async=\"migration-in\" phase=\"finish3\" "
                                  "flags=\"0x1b\"/>"));
    g_assert_nonnull(strstr(text, "passwd=\"hunter2\"")); /* needed to reconnect */

    g_autoptr(DomainStatus) back = domain_status_parse(text, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(back->state, ==, DOMAIN_STATE_PAUSED);
    g_assert_cmpstr(back->reason, ==, "migration");
    g_assert_cmpint(back->pid, ==, 31337);
    g_assert_cmpstr(back->monitor_path, ==, "/run/ferry/qemu/live.monitor");
    g_assert_cmpint(back->async_job, ==, DOMAIN_ASYNC_JOB_MIGRATION_IN);
    g_assert_cmpint(back->phase, ==, DOMAIN_MIGRATION_PHASE_FINISH3);
    g_assert_cmpuint(back->job_flags, ==, 0x1b);
    g_assert_cmpint(back->def->id, ==, 5);
    g_assert_cmpint(back->def->graphics[0]->port, ==, 5903);

    /* The definition alone, through the parse flag. */
    g_autoptr(DomainDef) def = domain_def_parse(text, DOMAIN_PARSE_STATUS, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(def->name, ==, "live");

    /* domain_def_format does not write the status form. */
    g_autofree char *none = domain_def_format(def, DOMAIN_FORMAT_STATUS, &err);
    g_assert_null(none);
    g_assert_nonnull(err);
    g_clear_error(&err);

    /* A phase without a migration job is refused. */
    g_autofree char *bad = replace(text, "async=\"migration-in\"", "async=\"save\"");
    g_autoptr(DomainStatus) refused = domain_status_parse(bad, NULL, &err);
    g_assert_null(refused);
    g_assert_nonnull(strstr(err->message, "a phase and flags need a migration job"));
}

static int test_random_fails(void *buf, size_t len, gpointer opaque, GError **error)
{
    return ferry_fail(error, FERRY_ERR_SYSTEM, "no entropy today");
}

static void test_generated(void)
{
    static const char *const xml =
        "<domain type='kvm'><name>gen</name><memory>1048576</memory>"
        "<os><type>hvm</type></os><devices>"
        "<interface type='network'><source network='default'/></interface>"
        "</devices></domain>";
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) a = domain_def_parse(xml, 0, &err);
    g_assert_no_error(err);
    g_autoptr(DomainDef) b = domain_def_parse(xml, 0, &err);
    g_assert_no_error(err);

    /* Real randomness: a version-4 UUID, a 52:54:00 MAC, different each time. */
    g_assert_false(ferry_uuid_is_null(a->uuid));
    g_assert_cmpint(a->uuid[6] >> 4, ==, 4);
    g_assert_false(ferry_uuid_equal(a->uuid, b->uuid));
    g_assert_cmpint(a->nets[0]->mac[0], ==, 0x52);
    g_assert_cmpint(a->nets[0]->mac[1], ==, 0x54);
    g_assert_cmpint(a->nets[0]->mac[2], ==, 0x00);
    g_assert_cmpstr(a->nets[0]->info.alias, ==, "net0");
    g_assert_nonnull(a->memballoon);
    g_assert_cmpint(a->memballoon->model, ==, DOMAIN_BALLOON_VIRTIO);
    g_assert_cmpint(a->nets[0]->model, ==, DOMAIN_NET_MODEL_RTL8139);

    /* Injected randomness: the same every time. */
    g_autoptr(DomainDef) c = parse(xml, 0, &err);
    g_autoptr(DomainDef) d = parse(xml, 0, &err);
    g_assert_no_error(err);
    g_assert_true(ferry_uuid_equal(c->uuid, d->uuid));

    /* A failing random source is reported. */
    DomainParseHooks failing = { test_random_fails, NULL };
    g_autoptr(DomainDef) e = domain_def_parse_full(xml, 0, &failing, &err);
    g_assert_null(e);
    g_assert_cmpstr(err->message, ==, "domain XML: cannot generate a UUID: no entropy today");
}

typedef struct {
    const char *unit;
    unsigned long long value;
    unsigned long long kib;
} UnitCase;

static void test_memory_units(void)
{
    static const UnitCase cases[] = {
        { "b", 1073741824ULL, 1048576 },
        { "bytes", 1048577ULL, 1025 }, /* rounded up */
        { "KB", 1024000, 1000000 },
        { "k", 2048, 2048 },
        { "KiB", 2048, 2048 },
        { "MB", 1000, 976563 }, /* 10^9 bytes, rounded up */
        { "M", 2, 2048 },
        { "MiB", 2, 2048 },
        { "GB", 1, 976563 },
        { "G", 1, 1048576 },
        { "GiB", 3, 3145728 },
        { "TB", 1, 976562500 },
        { "T", 1, 1073741824ULL },
        { "TiB", 2, 2147483648ULL },
        { "gib", 1, 1048576 }, /* case does not matter, as in libvirt */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *xml =
            g_strdup_printf("<domain type='kvm'><name>m</name><memory unit='%s'>%llu</memory>"
                            "<os><type>hvm</type></os></domain>",
                            cases[i].unit, cases[i].value);
        g_autoptr(DomainDef) def = parse(xml, 0, &err);

        g_test_message("unit %s", cases[i].unit);
        g_assert_no_error(err);
        g_assert_cmpuint(def->memory_kib, ==, cases[i].kib);
        g_assert_cmpuint(def->current_memory_kib, ==, cases[i].kib);
    }

    /* Too small. */
    g_autoptr(GError) err = NULL;
    g_autoptr(DomainDef) tiny = parse("<domain type='kvm'><name>m</name>"
                                      "<memory unit='KiB'>512</memory>"
                                      "<os><type>hvm</type></os></domain>",
                                      0, &err);
    g_assert_null(tiny);
    g_assert_nonnull(strstr(err->message, "<memory>512</memory>: smaller than the minimum"));
}

static void test_size_limit(void)
{
    g_autoptr(GString) big = g_string_new("<domain type='kvm'><name>big</name><description>");
    g_autoptr(GError) err = NULL;

    while (big->len <= DOMAIN_XML_MAX)
        g_string_append(big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    g_string_append(big, "</description></domain>");
    g_autoptr(DomainDef) def = domain_def_parse(big->str, 0, &err);
    g_assert_null(def);
    g_assert_true(ferry_error_is(err, FERRY_ERR_OVERFLOW));
    g_assert_nonnull(strstr(err->message, "domain XML: larger than the limit of 1048576 bytes"));
}

static void test_copy_and_lookups(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = read_data("full.xml");
    g_autoptr(DomainDef) def = parse(xml, 0, &err);
    g_assert_no_error(err);
    g_autoptr(DomainDef) copy = domain_def_copy(def);
    g_assert_nonnull(copy);

    g_autofree char *a = domain_def_format(def, DOMAIN_FORMAT_SECURE, &err);
    g_autofree char *b = domain_def_format(copy, DOMAIN_FORMAT_SECURE, &err);
    g_assert_no_error(err);
    test_compare_text("copy", a, b);
    g_assert_true(domain_def_check_abi_stability(def, copy, &err));
    g_assert_no_error(err);

    g_assert_true(domain_def_find_disk(def, "vda") == def->disks[0]);
    g_assert_true(domain_def_find_disk(def, "scsi0-0-0-1") == def->disks[1]);
    g_assert_null(domain_def_find_disk(def, "vdz"));
    unsigned char mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0x02 };
    g_assert_true(domain_def_find_net_by_mac(def, mac) == def->nets[1]);
    mac[5] = 0x77;
    g_assert_null(domain_def_find_net_by_mac(def, mac));
    g_assert_true(domain_def_has_alias(def, "balloon0"));
    g_assert_true(domain_def_has_alias(def, "ide0-1-0"));
    g_assert_false(domain_def_has_alias(def, "nope"));
    char buf[DOMAIN_MAC_STRING_BUFLEN];
    g_assert_cmpstr(domain_mac_format(def->nets[1]->mac, buf), ==, "52:54:00:aa:bb:02");
}

static void test_enums(void)
{
    g_assert_cmpstr(domain_disk_bus_to_string(DOMAIN_DISK_BUS_SATA), ==, "sata");
    g_assert_cmpint(domain_disk_bus_from_string("scsi"), ==, DOMAIN_DISK_BUS_SCSI);
    g_assert_cmpint(domain_disk_bus_from_string("usb"), ==, -1);
    g_assert_null(domain_disk_bus_to_string(DOMAIN_DISK_BUS_LAST));
    g_assert_null(domain_disk_bus_to_string(-1));
    g_assert_cmpstr(domain_migration_phase_to_string(DOMAIN_MIGRATION_PHASE_PERFORM3_DONE), ==,
                    "perform3-done");
    for (int i = 0; i < DOMAIN_STATE_LAST; i++)
        g_assert_cmpint(domain_state_from_string(domain_state_to_string(i)), ==, i);
    for (int i = 0; i < DOMAIN_NET_MODEL_LAST; i++)
        g_assert_cmpint(domain_net_model_from_string(domain_net_model_to_string(i)), ==, i);
    for (int i = 0; i < DOMAIN_USB_MODEL_LAST; i++)
        g_assert_cmpint(domain_usb_model_from_string(domain_usb_model_to_string(i)), ==, i);
    g_assert_cmpstr(domain_pci_model_to_string(DOMAIN_PCI_MODEL_PCIE_ROOT_PORT), ==,
                    "pcie-root-port");
    g_assert_cmpstr(domain_controller_type_to_string(DOMAIN_CONTROLLER_TYPE_VIRTIO_SERIAL), ==,
                    "virtio-serial");
    g_assert_cmpstr(domain_address_to_string(DOMAIN_ADDRESS_VIRTIO_SERIAL), ==, "virtio-serial");
}

/* A <domain> inside another document, as the migration cookie carries one. */
static void test_embedded(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *xml = read_data("full.xml");
    g_autoptr(DomainDef) def = parse(xml, 0, &err);
    g_assert_no_error(err);

    g_autoptr(xmlDoc) doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *root = xmlNewDocNode(doc, NULL, (const xmlChar *)"qemu-migration", NULL);
    xmlDocSetRootElement(doc, root);
    xmlNode *persistent = xml_new_child(root, "persistent");
    xmlNode *node = domain_def_format_xml_node(def, doc, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_assert_no_error(err);
    xmlAddChild(persistent, node);
    g_autofree char *cookie = xml_format_node(root);

    g_autoptr(xmlDoc) back =
        xml_parse(cookie, 65536, "cookie", "qemu-migration", FERRY_FROM_COOKIE, &err);
    g_assert_no_error(err);
    xmlNode *inner = xml_child(xml_child(xmlDocGetRootElement(back), "persistent"), "domain");
    g_autoptr(DomainDef) again = domain_def_parse_xml_node(inner, 0, NULL, &err);
    g_assert_no_error(err);
    g_autofree char *a = domain_def_format(def, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_autofree char *b = domain_def_format(again, DOMAIN_FORMAT_MIGRATABLE, &err);
    g_assert_no_error(err);
    test_compare_text("embedded", a, b);

    g_autoptr(DomainDef) wrong = domain_def_parse_xml_node(persistent, 0, NULL, &err);
    g_assert_null(wrong);
    g_assert_cmpstr(err->message, ==, "domain XML: expected <domain>, got <persistent>");
}

/* Every valid input cut short at many places, and with single bytes
 * changed: parsing fails cleanly or succeeds, never both, never a crash or a
 * leak (ASan watches); what parses is canonical. */
static void test_truncated(void)
{
    g_autoptr(GPtrArray) names = test_data_list("domain", ".xml");
    guint cuts = 0;

    for (guint i = 0; i < names->len; i++) {
        g_autofree char *entry = g_strdup_printf("%s.xml", (char *)names->pdata[i]);
        g_autofree char *err_name = g_strdup_printf("%s.err", (char *)names->pdata[i]);

        if (test_data_exists("domain", err_name))
            continue;
        g_autofree char *xml = read_data(entry);
        size_t len = strlen(xml);
        for (size_t cut = 0; cut < len; cut += 5) {
            g_autofree char *part = g_strndup(xml, cut);
            g_autoptr(GError) err = NULL;
            g_autoptr(DomainDef) def = parse(part, DOMAIN_PARSE_STATUS, &err);
            g_autoptr(DomainDef) def2 = parse(part, 0, NULL);

            g_assert_true((def == NULL) != (err == NULL));
            cuts++;
        }
        /* And with one byte changed: whatever parses must format and parse again. */
        static const char flips[] = { '<', '\'', 'x', '9', '-', '\0' };
        for (size_t pos = 0; pos < len; pos += 3) {
            g_autofree char *mutant = g_strdup(xml);
            g_autoptr(GError) err = NULL;

            mutant[pos] = flips[pos % G_N_ELEMENTS(flips)];
            g_autoptr(DomainDef) def = parse(mutant, 0, &err);
            g_assert_true((def == NULL) != (err == NULL));
            if (def) {
                g_autofree char *text = domain_def_format(def, 0, &err);
                g_assert_no_error(err);
                check_canonical(entry, text, 0);
            }
            cuts++;
        }
    }
    g_test_message("parsed %u truncated or mutated inputs", cuts);
    g_assert_cmpuint(cuts, >, 100);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("4:stderr", NULL);

    g_autofree char *xmllint = g_find_program_in_path("xmllint");
    if (!xmllint)
        validate_skip = g_strdup("xmllint is not installed (Debian: libxml2-utils)");
    else if (!g_file_test(SCHEMA, G_FILE_TEST_EXISTS))
        validate_skip = g_strdup(SCHEMA " is missing (Debian: libvirt0, via libvirt-clients)");

    g_autoptr(GPtrArray) names = test_data_list("domain", ".xml");
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_strdup_printf("/domain/file/%s", (char *)names->pdata[i]);
        g_test_add_data_func_full(path, g_strdup(names->pdata[i]), test_data_file, g_free);
    }

    g_test_add_func("/domain/abi/changes", test_abi_changes);
    g_test_add_func("/domain/abi/devices", test_abi_devices);
    g_test_add_func("/domain/abi/files", test_abi_files);
    g_test_add_func("/domain/live-devices", test_live_devices);
    g_test_add_func("/domain/migratable-form", test_migratable_form);
    g_test_add_func("/domain/status", test_status);
    g_test_add_func("/domain/generated", test_generated);
    g_test_add_func("/domain/memory-units", test_memory_units);
    g_test_add_func("/domain/size-limit", test_size_limit);
    g_test_add_func("/domain/copy-and-lookups", test_copy_and_lookups);
    g_test_add_func("/domain/enums", test_enums);
    g_test_add_func("/domain/truncated", test_truncated);
    g_test_add_func("/domain/embedded", test_embedded);
    /* Last: the data files above have been formatted and validated. */
    g_test_add_func("/domain/zz-validated/all", test_validated_all);
    g_test_add_func("/domain/zz-validated/libvirt-accepts", test_libvirt_accepts);

    int rc = g_test_run();
    g_free(validate_skip);
    return rc;
}
