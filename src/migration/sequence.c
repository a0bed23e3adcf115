/*
 * sequence.c: the client side of a v3 migration, written once against two
 * driver connections: libferry's direct mode runs it with two remote
 * connections, a source ferryd in peer-to-peer mode with its local driver
 * and a remote one.
 *
 *     Begin3 (src)   cookie 1, the XML for the destination
 *     Prepare3 (dst) with destination_xml; cookie 2, the URI to migrate to
 *     Perform3 (src) with migrate_uri; cookie 3
 *     Finish3 (dst)  with destination_name; cancelled when Perform3 failed
 *     Confirm3 (src) cancelled when Finish3 gave no domain
 *
 * After a failure the rest still runs with cancelled set, so that each
 * side unwinds: the first error is the one reported, later ones are
 * logged.  A Prepare3 failure skips Perform3 and Finish3 (nothing runs on
 * the destination) and goes to Confirm3 (cancelled), which ends the job
 * Begin3 took.
 */
#include <config.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_MIGRATION
#define FERRY_LOG_MODULE "migration.sequence"

#include "migration/migration.h"
#include "util/error.h"
#include "util/log.h"

/* A copy of params with name set to value (replacing any). */
static TypedParams *params_with(const TypedParams *params, const char *name, const char *value,
                                GError **error)
{
    g_autoptr(TypedParams) copy = typed_params_copy(params);

    if (value) {
        typed_params_remove(copy, name);
        if (typed_params_add_string(copy, name, value, error) < 0)
            return NULL;
    }
    return g_steal_pointer(&copy);
}

/* Both sides speak v3 with parameters. */
static gboolean sequence_check_conn(DriverConn *conn, const char *side, GError **error)
{
    const DriverOps *ops = conn->ops;
    gboolean supported = FALSE;

    if (!ops->migrate_begin3 || !ops->migrate_prepare3 || !ops->migrate_perform3 ||
        !ops->migrate_finish3 || !ops->migrate_confirm3)
        return driver_no_support(conn, "migration", error);
    if (!ops->supports_feature)
        return driver_no_support(conn, "migration with parameters", error);
    if (!ops->supports_feature(conn, DRIVER_FEATURE_MIGRATION_PARAMS, &supported, error))
        return FALSE;
    if (!supported) {
        ferry_fail(error, FERRY_ERR_NO_SUPPORT,
                   "the %s host does not support migration with parameters (v3)", side);
        return FALSE;
    }
    return TRUE;
}

gboolean migration_sequence_end(DriverConn *src, DriverConn *dst, const DriverDomain *dom,
                                const TypedParams *params, GBytes *cookie3, unsigned int flags,
                                gboolean performed, GError *first, DriverDomain *dom_out,
                                GError **error)
{
    g_autoptr(GError) later = NULL;
    g_autoptr(GBytes) cookie4 = NULL;
    g_autoptr(TypedParams) fparams = NULL;
    g_auto(DriverDomain) arrived = DRIVER_DOMAIN_INIT;
    gboolean finished;

    /* Finish: cancelled when Perform failed */
    FLOG_DEBUG("domain '%s': finish3%s", dom->name, performed ? "" : " (cancelled)");
    fparams = typed_params_copy(params);
    if (!typed_params_find(fparams, MIGRATION_PARAM_DEST_NAME) &&
        typed_params_add_string(fparams, MIGRATION_PARAM_DEST_NAME, dom->name, &later) < 0)
        ferry_error_keep_first(&first, g_steal_pointer(&later));
    finished = dst->ops->migrate_finish3(dst, fparams, cookie3, flags, !performed, &arrived,
                                         &cookie4, &later);
    if (!finished && !performed) {
        /* a cancelled Finish3 answers no domain, often with an error: the
         * expected outcome, not news for the user */
        FLOG_DEBUG("domain '%s': cancelled finish3: %s", dom->name,
                   later ? later->message : "no domain");
        g_clear_error(&later);
    } else if (!finished) {
        ferry_error_keep_first(&first, g_steal_pointer(&later));
    }

    /* Confirm: cancelled when Finish gave no domain */
    FLOG_DEBUG("domain '%s': confirm3%s", dom->name, finished ? "" : " (cancelled)");
    if (!src->ops->migrate_confirm3(src, dom, params, cookie4, flags, !finished, &later))
        ferry_error_keep_first(&first, g_steal_pointer(&later));

    if (first || !finished) {
        if (!first)
            ferry_fail(&first, FERRY_ERR_OPERATION_FAILED,
                       "domain '%s': the migration did not finish", dom->name);
        g_propagate_error(error, first);
        return FALSE;
    }
    if (dom_out)
        driver_domain_copy(dom_out, &arrived);
    return TRUE;
}

gboolean migration_sequence(DriverConn *src, DriverConn *dst, const DriverDomain *dom,
                            const TypedParams *params, unsigned int flags, DriverDomain *dom_out,
                            GError **error)
{
    g_autoptr(GError) first = NULL;
    g_autoptr(GError) later = NULL;
    g_autoptr(GBytes) cookie1 = NULL, cookie2 = NULL, cookie3 = NULL;
    g_autofree char *xml = NULL;
    g_autofree char *uri = NULL;
    g_autoptr(TypedParams) dparams = NULL, sparams = NULL;
    gboolean supported = FALSE;
    gboolean performed;

    if (!sequence_check_conn(src, "source", error) ||
        !sequence_check_conn(dst, "destination", error))
        return FALSE;
    if (src->ops->supports_feature(src, DRIVER_FEATURE_MIGRATE_CHANGE_PROTECTION, &supported,
                                   NULL) &&
        supported)
        flags |= MIGRATION_CHANGE_PROTECTION;

    /* Begin: a failure changes nothing */
    FLOG_DEBUG("domain '%s': begin3", dom->name);
    if (!src->ops->migrate_begin3(src, dom, params, flags, &cookie1, &xml, error))
        return FALSE;
    if (!(flags & MIGRATION_OFFLINE)) {
        int state = 0, reason = 0;

        if (src->ops->get_state && src->ops->get_state(src, dom, &state, &reason, 0, NULL) &&
            state == DRIVER_STATE_PAUSED)
            flags |= MIGRATION_PAUSED;
    }

    /* Prepare */
    FLOG_DEBUG("domain '%s': prepare3", dom->name);
    if (!(dparams = params_with(params, MIGRATION_PARAM_DEST_XML, xml, &first)) ||
        !dst->ops->migrate_prepare3(
            dst, dparams, cookie1,
            flags & ~(unsigned int)(MIGRATION_ABORT_ON_ERROR | MIGRATION_AUTO_CONVERGE), &cookie2,
            &uri, &first)) {
        FLOG_DEBUG("domain '%s': prepare3 failed; confirm3 (cancelled)", dom->name);
        if (!src->ops->migrate_confirm3(src, dom, params, NULL, flags, TRUE, &later))
            ferry_error_keep_first(&first, g_steal_pointer(&later));
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }

    /* Perform */
    FLOG_DEBUG("domain '%s': perform3 to %s", dom->name, uri ? uri : "(no URI)");
    performed =
        (sparams = params_with(params, MIGRATION_PARAM_URI, uri, &first)) &&
        src->ops->migrate_perform3(src, dom, NULL, sparams, cookie2, flags, &cookie3, &first);

    return migration_sequence_end(src, dst, dom, params, cookie3, flags, performed,
                                  g_steal_pointer(&first), dom_out, error);
}
