/*
 * test-autokill.c: domains destroyed when their connection closes.
 *
 * "Destroying" a domain here records the call; the driver's destroy is the
 * callback it registers.
 */
#include <config.h>

#include <string.h>

#include <glib.h>

#define FERRY_ERROR_DOMAIN FERRY_FROM_DRIVER
#define FERRY_LOG_MODULE "tests.autokill"

#include "util/error.h"
#include "util/log.h"
#include "util/uuid.h"

#include "driver/autokill.h"

/* One registration: how often its callback and its destroy notify ran. */
typedef struct {
    unsigned char uuid[FERRY_UUID_BUFLEN];
    guint64 conn;
    gint called;
    gint destroyed;
    GPtrArray *log; /* where callbacks append "conn:domain" (single-threaded tests) */
    char *name;
    /* Optional re-entry into the map from the callback. */
    Autokill *ak;
    gboolean remove_domain;
} Reg;

static void uuid_for(unsigned char *uuid, int n)
{
    memset(uuid, 0, FERRY_UUID_BUFLEN);
    uuid[0] = 0x42;
    uuid[15] = (unsigned char)n;
    uuid[14] = (unsigned char)(n >> 8);
}

static Reg *reg_new(guint64 conn, int domain, const char *name, GPtrArray *log)
{
    Reg *reg = g_new0(Reg, 1);

    uuid_for(reg->uuid, domain);
    reg->conn = conn;
    reg->log = log;
    reg->name = g_strdup(name);
    return reg;
}

static void reg_free(Reg *reg)
{
    g_free(reg->name);
    g_free(reg);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Reg, reg_free)

static void on_close(guint64 conn, const unsigned char *uuid, gpointer data)
{
    Reg *reg = data;

    g_assert_cmpuint(conn, ==, reg->conn);
    g_assert_true(ferry_uuid_equal(uuid, reg->uuid));
    g_assert_cmpint(g_atomic_int_get(&reg->destroyed), ==, 0);
    g_atomic_int_inc(&reg->called);
    if (reg->log)
        g_ptr_array_add(reg->log, g_strdup_printf("%" G_GUINT64_FORMAT ":%s", conn, reg->name));
    if (reg->ak && reg->remove_domain)
        autokill_remove_domain(reg->ak, reg->uuid);
}

static void on_destroy(gpointer data)
{
    Reg *reg = data;

    g_assert_cmpint(g_atomic_int_get(&reg->called), <=, 1);
    g_assert_cmpint(g_atomic_int_add(&reg->destroyed, 1), ==, 0);
}

static void add(Autokill *ak, Reg *reg)
{
    autokill_add(ak, reg->conn, reg->uuid, on_close, reg, on_destroy);
}

static char *joined(GPtrArray *log)
{
    g_ptr_array_add(log, NULL);
    char *s = g_strjoinv(" ", (char **)log->pdata);
    g_ptr_array_remove_index(log, log->len - 1);
    return s;
}

static void test_close_runs_its_own(void)
{
    g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Autokill) ak = autokill_new();
    g_autoptr(Reg) a = reg_new(1, 1, "a", log);
    g_autoptr(Reg) b = reg_new(1, 2, "b", log);
    g_autoptr(Reg) c = reg_new(2, 3, "c", log);

    add(ak, a);
    add(ak, b);
    add(ak, c);
    g_assert_cmpuint(autokill_count(ak, 1), ==, 2);
    g_assert_cmpuint(autokill_count(ak, 2), ==, 1);
    g_assert_cmpuint(autokill_count(ak, 3), ==, 0);

    /* A connection without entries. */
    g_assert_cmpuint(autokill_run(ak, 3), ==, 0);
    g_assert_cmpuint(log->len, ==, 0);

    /* Connection 1 closes: a and b, in the order added, once each. */
    g_assert_cmpuint(autokill_run(ak, 1), ==, 2);
    g_autofree char *after1 = joined(log);
    g_assert_cmpstr(after1, ==, "1:a 1:b");
    g_assert_cmpint(a->called, ==, 1);
    g_assert_cmpint(a->destroyed, ==, 1);
    g_assert_cmpint(b->destroyed, ==, 1);
    g_assert_cmpint(c->called, ==, 0);
    g_assert_false(autokill_contains(ak, 1, a->uuid));
    g_assert_true(autokill_contains(ak, 2, c->uuid));

    /* Closing again finds nothing. */
    g_assert_cmpuint(autokill_run(ak, 1), ==, 0);
    g_assert_cmpuint(autokill_run(ak, 2), ==, 1);
    g_autofree char *after2 = joined(log);
    g_assert_cmpstr(after2, ==, "1:a 1:b 2:c");
    g_assert_cmpint(c->called, ==, 1);
    g_assert_cmpint(c->destroyed, ==, 1);
}

