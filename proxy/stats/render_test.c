/* The three admin renderings on a small store, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/stats.h"

struct fixture {
    struct rs_stats_store *st;
    struct rs_stats_shard *shard;
};

static int setup(void **state)
{
    static struct fixture f;
    f.st = rs_stats_store_new();
    f.shard = rs_stats_shard_new(f.st);
    rs_stats_add(f.shard, rs_stats_counter(f.st, "cluster.b.upstream_rq_200"), 3);
    rs_stats_add(f.shard, rs_stats_counter(f.st, "cluster.a.upstream_rq_200"), 2);
    rs_stats_add(f.shard, rs_stats_counter(f.st, "cluster.a.upstream_rq_503"), 1);
    rs_stats_counter(f.st, "cluster.a.upstream_cx_total"); /* never written */
    rs_stats_gauge_add(f.shard, rs_stats_gauge(f.st, "server.live"), 1);
    rs_stats_gauge_add(f.shard, rs_stats_gauge(f.st, "cluster.a.upstream_cx_active"), -2);
    rs_stat_id h = rs_stats_histogram(f.st, "cluster.a.upstream_rq_time");
    rs_stats_histogram_record(f.shard, h, 7);
    rs_stats_histogram(f.st, "cluster.a.upstream_cx_length_ms"); /* never recorded */
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_stats_store_free(f->st);
    return 0;
}

static void text(void **state)
{
    struct fixture *f = *state;
    struct rs_strbuf sb = RS_STRBUF_INIT;
    assert_int_equal(rs_stats_render_text(f->st, NULL, &sb), 0);
    assert_string_equal(sb.data,
                        "cluster.a.upstream_cx_active: -2\n"
                        "cluster.a.upstream_cx_total: 0\n"
                        "cluster.a.upstream_rq_200: 2\n"
                        "cluster.a.upstream_rq_503: 1\n"
                        "cluster.b.upstream_rq_200: 3\n"
                        "server.live: 1\n"
                        "cluster.a.upstream_cx_length_ms: No recorded values\n"
                        "cluster.a.upstream_rq_time: P0(nan,7) P25(nan,7) P50(nan,7) P75(nan,7) "
                        "P90(nan,7) P95(nan,7) P99(nan,7) P99.5(nan,7) P99.9(nan,7) "
                        "P100(nan,7)\n");
    rs_strbuf_reset(&sb);
    /* After a flush the interval has the value too. */
    rs_stats_flush(f->st);
    struct rs_stats_render_options opt = {.filter = "rq_time"};
    assert_int_equal(rs_stats_render_text(f->st, &opt, &sb), 0);
    assert_string_equal(sb.data, "cluster.a.upstream_rq_time: P0(7,7) P25(7,7) P50(7,7) P75(7,7) "
                                 "P90(7,7) P95(7,7) P99(7,7) P99.5(7,7) P99.9(7,7) P100(7,7)\n");
    rs_strbuf_free(&sb);
}

static void filter_and_used_only(void **state)
{
    struct fixture *f = *state;
    struct rs_strbuf sb = RS_STRBUF_INIT;
    struct rs_stats_render_options opt = {.filter = "^cluster\\.a\\.upstream_(cx|rq_2)",
                                          .used_only = true};
    assert_int_equal(rs_stats_render_text(f->st, &opt, &sb), 0);
    assert_string_equal(sb.data, "cluster.a.upstream_cx_active: -2\n"
                                 "cluster.a.upstream_rq_200: 2\n");
    rs_strbuf_reset(&sb);
    opt.filter = "(unclosed";
    assert_int_equal(rs_stats_render_text(f->st, &opt, &sb), -1);
    assert_non_null(strstr(sb.data, "Invalid regex"));
    rs_strbuf_free(&sb);
}

static void json(void **state)
{
    struct fixture *f = *state;
    struct rs_strbuf sb = RS_STRBUF_INIT;
    struct rs_stats_render_options opt = {.filter = "cluster\\.a\\.upstream_(rq_5|cx_l|rq_t)"};
    assert_int_equal(rs_stats_render_json(f->st, &opt, &sb), 0);
    assert_string_equal(
        sb.data,
        "{\"stats\":[{\"name\":\"cluster.a.upstream_rq_503\",\"value\":1},"
        "{\"histograms\":{\"supported_quantiles\":[0,25,50,75,90,95,99,99.5,99.9,100],"
        "\"computed_quantiles\":["
        "{\"name\":\"cluster.a.upstream_cx_length_ms\",\"values\":["
        "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
        "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
        "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
        "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null},"
        "{\"interval\":null,\"cumulative\":null},{\"interval\":null,\"cumulative\":null}]},"
        "{\"name\":\"cluster.a.upstream_rq_time\",\"values\":["
        "{\"interval\":null,\"cumulative\":7},{\"interval\":null,\"cumulative\":7},"
        "{\"interval\":null,\"cumulative\":7},{\"interval\":null,\"cumulative\":7},"
        "{\"interval\":null,\"cumulative\":7},{\"interval\":null,\"cumulative\":7},"
        "{\"interval\":null,\"cumulative\":7},{\"interval\":null,\"cumulative\":7},"
        "{\"interval\":null,\"cumulative\":7},{\"interval\":null,\"cumulative\":7}]}]}}]}\n");
    rs_strbuf_reset(&sb);
    opt.filter = "^server";
    assert_int_equal(rs_stats_render_json(f->st, &opt, &sb), 0);
    assert_string_equal(sb.data, "{\"stats\":[{\"name\":\"server.live\",\"value\":1}]}\n");
    rs_strbuf_reset(&sb);
    opt.filter = "^nothing";
    assert_int_equal(rs_stats_render_json(f->st, &opt, &sb), 0);
    assert_string_equal(sb.data, "{\"stats\":[]}\n");
    rs_strbuf_free(&sb);
}

