/*
 * test-driver.c: the common part of driver connections.
 */
#include <config.h>

#include <string.h>

#include "driver/driver.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
    DriverConn parent;
    int *closed;
} FakeConn;

static void fake_close(DriverConn *conn)
{
    FakeConn *fake = (FakeConn *)conn;

    (*fake->closed)++;
    g_free(fake);
}

static const DriverOps fake_ops = {
    .name = "fake",
    .close = fake_close,
};

static void test_conn_refcount(void)
{
    int closed = 0;
    FakeConn *fake = g_new0(FakeConn, 1);

    fake->closed = &closed;
    driver_conn_init(&fake->parent, &fake_ops, "fake:///system");
    DriverConn *conn = &fake->parent;
    g_assert_cmpstr(conn->uri, ==, "fake:///system");
    driver_conn_ref(conn);
    driver_conn_unref(conn);
    g_assert_cmpint(closed, ==, 0);
    driver_conn_unref(conn);
    g_assert_cmpint(closed, ==, 1);
    driver_conn_unref(NULL);
}

static void test_no_support(void)
{
    int closed = 0;
    FakeConn *fake = g_new0(FakeConn, 1);
    g_autoptr(GError) err = NULL;

    fake->closed = &closed;
    driver_conn_init(&fake->parent, &fake_ops, "fake:///system");
    g_autoptr(DriverConn) conn = &fake->parent;
    g_assert_null(conn->ops->migrate_begin3);
    g_assert_false(driver_no_support(conn, "migration", &err));
    g_assert_cmpint(err->code, ==, FERRY_ERR_NO_SUPPORT);
    g_assert_cmpint(ferry_error_domain_of(err), ==, FERRY_FROM_DRIVER);
    g_assert_cmpstr(err->message, ==, "the fake driver does not support migration");
}

static void test_domain_copy(void)
{
    g_auto(DriverDomain) a = DRIVER_DOMAIN_INIT;
    g_auto(DriverDomain) b = DRIVER_DOMAIN_INIT;

    g_assert_cmpint(a.id, ==, -1);
    a.name = g_strdup("web1");
    a.id = 3;
    memset(a.uuid, 0xab, sizeof(a.uuid));
    driver_domain_copy(&b, &a);
    g_assert_cmpstr(b.name, ==, "web1");
    g_assert_true(b.name != a.name);
    g_assert_cmpint(b.id, ==, 3);
    g_assert_cmpmem(b.uuid, sizeof(b.uuid), a.uuid, sizeof(a.uuid));
    driver_domain_clear(&a);
    g_assert_null(a.name);
    g_assert_cmpint(a.id, ==, -1);

    GArray *arr = g_array_new(FALSE, TRUE, sizeof(DriverDomain));
    g_array_append_val(arr, b);
    b.name = NULL; /* the array owns it now */
    driver_domain_array_free(arr);
    driver_domain_array_free(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ferry_log_set_outputs("4:stderr", NULL);
    g_test_add_func("/driver/conn-refcount", test_conn_refcount);
    g_test_add_func("/driver/no-support", test_no_support);
    g_test_add_func("/driver/domain-copy", test_domain_copy);
    return g_test_run();
}