static void test_remove_prevents_kill(void)
{
    g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Autokill) ak = autokill_new();
    g_autoptr(Reg) a = reg_new(7, 1, "a", log);
    g_autoptr(Reg) b = reg_new(7, 2, "b", log);

    add(ak, a);
    add(ak, b);
    /* Finish: the incoming domain a stays. */
    g_assert_true(autokill_remove(ak, 7, a->uuid));
    g_assert_cmpint(a->destroyed, ==, 1);
    g_assert_false(autokill_remove(ak, 7, a->uuid));
    /* Wrong connection: nothing. */
    g_assert_false(autokill_remove(ak, 8, b->uuid));

    g_assert_cmpuint(autokill_run(ak, 7), ==, 1);
    g_autofree char *s = joined(log);
    g_assert_cmpstr(s, ==, "7:b");
    g_assert_cmpint(a->called, ==, 0);

    /* Removing the last entry forgets the connection. */
    g_autoptr(Reg) c = reg_new(9, 3, "c", log);
    add(ak, c);
    g_assert_true(autokill_remove(ak, 9, c->uuid));
    g_assert_cmpuint(autokill_count(ak, 9), ==, 0);
    g_assert_cmpuint(autokill_run(ak, 9), ==, 0);
    g_assert_cmpint(c->called, ==, 0);
}

static void test_domain_in_two_connections(void)
{
    g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Autokill) ak = autokill_new();
    g_autoptr(Reg) a1 = reg_new(1, 1, "a", log);
    g_autoptr(Reg) a2 = reg_new(2, 1, "a", log);
    g_autoptr(Reg) d1 = reg_new(1, 4, "d", log);
    g_autoptr(Reg) d2 = reg_new(2, 4, "d", log);

    /* a: each connection on its own. */
    add(ak, a1);
    add(ak, a2);
    g_assert_cmpuint(autokill_run(ak, 1), ==, 1);
    g_assert_true(autokill_contains(ak, 2, a2->uuid));
    g_assert_cmpuint(autokill_run(ak, 2), ==, 1);
    g_autofree char *s = joined(log);
    g_assert_cmpstr(s, ==, "1:a 2:a");

    /* d: the destroy callback forgets the domain (it went away), so the
     * second connection's close finds nothing; the callback re-enters the
     * map without deadlock. */
    d1->ak = ak;
    d1->remove_domain = TRUE;
    add(ak, d1);
    add(ak, d2);
    g_assert_cmpuint(autokill_run(ak, 1), ==, 1);
    g_assert_cmpint(d2->called, ==, 0);
    g_assert_cmpint(d2->destroyed, ==, 1);
    g_assert_cmpuint(autokill_run(ak, 2), ==, 0);
    g_assert_cmpint(d1->called, ==, 1);
}

static void test_remove_domain_and_free(void)
{
    g_autoptr(Autokill) ak = autokill_new();
    g_autoptr(Reg) a1 = reg_new(1, 1, "a", NULL);
    g_autoptr(Reg) a2 = reg_new(2, 1, "a", NULL);
    g_autoptr(Reg) b1 = reg_new(1, 2, "b", NULL);
    g_autoptr(Reg) b3 = reg_new(3, 2, "b", NULL);

    add(ak, a1);
    add(ak, a2);
    add(ak, b1);
    add(ak, b3);
    g_assert_cmpuint(autokill_remove_domain(ak, a1->uuid), ==, 2);
    g_assert_cmpuint(autokill_remove_domain(ak, a1->uuid), ==, 0);
    g_assert_cmpint(a1->destroyed, ==, 1);
    g_assert_cmpint(a2->destroyed, ==, 1);
    g_assert_cmpuint(autokill_count(ak, 1), ==, 1);
    g_assert_cmpuint(autokill_count(ak, 2), ==, 0);

    /* Freeing the map forgets b without killing it. */
    g_clear_pointer(&ak, autokill_free);
    g_assert_cmpint(b1->called, ==, 0);
    g_assert_cmpint(b1->destroyed, ==, 1);
    g_assert_cmpint(b3->called, ==, 0);
    g_assert_cmpint(b3->destroyed, ==, 1);
}

static void test_replace(void)
{
    g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(Autokill) ak = autokill_new();
    g_autoptr(Reg) first = reg_new(5, 1, "first", log);
    g_autoptr(Reg) second = reg_new(5, 1, "second", log);

    add(ak, first);
    add(ak, second);
    g_assert_cmpint(first->destroyed, ==, 1);
    g_assert_cmpuint(autokill_count(ak, 5), ==, 1);
    g_assert_cmpuint(autokill_run(ak, 5), ==, 1);
    g_autofree char *s = joined(log);
    g_assert_cmpstr(s, ==, "5:second");
    g_assert_cmpint(first->called, ==, 0);
}

/* A callback that registers and removes entries while it runs. */
typedef struct {
    Autokill *ak;
    Reg *later; /* added for another connection from inside the callback */
    Reg *victim; /* removed from inside the callback */
    gboolean removed;
} Reenter;

