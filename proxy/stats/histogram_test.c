/* Histogram buckets, merge across shards, quantile estimates and flush intervals. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/stats/stats.h"

static void buckets_follow_envoy_bounds(void **state)
{
    (void)state;
    assert_true(rs_stats_histogram_bounds[0] == 0.5);
    assert_true(rs_stats_histogram_bounds[RS_STATS_HISTOGRAM_BUCKETS - 1] == 3600000);

    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *a = rs_stats_shard_new(st), *b = rs_stats_shard_new(st);
    rs_stat_id h = rs_stats_histogram(st, "cluster.x.upstream_rq_time");
    rs_stats_histogram_record(a, h, 0);       /* <= 0.5 */
    rs_stats_histogram_record(a, h, 1);       /* <= 1 */
    rs_stats_histogram_record(b, h, 5);       /* <= 5 (bounds are inclusive, as Prometheus' le) */
    rs_stats_histogram_record(b, h, 6);       /* <= 10 */
    rs_stats_histogram_record(b, h, 4000000); /* above every bound */

    struct rs_stats_histogram_summary s;
    rs_stats_histogram_value(st, h, &s);
    assert_int_equal(s.count, 5);
    assert_int_equal(s.sum, 4000012);
    assert_int_equal(s.min, 0);
    assert_int_equal(s.max, 4000000);
    assert_int_equal(s.bucket_counts[0], 1);
    assert_int_equal(s.bucket_counts[1], 2);
    assert_int_equal(s.bucket_counts[2], 3);
    assert_int_equal(s.bucket_counts[3], 4);
    assert_int_equal(s.bucket_counts[RS_STATS_HISTOGRAM_BUCKETS - 1], 4);
    rs_stats_store_free(st);
}

static void quantiles(void **state)
{
    (void)state;
    struct rs_stats_histogram_summary empty = {0};
    assert_true(isnan(rs_stats_histogram_quantile(&empty, 0.5)));

    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s = rs_stats_shard_new(st);
    rs_stat_id one = rs_stats_histogram(st, "one");
    rs_stats_histogram_record(s, one, 7);
    struct rs_stats_histogram_summary h;
    rs_stats_histogram_value(st, one, &h);
    /* A single value: every quantile is that value (clamped by min and max). */
    assert_true(rs_stats_histogram_quantile(&h, 0) == 7);
    assert_true(rs_stats_histogram_quantile(&h, 0.5) == 7);
    assert_true(rs_stats_histogram_quantile(&h, 1) == 7);

    /* 100 values 1..100: the median lands in (25,50], P100 is the max, P0 the min. */
    rs_stat_id many = rs_stats_histogram(st, "many");
    for (uint64_t v = 1; v <= 100; v++)
        rs_stats_histogram_record(s, many, v);
    rs_stats_histogram_value(st, many, &h);
    double p50 = rs_stats_histogram_quantile(&h, 0.5);
    assert_true(p50 > 25 && p50 <= 50);
    assert_true(rs_stats_histogram_quantile(&h, 1) == 100);
    assert_true(rs_stats_histogram_quantile(&h, 0) == 1);
    double p90 = rs_stats_histogram_quantile(&h, 0.9);
    assert_true(p90 > 50 && p90 <= 100);
    /* Monotonic. */
    double last = -1;
    for (double q = 0; q <= 1.0; q += 0.05) {
        double v = rs_stats_histogram_quantile(&h, q);
        assert_true(v >= last);
        last = v;
    }
    rs_stats_store_free(st);
}

static void flush_intervals(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s = rs_stats_shard_new(st);
    rs_stat_id h = rs_stats_histogram(st, "h");
    struct rs_stats_histogram_summary iv;
    rs_stats_histogram_record(s, h, 3);
    rs_stats_histogram_interval_value(st, h, &iv);
    assert_int_equal(iv.count, 0); /* no interval closed yet */
    rs_stats_flush(st);
    rs_stats_histogram_interval_value(st, h, &iv);
    assert_int_equal(iv.count, 1);
    assert_int_equal(iv.sum, 3);
    rs_stats_histogram_record(s, h, 20);
    rs_stats_histogram_record(s, h, 20);
    rs_stats_flush(st);
    rs_stats_histogram_interval_value(st, h, &iv);
    assert_int_equal(iv.count, 2);
    assert_int_equal(iv.sum, 40);
    assert_int_equal(iv.bucket_counts[3], 0); /* <= 10 */
    assert_int_equal(iv.bucket_counts[4], 2); /* <= 25 */
    rs_stats_flush(st);
    rs_stats_histogram_interval_value(st, h, &iv);
    assert_int_equal(iv.count, 0);
    struct rs_stats_histogram_summary all;
    rs_stats_histogram_value(st, h, &all);
    assert_int_equal(all.count, 3);
    rs_stats_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_follow_envoy_bounds),
        cmocka_unit_test(quantiles),
        cmocka_unit_test(flush_intervals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
