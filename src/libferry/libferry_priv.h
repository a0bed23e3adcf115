/*
 * libferry_priv.h: what the files of libferry share (never installed).
 */
#pragma once

#include <glib.h>

#include "ferry/ferry.h"
#include "driver/driver.h"
#include "driver/driver_registry.h"

struct _FerryConnect {
    gint refs;
    DriverConn *driver;
    GMutex lock; /* guards type */
    char *type; /* cached get_type */
};

struct _FerryDomain {
    gint refs;
    FerryConnect *conn; /* a reference */
    GMutex lock; /* guards ident.id */
    DriverDomain ident;
};

/* Registers the built-in drivers once (every entry point calls it). */
void libferry_init(void);

/* The embed driver libferry ships (embed_driver.c); the remote driver is
 * src/rpc's (remote_driver_register()). */
extern const DriverRegistration libferry_embed_registration;

/* Every public call starts with libferry_enter() (initializes, resets the
 * last error) and ends a failure with libferry_fail_with(err) (takes err,
 * stores it as the last error).  Both return what callers return: -1. */
void libferry_enter(void);
int libferry_fail_with(GError *err);
/* An argument error of the public API (FERRY_ERR_INVALID_ARG). */
int libferry_fail_arg(const char *func, const char *what);

/* Argument and support checks at the top of a public function. */
#define LIBFERRY_CHECK_CONN(conn, ret) \
    do { \
        libferry_enter(); \
        if (!(conn)) { \
            libferry_fail_arg(__func__, "connection is NULL"); \
            return ret; \
        } \
    } while (0)

#define LIBFERRY_NEED_OP(conn, op, what, ret) \
    do { \
        if (!(conn)->driver->ops->op) { \
            GError *e_ = NULL; \
            driver_no_support((conn)->driver, what, &e_); \
            libferry_fail_with(e_); \
            return ret; \
        } \
    } while (0)

/* Drops a reference (the last one closes); returns the references left. */
int libferry_connect_unref(FerryConnect *conn);

/* A new FerryDomain for ident (copied), holding a reference on conn. */
FerryDomain *libferry_domain_new(FerryConnect *conn, const DriverDomain *ident);
/* A copy of dom's identity, for one driver call (clear it after). */
void libferry_domain_ident(FerryDomain *dom, DriverDomain *out);

/* Converts the driver's typed parameters to the public array. */
FerryTypedParameter *libferry_params_export(const TypedParams *params, int *nparams);
/* The public array as the driver's typed parameters (strings copied);
 * NULL with FERRY_ERR_INVALID_ARG for a bad entry. */
TypedParams *libferry_params_import(const FerryTypedParameter *params, int nparams, GError **error);
