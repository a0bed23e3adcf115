/*
 * qemu_interface.c: the taps of a domain's interfaces, opened by ferry
 * and handed to QEMU.  The rules are in qemu_interface.h.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_QEMU
#define FERRY_LOG_MODULE "qemu.interface"

#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>

#include "util/fd.h"
#include "driver/qemu_interface.h"

#define QEMU_INTERFACE_TUN "/dev/net/tun"
#define QEMU_INTERFACE_VHOST_NET "/dev/vhost-net"
/* The first byte of the host side's MAC. */
#define QEMU_INTERFACE_HOST_MAC_BYTE 0xFE

G_STATIC_ASSERT(QEMU_INTERFACE_NAME_MAX == IFNAMSIZ - 1);

void qemu_interface_tap_clear(gpointer p)
{
    QemuInterfaceTap *tap = p;

    ferry_fd_close(&tap->tap_fd);
    ferry_fd_close(&tap->vhost_fd);
    g_clear_pointer(&tap->ifname, g_free);
    tap->alias = NULL;
}

void qemu_interface_host_mac(const unsigned char *guest, unsigned char *host)
{
    memmove(host, guest, 6);
    host[0] = QEMU_INTERFACE_HOST_MAC_BYTE;
}

gboolean qemu_interface_check_name(const char *domain, const DomainNetDef *net, const char *name,
                                   GError **error)
{
    size_t len = strlen(name);

    if (len == 0 || len > QEMU_INTERFACE_NAME_MAX) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': interface '%s': target dev '%.64s' is not a valid interface "
                   "name (1 to %d bytes)",
                   domain, net->info.alias, name, QEMU_INTERFACE_NAME_MAX);
        return FALSE;
    }
    if (g_str_equal(name, ".") || g_str_equal(name, "..") || strpbrk(name, "/:% \t\n\r\v\f")) {
        ferry_fail(error, FERRY_ERR_INVALID_ARG,
                   "domain '%s': interface '%s': target dev '%s' is not a valid interface name "
                   "(not '.' or '..', no '/', ':', '%%' or blanks)",
                   domain, net->info.alias, name);
        return FALSE;
    }
    return TRUE;
}

gboolean qemu_interface_check(const DomainDef *def, const char *domain, GError **error)
{
    for (size_t i = 0; i < def->nnets; i++) {
        const DomainNetDef *net = def->nets[i];

        switch (net->type) {
        case DOMAIN_NET_TYPE_NETWORK:
            ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                       "domain '%s': interface '%s': libvirt virtual networks (type='network') "
                       "are not supported by ferry; use type='bridge' with the network's bridge",
                       domain, net->info.alias);
            return FALSE;
        case DOMAIN_NET_TYPE_BRIDGE:
            if (!net->source || !*net->source) {
                ferry_fail(error, FERRY_ERR_INVALID_ARG,
                           "domain '%s': interface '%s': type='bridge' without a source bridge",
                           domain, net->info.alias);
                return FALSE;
            }
            break;
        case DOMAIN_NET_TYPE_ETHERNET:
            break;
        case DOMAIN_NET_TYPE_LAST:
        default:
            ferry_fail(error, FERRY_ERR_INTERNAL, "domain '%s': interface '%s': unknown type %d",
                       domain, net->info.alias, (int)net->type);
            return FALSE;
        }
        if (net->target_dev && !qemu_interface_check_name(domain, net, net->target_dev, error))
            return FALSE;
    }
    return TRUE;
}

/* A socket for the interface ioctls. */
static int qemu_interface_ioctl_socket(const char *domain, const DomainNetDef *net, GError **error)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        ferry_fail_errno(error, errno,
                         "domain '%s': interface '%s': cannot create a socket for interface "
                         "ioctls",
                         domain, net->info.alias);
    return fd;
}

/* Creates the tap (named name, or from the template) on a new
 * /dev/net/tun fd; *ifname receives the name the kernel gave it. */