static void on_close_reenter(guint64 conn, const unsigned char *uuid, gpointer data)
{
    Reenter *r = data;

    add(r->ak, r->later);
    r->removed = autokill_remove(r->ak, r->victim->conn, r->victim->uuid);
    /* A nested close of another connection. */
    autokill_run(r->ak, 99);
}

static void test_callback_reenters(void)
{
    g_autoptr(Autokill) ak = autokill_new();
    g_autoptr(Reg) later = reg_new(2, 2, "later", NULL);
    g_autoptr(Reg) victim = reg_new(3, 3, "victim", NULL);
    g_autoptr(Reg) nested = reg_new(99, 4, "nested", NULL);
    unsigned char uuid[FERRY_UUID_BUFLEN];
    Reenter r = { ak, later, victim, FALSE };

    uuid_for(uuid, 1);
    add(ak, victim);
    add(ak, nested);
    autokill_add(ak, 1, uuid, on_close_reenter, &r, NULL);
    g_assert_cmpuint(autokill_run(ak, 1), ==, 1);
    g_assert_true(r.removed);
    g_assert_cmpint(victim->called, ==, 0);
    g_assert_cmpint(victim->destroyed, ==, 1);
    g_assert_cmpint(nested->called, ==, 1);
    g_assert_true(autokill_contains(ak, 2, later->uuid));
    g_assert_cmpuint(autokill_run(ak, 2), ==, 1);
    g_assert_cmpint(later->called, ==, 1);
}

/* ------------------------------------------------------------ threads */

#define THREADS 8
#define OPS_PER_THREAD 4000
#define CONNS 6
#define DOMAINS 5

typedef struct {
    Autokill *ak;
    int seed;
    GPtrArray *regs; /* Reg * this thread created */
    guint ran; /* sum of autokill_run results */
} Worker;

static gpointer worker_main(gpointer data)
{
    Worker *w = data;
    g_autoptr(GRand) rand = g_rand_new_with_seed(w->seed);

    for (int i = 0; i < OPS_PER_THREAD; i++) {
        guint64 conn = g_rand_int_range(rand, 0, CONNS);
        int domain = g_rand_int_range(rand, 0, DOMAINS);
        unsigned char uuid[FERRY_UUID_BUFLEN];

        uuid_for(uuid, domain);
        switch (g_rand_int_range(rand, 0, 10)) {
        case 0:
        case 1:
        case 2:
        case 3: {
            Reg *reg = reg_new(conn, domain, "t", NULL);

            g_ptr_array_add(w->regs, reg);
            add(w->ak, reg);
            break;
        }
        case 4:
        case 5:
            autokill_remove(w->ak, conn, uuid);
            break;
        case 6:
            autokill_remove_domain(w->ak, uuid);
            break;
        case 7:
        case 8:
            w->ran += autokill_run(w->ak, conn);
            break;
        default:
            autokill_contains(w->ak, conn, uuid);
            autokill_count(w->ak, conn);
            break;
        }
    }
    return NULL;
}

static void test_threads(void)
{
    Autokill *ak = autokill_new();
    Worker workers[THREADS];
    GThread *threads[THREADS];
    guint ran = 0;
    guint called = 0;

    for (int t = 0; t < THREADS; t++) {
        workers[t] =
            (Worker){ ak, 1000 + t, g_ptr_array_new_with_free_func((GDestroyNotify)reg_free), 0 };
        threads[t] = g_thread_new("autokill", worker_main, &workers[t]);
    }
    for (int t = 0; t < THREADS; t++)
        g_thread_join(threads[t]);
    autokill_free(ak);

    /* Every registration ended exactly once; callbacks ran at most once
     * each, and as often as the closes said. */
    for (int t = 0; t < THREADS; t++) {
        ran += workers[t].ran;
        for (guint i = 0; i < workers[t].regs->len; i++) {
            Reg *reg = g_ptr_array_index(workers[t].regs, i);

            g_assert_cmpint(reg->destroyed, ==, 1);
            g_assert_cmpint(reg->called, <=, 1);
            called += reg->called;
        }
        g_ptr_array_unref(workers[t].regs);
    }
    g_assert_cmpuint(called, ==, ran);
    g_assert_cmpuint(called, >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/autokill/close-runs-its-own", test_close_runs_its_own);
    g_test_add_func("/autokill/remove-prevents-kill", test_remove_prevents_kill);
    g_test_add_func("/autokill/domain-in-two-connections", test_domain_in_two_connections);
    g_test_add_func("/autokill/remove-domain-and-free", test_remove_domain_and_free);
    g_test_add_func("/autokill/replace", test_replace);
    g_test_add_func("/autokill/callback-reenters", test_callback_reenters);
    g_test_add_func("/autokill/threads", test_threads);
    return g_test_run();
}
