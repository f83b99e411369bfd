#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/core/loop.h"
#include "proxy/core/qsbr.h"
#include "proxy/core/snapshot.h"

static int freed;
static void count_free(void *p)
{
    (void)p;
    freed++;
}

static void connection_keeps_its_snapshot_across_publish(void **state)
{
    (void)state;
    freed = 0;
    char err[128];
    struct rs_loop_options opt = {.buf_count = 0, .name = "main"};
    struct rs_loop *main_loop = rs_loop_new(&opt, err, sizeof err);
    assert_non_null(main_loop);
    struct rs_qsbr *q = rs_qsbr_new();
    struct rs_qsbr_reader *worker = rs_qsbr_register(q);
    struct rs_snapshot_slot slot = {NULL};

    int a, b;
    rs_snapshot_publish(&slot, rs_snapshot_new(&a, count_free, main_loop, 1), q);
    struct rs_snapshot *held = rs_snapshot_acquire(&slot); /* a connection on the worker */
    assert_ptr_equal(held->data, &a);

    rs_snapshot_publish(&slot, rs_snapshot_new(&b, count_free, main_loop, 2), q);
    rs_qsbr_quiescent(worker);
    rs_qsbr_reclaim(q);         /* publisher's reference on the first one dropped */
    assert_int_equal(freed, 0); /* the connection still holds it */
    struct rs_snapshot *fresh = rs_snapshot_acquire(&slot);
    assert_int_equal(fresh->version, 2);

    rs_snapshot_unref(held, main_loop);
    assert_int_equal(freed, 1);
    rs_snapshot_unref(fresh, main_loop);
    rs_snapshot_clear(&slot);
    assert_int_equal(freed, 2);
    rs_qsbr_unregister(worker);
    rs_qsbr_free(q);
    rs_loop_free(main_loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connection_keeps_its_snapshot_across_publish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
