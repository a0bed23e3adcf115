/*
 * qemu_capabilities_priv.h: the inside of QemuCaps, shared by
 * qemu_capabilities.c (the object, its flags and JSON form) and
 * qemu_capabilities_probe.c (probing and the cache).  Nothing else
 * includes it.
 */
#pragma once

#include <sys/stat.h>

#include "driver/qemu_capabilities.h"

/* What identifies one build of a binary at one path. */
typedef struct {
    gint64 mtime_ns;
    gint64 ctime_ns;
    gint64 size;
    gint64 inode;
    gint64 device;
} QemuCapsIdentity;

struct _QemuCaps {
    gint refs;
    char *binary; /* NULL when probed over a monitor only */
    QemuCapsIdentity identity;
    int major, minor, micro;
    char *package; /* never NULL */
    char *arch; /* never NULL */
    gboolean kvm_present; /* query-kvm */
    gboolean kvm_enabled; /* query-kvm (in the probing QEMU) */
    gboolean kvm_device_rw; /* /dev/kvm opened read-write when probed */
    GStrv accels; /* never NULL, nor the three below */
    GStrv mig_caps;
    GStrv mig_params;
    GStrv cpu_models;
    GPtrArray *machines; /* QemuCapsMachine */
    QemuCapsSchema *schema; /* NULL only while being built */
    gboolean flags[QEMU_CAPS_LAST];
};

QemuCaps *qemu_caps_new_empty(void);
void qemu_caps_add_machine(QemuCaps *caps, const char *name, const char *alias, gboolean is_default,
                           gboolean deprecated, int cpu_max);
/* Sets caps->flags from the schema and lists (the table). */
void qemu_caps_decide_flags(QemuCaps *caps);

gboolean qemu_caps_identity_equal(const QemuCapsIdentity *a, const QemuCapsIdentity *b);
void qemu_caps_identity_from_stat(QemuCapsIdentity *id, const struct stat *st);
