/*
 * qemu_command_priv.h: what qemu_command.c (machine, CPU, memory, boot,
 * monitor) and qemu_command_devices.c (disks, interfaces, chardevs,
 * graphics, video, balloon) share.
 */
#pragma once

#include <glib.h>

#include "driver/qemu_command.h"

typedef enum { QEMU_MACHINE_I440FX, QEMU_MACHINE_Q35, QEMU_MACHINE_LAST } QemuMachineFamily;

/* One command line being built. */
typedef struct {
    const DomainDef *def;
    const QemuCommandOptions *opts;
    GPtrArray *argv; /* owned strings, no NULL terminator yet */
    QemuMachineFamily family;
    const char *machine; /* the machine type */
    const char *root_bus; /* "pci.0" or "pcie.0" */
    gboolean kvm; /* accel is kvm */
    guint next_fdset; /* the next -add-fd set number */
    guint32 builtin_slots; /* root bus slots of the machine's own devices */
    guint32 used_slots; /* root bus slots taken (bit N: slot N) */
    guint64 used_vioserial_ports; /* ports taken on virtio-serial controller 0 */
} QemuCmd;

/* Appends one argument (copied). */
void qemu_cmd_add(QemuCmd *cmd, const char *arg);
/* Appends an option and its argument (copied). */
void qemu_cmd_add_pair(QemuCmd *cmd, const char *opt, const char *arg);
/* Appends an option and its argument (taken). */
void qemu_cmd_add_pair_take(QemuCmd *cmd, const char *opt, char *arg);

/* key=value lists: appends ",key=value" (no comma when buf is empty), the
 * value escaped. */
void qemu_opt_str(GString *buf, const char *key, const char *value);
void qemu_opt_uint(GString *buf, const char *key, unsigned long long value);
void qemu_opt_bool(GString *buf, const char *key, gboolean value);
/* Appends value escaped (no key). */
void qemu_opt_escape_append(GString *buf, const char *value);

/* TRUE when str is a well-formed QEMU id (a letter, then letters, digits,
 * '-', '.', '_'); otherwise reports it for what ("disk 'vda'"). */
gboolean qemu_cmd_check_id(const char *what, const char *id, GError **error);

/* Where devices sit (qemu_command_controllers.c). */

/* Marks the slots of the machine's built-in devices and of every device
 * with an explicit root bus address as taken (before any device is built). */
gboolean qemu_cmd_reserve_pci_slots(QemuCmd *cmd, GError **error);

/* The controller of that type and index (companions excluded), or NULL. */
const DomainControllerDef *qemu_cmd_find_controller(QemuCmd *cmd, DomainControllerType type,
                                                    unsigned int index);

/* "<controller alias>.0": the bus of a SCSI, USB or virtio-serial
 * controller (listed, or one that ferry adds implicitly), or NULL with an
 * error naming what. */
char *qemu_cmd_controller_bus(QemuCmd *cmd, const char *what, DomainControllerType type,
                              unsigned int index, GError **error);

/* Appends ",bus=<root bus>,addr=0xS[.0xF][,multifunction=on]" for a PCI
 * address; a device without one gets the next free slot on the root bus,
 * in build order, so that QEMU never picks a slot that a later device
 * names explicitly.  Refuses other address types and buses. */
gboolean qemu_cmd_pci_address(QemuCmd *cmd, GString *buf, const char *what,
                              const DomainDeviceInfo *info, GError **error);

gboolean qemu_cmd_build_controllers(QemuCmd *cmd, GError **error);

/* Appends ",bus=<virtio-serial bus>,nr=N" for a port on a virtio-serial
 * controller: from a virtio-serial address, or on controller 0 with
 * port want_nr (>= 0) or the lowest free port from 1 (want_nr < 0). */
gboolean qemu_cmd_virtio_serial_address(QemuCmd *cmd, GString *buf, const char *what,
                                        const DomainDeviceInfo *info, int want_nr, GError **error);

/* The devices (qemu_command_devices.c). */
gboolean qemu_cmd_build_disks(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_nets(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_chardevs(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_graphics(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_videos(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_memballoon(QemuCmd *cmd, GError **error);

/* -chardev for a serial, console or channel of that alias: its backend
 * (and -add-fd for a file given as an fd). */
gboolean qemu_cmd_build_chr_backend(QemuCmd *cmd, const char *what, const DomainChrDef *chr,
                                    const char *chardev_id, GError **error);

/* The rest (qemu_command_misc.c): inputs, channels, audio and sound, RNGs,
 * the watchdog, USB redirection. */
gboolean qemu_cmd_build_audio(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_inputs(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_channels(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_sounds(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_rngs(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_watchdog(QemuCmd *cmd, GError **error);
gboolean qemu_cmd_build_redirdevs(QemuCmd *cmd, GError **error);
