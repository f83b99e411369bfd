/* Cluster manager: whole-config validation with indexed error paths, duplicate names, lookup,
 * manager stats, initialisation without DNS, and admin /clusters in text and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/cluster_manager.h"
#include "proxy/upstream/lb.h"
#include "proxy/upstream/test_util.h"

#define STATIC_A                                                                                   \
    "name: backend\n"                                                                              \
    "load_assignment:\n"                                                                           \
    "  cluster_name: backend\n"                                                                    \
    "  endpoints:\n"                                                                               \
    "  - locality: {region: us-east, zone: us-east-1a}\n"                                          \
    "    lb_endpoints:\n"                                                                          \
    "    - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8080}}}\n"        \
    "    - endpoint:\n"                                                                            \
    "        hostname: six\n"                                                                      \
    "        address: {socket_address: {address: '::1', port_value: 8081}}\n"                      \
    "      load_balancing_weight: 2\n"

#define STATIC_B "name: other\n"
#define ODST "name: passthrough\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\n"

static struct rs_cluster_manager *build(const char *const *yamls, size_t n,
                                        const struct rs_cluster_manager_options *opt, char *err,
                                        size_t err_len)
{
    Envoy__Config__Cluster__V3__Cluster *pbs[8] = {0};
    for (size_t i = 0; i < n; i++)
        pbs[i] = rs_test_cluster_pb(yamls[i]);
    struct rs_cluster_manager *cm =
        rs_cluster_manager_new(opt, pbs, n, "static_resources.clusters", err, err_len);
    for (size_t i = 0; i < n; i++)
        rs_test_cluster_pb_free(pbs[i]);
    return cm;
}

static void test_errors_name_the_cluster(void **state)
{
    (void)state;
    char err[512];
    struct rs_cluster_manager_options opt = {.n_workers = 1};
    const char *bad[] = {STATIC_A, "name: x\ntype: EDS\n"};
    assert_null(build(bad, 2, &opt, err, sizeof(err)));
    assert_string_equal(err, "static_resources.clusters[1].type: EDS is not supported yet");

    const char *dup[] = {STATIC_B, STATIC_A, STATIC_B};
    assert_null(build(dup, 3, &opt, err, sizeof(err)));
    assert_string_equal(err, "static_resources.clusters[2].name: duplicate cluster 'other'");
}

static void on_init(void *arg)
{
    (*(int *)arg)++;
}

static void test_find_stats_and_init(void **state)
{
    (void)state;
    char err[512];
    struct rs_stats_store *store = rs_stats_store_new();
    struct rs_stats_shard *shard = rs_stats_shard_new(store);
    struct rs_cluster_manager_options opt = {.n_workers = 2, .stats = store, .main_shard = shard};
    const char *ok[] = {STATIC_B, STATIC_A, ODST};
    struct rs_cluster_manager *cm = build(ok, 3, &opt, err, sizeof(err));
    assert_non_null(cm);
    assert_int_equal(rs_cluster_manager_count(cm), 3);
    assert_string_equal(rs_cluster_manager_at(cm, 1)->name, "backend");
    assert_non_null(rs_cluster_manager_find(cm, "backend"));
    assert_non_null(rs_cluster_manager_find(cm, "other"));
    assert_non_null(rs_cluster_manager_find(cm, "passthrough"));
    assert_null(rs_cluster_manager_find(cm, "missing"));

    enum rs_stat_kind kind;
    rs_stat_id active = rs_stats_find(store, "cluster_manager.active_clusters", &kind);
    assert_int_equal(kind, RS_STAT_GAUGE);
    assert_int_equal(rs_stats_gauge_value(store, active), 3);
    rs_stat_id added = rs_stats_find(store, "cluster_manager.cluster_added", &kind);
    assert_int_equal(rs_stats_counter_value(store, added), 3);

    /* The data path's stats are registered under Envoy's names. */
    struct rs_cluster *c = rs_cluster_manager_find(cm, "backend");
    const char *names[] = {"upstream_cx_total",
                           "upstream_cx_active",
                           "upstream_cx_connect_fail",
                           "upstream_cx_connect_timeout",
                           "upstream_cx_connect_attempts_exceeded",
                           "upstream_cx_none_healthy",
                           "upstream_cx_destroy",
                           "upstream_cx_destroy_local",
                           "upstream_cx_destroy_remote",
                           "upstream_cx_rx_bytes_total",
                           "upstream_cx_tx_bytes_total",
                           "upstream_cx_overflow",
                           "upstream_cx_connect_ms",
                           "upstream_cx_length_ms",
                           "membership_total",
                           "membership_healthy",
                           "membership_change",
                           "max_host_weight",
                           "update_attempt",
                           "update_success",
                           "update_failure",
                           "update_no_rebuild",
                           "lb_healthy_panic"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char full[128];
        snprintf(full, sizeof(full), "cluster.backend.%s", names[i]);
        if (rs_stats_find(store, full, &kind) == RS_STAT_INVALID)
            fail_msg("stat %s not registered", full);
    }
    assert_int_equal(rs_stats_find(store, "cluster.backend.upstream_cx_connect_ms", &kind),
                     c->stats.upstream_cx_connect_ms);
    assert_int_equal(kind, RS_STAT_HISTOGRAM);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.membership_total), 2);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.max_host_weight), 2);

    /* Nothing to resolve: initialised before start returns. */
    int calls = 0;
    assert_int_equal(rs_cluster_manager_start(cm, on_init, &calls, err, sizeof(err)), 0);
    assert_int_equal(calls, 1);
    assert_true(rs_cluster_manager_initialized(cm));
    rs_cluster_manager_free(cm);
    rs_stats_store_free(store);
}

