/* Registration, shards and merged reads of counters and gauges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "proxy/stats/stats.h"

static void find_or_create(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    rs_stat_id a = rs_stats_counter(st, "cluster.a.upstream_cx_total");
    rs_stat_id b = rs_stats_gauge(st, "cluster.a.upstream_cx_active");
    assert_int_not_equal(a, RS_STAT_INVALID);
    assert_int_not_equal(b, RS_STAT_INVALID);
    assert_int_not_equal(a, b);
    assert_int_equal(rs_stats_counter(st, "cluster.a.upstream_cx_total"), a);
    assert_int_equal(rs_stats_counterf(st, "cluster.%s.upstream_cx_total", "a"), a);
    assert_int_equal(rs_stats_gaugef(st, "cluster.%s.upstream_cx_active", "a"), b);
    /* Same name, other kind: refused. */
    assert_int_equal(rs_stats_gauge(st, "cluster.a.upstream_cx_total"), RS_STAT_INVALID);
    assert_int_equal(rs_stats_histogram(st, "cluster.a.upstream_cx_total"), RS_STAT_INVALID);
    assert_int_equal(rs_stats_counter(st, ""), RS_STAT_INVALID);
    assert_int_equal(rs_stats_counter(st, NULL), RS_STAT_INVALID);

    enum rs_stat_kind kind;
    assert_int_equal(rs_stats_find(st, "cluster.a.upstream_cx_active", &kind), b);
    assert_int_equal(kind, RS_STAT_GAUGE);
    assert_int_equal(rs_stats_find(st, "nope", NULL), RS_STAT_INVALID);
    assert_int_equal(rs_stats_count(st), 2);
    rs_stats_store_free(st);
}

static void counters_merge_over_shards(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s1 = rs_stats_shard_new(st);
    rs_stat_id c = rs_stats_counter(st, "server.c");
    /* A shard created after the registration sees the stat too. */
    struct rs_stats_shard *s2 = rs_stats_shard_new(st);
    rs_stats_inc(s1, c);
    rs_stats_add(s1, c, 10);
    rs_stats_add(s2, c, 5);
    assert_int_equal(rs_stats_counter_value(st, c), 16);
    /* Reading a counter as a gauge (or an unknown id) gives zero, never another stat's value. */
    assert_int_equal(rs_stats_gauge_value(st, c), 0);
    assert_int_equal(rs_stats_counter_value(st, 12345), 0);
    rs_stats_store_free(st);
}

static void gauges_sum_signed_deltas(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s1 = rs_stats_shard_new(st), *s2 = rs_stats_shard_new(st);
    rs_stat_id g = rs_stats_gauge(st, "cluster.a.upstream_cx_active");
    rs_stat_id m = rs_stats_gauge(st, "cluster.a.membership_total");
    /* A connection opened on one worker and closed on another leaves the sum right. */
    rs_stats_gauge_add(s1, g, 3);
    rs_stats_gauge_add(s2, g, -5);
    assert_int_equal(rs_stats_gauge_value(st, g), -2);
    rs_stats_gauge_set(s1, m, 7);
    rs_stats_gauge_set(s1, m, 4);
    assert_int_equal(rs_stats_gauge_value(st, m), 4);
    rs_stats_store_free(st);
}

static void used_semantics(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s = rs_stats_shard_new(st);
    rs_stat_id c = rs_stats_counter(st, "c");
    rs_stat_id g = rs_stats_gauge(st, "g");
    rs_stat_id h = rs_stats_histogram(st, "h");
    assert_false(rs_stats_used(st, c));
    assert_false(rs_stats_used(st, g));
    assert_false(rs_stats_used(st, h));
    rs_stats_inc(s, c);
    /* Up and back to zero is still used, as in Envoy. */
    rs_stats_gauge_add(s, g, 1);
    rs_stats_gauge_add(s, g, -1);
    rs_stats_histogram_record(s, h, 0);
    assert_true(rs_stats_used(st, c));
    assert_true(rs_stats_used(st, g));
    assert_int_equal(rs_stats_gauge_value(st, g), 0);
    assert_true(rs_stats_used(st, h));
    rs_stats_store_free(st);
}

static void many_stats_cross_chunks(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *early = rs_stats_shard_new(st);
    enum { N = 3 * RS_STATS_CHUNK_SIZE + 17 };
    static rs_stat_id ids[N];
    for (unsigned i = 0; i < N; i++) {
        ids[i] = rs_stats_counterf(st, "cluster.c%u.upstream_rq_total", i);
        assert_int_equal(ids[i], i);
    }
    struct rs_stats_shard *late = rs_stats_shard_new(st);
    for (unsigned i = 0; i < N; i++) {
        rs_stats_add(early, ids[i], i);
        rs_stats_add(late, ids[i], 1);
    }
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(rs_stats_counter_value(st, ids[i]), i + 1);
    /* Lookups still work after the name table grew. */
    assert_int_equal(rs_stats_find(st, "cluster.c2000.upstream_rq_total", NULL), ids[2000]);
    rs_stats_store_free(st);
}

static void invalid_id_writes_are_harmless(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s = rs_stats_shard_new(st);
    rs_stat_id c = rs_stats_counter(st, "c");
    rs_stats_inc(s, RS_STAT_INVALID);
    rs_stats_gauge_add(s, RS_STAT_INVALID, -4);
    rs_stats_histogram_record(s, RS_STAT_INVALID, 3);
    /* A counter id given to the histogram call is ignored, not a wild write. */
    rs_stats_histogram_record(s, c, 3);
    assert_int_equal(rs_stats_counter_value(st, c), 0);
    assert_int_equal(rs_stats_count(st), 1);
    rs_stats_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(find_or_create),
        cmocka_unit_test(counters_merge_over_shards),
        cmocka_unit_test(gauges_sum_signed_deltas),
        cmocka_unit_test(used_semantics),
        cmocka_unit_test(many_stats_cross_chunks),
        cmocka_unit_test(invalid_id_writes_are_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