static void prometheus(void **state)
{
    struct fixture *f = *state;
    struct rs_strbuf sb = RS_STRBUF_INIT;
    struct rs_stats_render_options opt = {.filter = "upstream_rq|server"};
    assert_int_equal(rs_stats_render_prometheus(f->st, &opt, &sb), 0);
    assert_string_equal(
        sb.data,
        "# TYPE envoy_cluster_upstream_rq counter\n"
        "envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"a\"} 2\n"
        "envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"b\"} 3\n"
        "envoy_cluster_upstream_rq{envoy_response_code=\"503\",envoy_cluster_name=\"a\"} 1\n"
        "# TYPE envoy_cluster_upstream_rq_time histogram\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"0.5\"} 0\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"1\"} 0\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"5\"} 0\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"10\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"25\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"50\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"100\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"250\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"500\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"1000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"2500\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"5000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"10000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"30000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"60000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"300000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"600000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"1800000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"3600000\"} 1\n"
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"a\",le=\"+Inf\"} 1\n"
        "envoy_cluster_upstream_rq_time_sum{envoy_cluster_name=\"a\"} 7\n"
        "envoy_cluster_upstream_rq_time_count{envoy_cluster_name=\"a\"} 1\n"
        "# TYPE envoy_server_live gauge\n"
        "envoy_server_live 1\n");
    rs_strbuf_free(&sb);
}

static void prometheus_collisions(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s = rs_stats_shard_new(st);
    /* Both collapse to envoy_server_a_b: one series survives. */
    rs_stats_add(s, rs_stats_counter(st, "server.a-b"), 1);
    rs_stats_add(s, rs_stats_counter(st, "server.a_b"), 2);
    /* Same family, other type: the later type is dropped, one TYPE line stays. */
    rs_stats_add(s, rs_stats_counter(st, "cluster.x.foo"), 1);
    rs_stats_gauge_add(s, rs_stats_gauge(st, "cluster.y.foo"), 1);
    /* Label values are escaped. */
    rs_stats_add(s, rs_stats_counter(st, "cluster.q\"\\.bar"), 4);
    struct rs_strbuf sb = RS_STRBUF_INIT;
    assert_int_equal(rs_stats_render_prometheus(st, NULL, &sb), 0);
    assert_string_equal(sb.data, "# TYPE envoy_cluster_bar counter\n"
                                 "envoy_cluster_bar{envoy_cluster_name=\"q\\\"\\\\\"} 4\n"
                                 "# TYPE envoy_cluster_foo counter\n"
                                 "envoy_cluster_foo{envoy_cluster_name=\"x\"} 1\n"
                                 "# TYPE envoy_server_a_b counter\n"
                                 "envoy_server_a_b 1\n");
    rs_strbuf_free(&sb);
    rs_stats_store_free(st);
}

static void quantiles_are_rounded(void **state)
{
    (void)state;
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_stats_shard *s = rs_stats_shard_new(st);
    rs_stat_id h = rs_stats_histogram(st, "h");
    rs_stats_histogram_record(s, h, 2);
    rs_stats_histogram_record(s, h, 5);
    struct rs_strbuf sb = RS_STRBUF_INIT;
    assert_int_equal(rs_stats_render_text(st, NULL, &sb), 0);
    /* Interpolated over 2..5 (the integers of bucket (1, 5]) and printed rounded: 4.997, not
     * 4.9970000000000003. */
    assert_string_equal(sb.data, "h: P0(nan,2) P25(nan,2.75) P50(nan,3.5) P75(nan,4.25) "
                                 "P90(nan,4.7) P95(nan,4.85) P99(nan,4.97) P99.5(nan,4.985) "
                                 "P99.9(nan,4.997) P100(nan,5)\n");
    rs_strbuf_free(&sb);
    rs_stats_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(text, setup, teardown),
        cmocka_unit_test_setup_teardown(filter_and_used_only, setup, teardown),
        cmocka_unit_test_setup_teardown(json, setup, teardown),
        cmocka_unit_test_setup_teardown(prometheus, setup, teardown),
        cmocka_unit_test(prometheus_collisions),
        cmocka_unit_test(quantiles_are_rounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