static bool contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) != NULL)
        return true;
    print_error("missing: %s\nin:\n%s\n", needle, hay);
    return false;
}

static void test_render(void **state)
{
    (void)state;
    char err[512];
    struct rs_cluster_manager_options opt = {.n_workers = 1};
    const char *ok[] = {STATIC_A, STATIC_B};
    struct rs_cluster_manager *cm = build(ok, 2, &opt, err, sizeof(err));
    assert_non_null(cm);

    /* Some traffic on the IPv4 host, as the data path would count it. */
    struct rs_host *h = rs_cluster_hosts(rs_cluster_manager_find(cm, "backend"))->hosts[0];
    rs_host_stat_inc(&h->stats.cx_total);
    rs_host_stat_inc(&h->stats.cx_total);
    rs_host_stat_gauge_add(&h->stats.cx_active, 1);
    rs_host_stat_inc(&h->stats.cx_connect_fail);

    struct rs_strbuf out = RS_STRBUF_INIT;
    rs_cluster_manager_render(cm, false, &out);
    const char *want[] = {
        "backend::observability_name::backend\n",
        "backend::default_priority::max_connections::1024\n",
        "backend::default_priority::max_pending_requests::1024\n",
        "backend::default_priority::max_requests::1024\n",
        "backend::default_priority::max_retries::3\n",
        "backend::high_priority::max_connections::1024\n",
        "backend::added_via_api::false\n",
        "backend::127.0.0.1:8080::cx_active::1\n"
        "backend::127.0.0.1:8080::cx_connect_fail::1\n"
        "backend::127.0.0.1:8080::cx_total::2\n"
        "backend::127.0.0.1:8080::rq_active::0\n"
        "backend::127.0.0.1:8080::rq_error::0\n"
        "backend::127.0.0.1:8080::rq_success::0\n"
        "backend::127.0.0.1:8080::rq_timeout::0\n"
        "backend::127.0.0.1:8080::rq_total::0\n"
        "backend::127.0.0.1:8080::hostname::\n"
        "backend::127.0.0.1:8080::health_flags::healthy\n"
        "backend::127.0.0.1:8080::weight::1\n"
        "backend::127.0.0.1:8080::region::us-east\n"
        "backend::127.0.0.1:8080::zone::us-east-1a\n"
        "backend::127.0.0.1:8080::sub_zone::\n"
        "backend::127.0.0.1:8080::canary::false\n"
        "backend::127.0.0.1:8080::priority::0\n"
        "backend::127.0.0.1:8080::success_rate::-1\n"
        "backend::127.0.0.1:8080::local_origin_success_rate::-1\n",
        "backend::[::1]:8081::hostname::six\n",
        "backend::[::1]:8081::weight::2\n",
        "other::added_via_api::false\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_true(contains(out.data, want[i]));

    /* Health flags are rendered Envoy's way once something sets them. */
    atomic_store(&h->health_flags, RS_HOST_FAILED_ACTIVE_HC | RS_HOST_FAILED_OUTLIER_CHECK);
    rs_strbuf_reset(&out);
    rs_cluster_manager_render(cm, false, &out);
    assert_true(contains(out.data, "backend::127.0.0.1:8080::health_flags::/failed_active_hc/"
                                   "failed_outlier_check\n"));

    rs_strbuf_reset(&out);
    rs_cluster_manager_render(cm, true, &out);
    const char *jwant[] = {
        "{\"cluster_statuses\":[{\"name\":\"backend\",\"observability_name\":\"backend\"",
        "\"circuit_breakers\":{\"thresholds\":[{\"max_connections\":1024,"
        "\"max_pending_requests\":1024,\"max_requests\":1024,\"max_retries\":3},"
        "{\"priority\":\"HIGH\",",
        "\"host_statuses\":[{\"address\":{\"socket_address\":{\"address\":\"127.0.0.1\","
        "\"port_value\":8080}},\"stats\":[{\"value\":\"1\",\"name\":\"cx_connect_fail\"},"
        "{\"value\":\"2\",\"name\":\"cx_total\"},{\"name\":\"rq_error\"}",
        "{\"type\":\"GAUGE\",\"value\":\"1\",\"name\":\"cx_active\"},"
        "{\"type\":\"GAUGE\",\"name\":\"rq_active\"}],",
        "\"health_status\":{\"eds_health_status\":\"HEALTHY\",\"failed_active_health_check\":"
        "true,\"failed_outlier_check\":true},\"weight\":1,"
        "\"locality\":{\"region\":\"us-east\",\"zone\":\"us-east-1a\"}}",
        "{\"address\":{\"socket_address\":{\"address\":\"::1\",\"port_value\":8081}}",
        "\"weight\":2,",
        "\"hostname\":\"six\"}",
        "{\"name\":\"other\",\"observability_name\":\"other\"",
        "\"host_statuses\":[]}]}\n",
    };
    for (size_t i = 0; i < sizeof(jwant) / sizeof(jwant[0]); i++)
        assert_true(contains(out.data, jwant[i]));

    rs_strbuf_free(&out);
    rs_cluster_manager_free(cm);
}

static void test_clusters_outlive_manager(void **state)
{
    (void)state;
    char err[512];
    struct rs_cluster_manager_options opt = {.n_workers = 1};
    const char *ok[] = {STATIC_A};
    struct rs_cluster_manager *cm = build(ok, 1, &opt, err, sizeof(err));
    /* A config snapshot keeps its cluster after the manager goes (e.g. during a drain). */
    struct rs_cluster *kept = rs_cluster_ref(rs_cluster_manager_find(cm, "backend"));
    rs_cluster_manager_free(cm);
    struct rs_host *h = rs_cluster_pick_host(kept, 0, NULL);
    assert_non_null(h);
    rs_host_unref(h);
    rs_cluster_unref(kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_name_the_cluster),
        cmocka_unit_test(test_find_stats_and_init),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_clusters_outlive_manager),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