static int qemu_interface_create_tap(const char *domain, const DomainNetDef *net, char **ifname,
                                     GError **error)
{
    g_auto(FerryFd) fd = open(QEMU_INTERFACE_TUN, O_RDWR | O_CLOEXEC);
    const char *want = net->target_dev ? net->target_dev : QEMU_INTERFACE_NAME_TEMPLATE;
    unsigned int features = 0;
    struct ifreq ifr;

    if (fd < 0) {
        ferry_fail_errno(error, errno, "domain '%s': interface '%s': cannot open '%s'", domain,
                         net->info.alias, QEMU_INTERFACE_TUN);
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    g_strlcpy(ifr.ifr_name, want, sizeof(ifr.ifr_name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    /* An old kernel without TUNGETFEATURES has no vnet header either. */
    if (ioctl(fd, TUNGETFEATURES, &features) < 0)
        features = 0;
    if (net->model == DOMAIN_NET_MODEL_VIRTIO && (features & IFF_VNET_HDR))
        ifr.ifr_flags |= IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int err = errno;

        if (err == EBUSY)
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': interface '%s': tap '%s' is busy (another process has it "
                       "open)",
                       domain, net->info.alias, want);
        else if (err == EINVAL && net->target_dev && if_nametoindex(want) != 0)
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': interface '%s': '%s' exists and is not a tap", domain,
                       net->info.alias, want);
        else
            ferry_fail_errno(error, err, "domain '%s': interface '%s': cannot create tap '%s'",
                             domain, net->info.alias, want);
        return -1;
    }
    ifr.ifr_name[IFNAMSIZ - 1] = '\0';
    *ifname = g_strdup(ifr.ifr_name);
    return ferry_fd_steal(&fd);
}

/* ifr for the interface name. */
static void qemu_interface_ifreq(struct ifreq *ifr, const char *name)
{
    memset(ifr, 0, sizeof(*ifr));
    g_strlcpy(ifr->ifr_name, name, sizeof(ifr->ifr_name));
}

static gboolean qemu_interface_set_mac(int sock, const char *domain, const DomainNetDef *net,
                                       const char *ifname, GError **error)
{
    struct ifreq ifr;
    unsigned char mac[6];
    char macstr[DOMAIN_MAC_STRING_BUFLEN];

    qemu_interface_host_mac(net->mac, mac);
    qemu_interface_ifreq(&ifr, ifname);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, mac, sizeof(mac));
    if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0) {
        ferry_fail_errno(error, errno,
                         "domain '%s': interface '%s': cannot set the MAC of tap "
                         "'%s' to %s",
                         domain, net->info.alias, ifname, domain_mac_format(mac, macstr));
        return FALSE;
    }
    return TRUE;
}

/* The tap takes the bridge's MTU and joins it. */
static gboolean qemu_interface_attach_bridge(int sock, const char *domain, const DomainNetDef *net,
                                             const char *ifname, GError **error)
{
    const char *bridge = net->source;
    struct ifreq ifr;
    unsigned int index;
    int mtu;

    qemu_interface_ifreq(&ifr, bridge);
    if (ioctl(sock, SIOCGIFMTU, &ifr) < 0) {
        if (errno == ENODEV)
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': interface '%s': bridge '%s' does not exist (tap '%s')", domain,
                       net->info.alias, bridge, ifname);
        else
            ferry_fail_errno(error, errno,
                             "domain '%s': interface '%s': cannot read the MTU of bridge '%s'",
                             domain, net->info.alias, bridge);
        return FALSE;
    }
    mtu = ifr.ifr_mtu;
    qemu_interface_ifreq(&ifr, ifname);
    if (ioctl(sock, SIOCGIFMTU, &ifr) < 0) {
        ferry_fail_errno(error, errno,
                         "domain '%s': interface '%s': cannot read the MTU of tap "
                         "'%s'",
                         domain, net->info.alias, ifname);
        return FALSE;
    }
    if (ifr.ifr_mtu != mtu) {
        qemu_interface_ifreq(&ifr, ifname);
        ifr.ifr_mtu = mtu;
        if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) {
            ferry_fail_errno(error, errno,
                             "domain '%s': interface '%s': cannot set the MTU of tap '%s' to "
                             "%d (bridge '%s')",
                             domain, net->info.alias, ifname, mtu, bridge);
            return FALSE;
        }
    }

    index = if_nametoindex(ifname);
    if (index == 0) {
        ferry_fail_errno(error, errno, "domain '%s': interface '%s': tap '%s' has no index", domain,
                         net->info.alias, ifname);
        return FALSE;
    }
    qemu_interface_ifreq(&ifr, bridge);
    ifr.ifr_ifindex = (int)index;
    if (ioctl(sock, SIOCBRADDIF, &ifr) < 0) {
        int err = errno;

        if (err == ENODEV)
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': interface '%s': bridge '%s' does not exist (tap '%s')", domain,
                       net->info.alias, bridge, ifname);
        else if (err == EOPNOTSUPP || err == EINVAL)
            ferry_fail(error, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': interface '%s': '%s' is not a bridge (tap '%s')", domain,
                       net->info.alias, bridge, ifname);
        else
            ferry_fail_errno(error, err,
                             "domain '%s': interface '%s': cannot attach tap '%s' to bridge "
                             "'%s'",
                             domain, net->info.alias, ifname, bridge);
        return FALSE;
    }
    return TRUE;
}

