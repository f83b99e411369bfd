#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/core/qsbr.h"

static int freed;
static void count_free(void *p)
{
    (void)p;
    freed++;
}

static void freed_only_after_every_reader_passes(void **state)
{
    (void)state;
    freed = 0;
    struct rs_qsbr *q = rs_qsbr_new();
    struct rs_qsbr_reader *a = rs_qsbr_register(q);
    struct rs_qsbr_reader *b = rs_qsbr_register(q);
    int obj;
    rs_qsbr_retire(q, &obj, count_free);
    assert_int_equal(rs_qsbr_reclaim(q), 1);
    rs_qsbr_quiescent(a);
    assert_int_equal(rs_qsbr_reclaim(q), 1); /* b may still hold it */
    assert_int_equal(freed, 0);
    rs_qsbr_quiescent(b);
    assert_int_equal(rs_qsbr_reclaim(q), 0);
    assert_int_equal(freed, 1);
    rs_qsbr_unregister(a);
    rs_qsbr_unregister(b);
    rs_qsbr_free(q);
}

static void offline_reader_does_not_block(void **state)
{
    (void)state;
    freed = 0;
    struct rs_qsbr *q = rs_qsbr_new();
    struct rs_qsbr_reader *a = rs_qsbr_register(q);
    struct rs_qsbr_reader *b = rs_qsbr_register(q);
    rs_qsbr_offline(b);
    int obj;
    rs_qsbr_retire(q, &obj, count_free);
    rs_qsbr_quiescent(a);
    assert_int_equal(rs_qsbr_reclaim(q), 0);
    assert_int_equal(freed, 1);
    /* Coming back online after the retirement: the reader cannot have seen the old object. */
    rs_qsbr_online(b);
    rs_qsbr_retire(q, &obj, count_free);
    assert_int_equal(rs_qsbr_reclaim(q), 1);
    rs_qsbr_unregister(a);
    rs_qsbr_unregister(b);
    rs_qsbr_free(q); /* frees the pending one */
    assert_int_equal(freed, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freed_only_after_every_reader_passes),
        cmocka_unit_test(offline_reader_does_not_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