static gboolean qemu_interface_up(int sock, const char *domain, const DomainNetDef *net,
                                  const char *ifname, GError **error)
{
    struct ifreq ifr;
    short flags;

    qemu_interface_ifreq(&ifr, ifname);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
        ferry_fail_errno(error, errno,
                         "domain '%s': interface '%s': cannot read the flags of "
                         "tap '%s'",
                         domain, net->info.alias, ifname);
        return FALSE;
    }
    flags = ifr.ifr_flags;
    if (flags & IFF_UP)
        return TRUE;
    qemu_interface_ifreq(&ifr, ifname);
    ifr.ifr_flags = (short)(flags | IFF_UP);
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
        ferry_fail_errno(error, errno, "domain '%s': interface '%s': cannot bring tap '%s' up",
                         domain, net->info.alias, ifname);
        return FALSE;
    }
    return TRUE;
}

/* /dev/vhost-net, or -1 when it cannot be had (not an error). */
static int qemu_interface_open_vhost(const char *domain, const DomainNetDef *net)
{
    int fd = open(QEMU_INTERFACE_VHOST_NET, O_RDWR | O_CLOEXEC);

    if (fd < 0)
        FLOG_DEBUG("domain '%s': interface '%s': no vhost-net (%s: %s)", domain, net->info.alias,
                   QEMU_INTERFACE_VHOST_NET, g_strerror(errno));
    return fd;
}

gboolean qemu_interface_open(const char *domain, const DomainNetDef *net, gboolean vhost,
                             QemuInterfaceTap *tap, GError **error)
{
    g_autofree char *ifname = NULL;
    g_auto(FerryFd) fd = -1;
    g_auto(FerryFd) sock = -1;
    g_auto(FerryFd) vhost_fd = -1;

    memset(tap, 0, sizeof(*tap));
    tap->tap_fd = -1;
    tap->vhost_fd = -1;
    if (net->target_dev && !qemu_interface_check_name(domain, net, net->target_dev, error))
        return FALSE;
    fd = qemu_interface_create_tap(domain, net, &ifname, error);
    if (fd < 0)
        return FALSE;
    sock = qemu_interface_ioctl_socket(domain, net, error);
    if (sock < 0)
        return FALSE;
    if (!qemu_interface_set_mac(sock, domain, net, ifname, error))
        return FALSE;
    if (net->type == DOMAIN_NET_TYPE_BRIDGE &&
        !qemu_interface_attach_bridge(sock, domain, net, ifname, error))
        return FALSE;
    if (!qemu_interface_up(sock, domain, net, ifname, error))
        return FALSE;
    if (vhost && net->model == DOMAIN_NET_MODEL_VIRTIO)
        vhost_fd = qemu_interface_open_vhost(domain, net);

    FLOG_DEBUG("domain '%s': interface '%s': tap '%s'%s%s%s", domain, net->info.alias, ifname,
               net->type == DOMAIN_NET_TYPE_BRIDGE ? " on bridge '" : "",
               net->type == DOMAIN_NET_TYPE_BRIDGE ? net->source : "",
               net->type == DOMAIN_NET_TYPE_BRIDGE ? "'" : "");
    tap->alias = net->info.alias;
    tap->ifname = g_steal_pointer(&ifname);
    tap->tap_fd = ferry_fd_steal(&fd);
    tap->vhost_fd = ferry_fd_steal(&vhost_fd);
    return TRUE;
}

GArray *qemu_interface_open_all(DomainDef *def, const char *domain, gboolean kvm, GError **error)
{
    g_autoptr(GArray) taps = g_array_sized_new(FALSE, TRUE, sizeof(QemuInterfaceTap), def->nnets);

    g_array_set_clear_func(taps, qemu_interface_tap_clear);
    if (!qemu_interface_check(def, domain, error))
        return NULL;
    for (size_t i = 0; i < def->nnets; i++) {
        QemuInterfaceTap tap;

        /* on failure, unref closes the taps opened so far: they vanish */
        if (!qemu_interface_open(domain, def->nets[i], kvm, &tap, error))
            return NULL;
        g_array_append_val(taps, tap);
    }
    for (size_t i = 0; i < def->nnets; i++) {
        DomainNetDef *net = def->nets[i];
        const char *ifname = g_array_index(taps, QemuInterfaceTap, i).ifname;

        if (g_strcmp0(net->target_dev, ifname) != 0) {
            g_free(net->target_dev);
            net->target_dev = g_strdup(ifname);
        }
    }
    return g_steal_pointer(&taps);
}
