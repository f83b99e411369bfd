/* tcp_proxy configuration: accepted fields, defaults, and each rejection with its path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "proxy/stats/stats.h"
#include "proxy/tcp/tcp_proxy.h"
#include "proxy/upstream/cluster.h"

static struct rs_cluster *clusters[2];

static struct rs_cluster *make_cluster(const char *name)
{
    char yaml[512], err[256];
    snprintf(yaml, sizeof yaml,
             "name: %s\ntype: STATIC\nload_assignment:\n  cluster_name: %s\n  endpoints:\n"
             "  - lb_endpoints:\n    - endpoint: {address: {socket_address: {address: 127.0.0.1, "
             "port_value: 1}}}\n",
             name, name);
    ProtobufCMessage *pb =
        rs_codec_parse_yaml(&envoy__config__cluster__v3__cluster__descriptor, yaml, strlen(yaml),
                            rs_api_find_type_url, err, sizeof err);
    assert_non_null(pb);
    struct rs_cluster_env env = {.n_workers = 1};
    struct rs_cluster *c =
        rs_cluster_new((Envoy__Config__Cluster__V3__Cluster *)pb, "c", &env, err, sizeof err);
    assert_non_null(c);
    protobuf_c_message_free_unpacked(pb, NULL);
    return c;
}

static struct rs_cluster *lookup(void *ctx, const char *name)
{
    (void)ctx;
    for (int i = 0; i < 2; i++) {
        if (strcmp(clusters[i]->name, name) == 0)
            return rs_cluster_ref(clusters[i]);
    }
    return NULL;
}

/* Builds the filter from YAML; returns 0 or -1 with err filled. */
static int build(const char *yaml, struct rs_network_filter *out, char *err, size_t err_len)
{
    ProtobufCMessage *pb = rs_codec_parse_yaml(
        &envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__descriptor, yaml,
        strlen(yaml), rs_api_find_type_url, err, err_len);
    assert_non_null(pb);
    struct rs_stats_store *store = rs_stats_store_new();
    memset(out, 0, sizeof *out);
    int rc =
        rs_tcp_proxy_filter_new((Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy *)pb,
                                "f.typed_config", lookup, NULL, store, out, err, err_len);
    protobuf_c_message_free_unpacked(pb, NULL);
    if (rc == 0)
        out->free_config(out->config);
    rs_stats_store_free(store);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    clusters[0] = make_cluster("a");
    clusters[1] = make_cluster("b");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rs_cluster_unref(clusters[0]);
    rs_cluster_unref(clusters[1]);
    return 0;
}

static void accepts_single_and_weighted(void **state)
{
    (void)state;
    struct rs_network_filter f;
    char err[256] = "";
    assert_int_equal(build("stat_prefix: s\ncluster: a\nidle_timeout: 5s\n"
                           "max_connect_attempts: 3\n",
                           &f, err, sizeof err),
                     0);
    assert_string_equal(f.name, "envoy.filters.network.tcp_proxy");
    assert_int_equal(build("stat_prefix: s\nweighted_clusters:\n  clusters:\n"
                           "  - {name: a, weight: 9}\n  - {name: b, weight: 1}\n",
                           &f, err, sizeof err),
                     0);
}

static void defaults_follow_envoy(void **state)
{
    (void)state;
    char err[256];
    const char *yaml = "stat_prefix: s\ncluster: a\n";
    ProtobufCMessage *pb = rs_codec_parse_yaml(
        &envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__descriptor, yaml,
        strlen(yaml), rs_api_find_type_url, err, sizeof err);
    struct rs_stats_store *store = rs_stats_store_new();
    struct rs_network_filter f;
    assert_int_equal(
        rs_tcp_proxy_filter_new((Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy *)pb,
                                "f", lookup, NULL, store, &f, err, sizeof err),
        0);
    const struct rs_tcp_proxy_config *cfg = f.config;
    assert_int_equal(cfg->idle_timeout_ms, 3600u * 1000u);
    assert_int_equal(cfg->max_connect_attempts, 1);
    assert_int_equal(cfg->n_targets, 1);
    assert_int_not_equal(rs_stats_find(store, "tcp.s.downstream_cx_total", NULL), RS_STAT_INVALID);
    f.free_config(f.config);
    protobuf_c_message_free_unpacked(pb, NULL);
    rs_stats_store_free(store);
}

static void rejects_with_paths(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *err;
    } cases[] = {
        {"cluster: a\n", "f.typed_config.stat_prefix: must not be empty"},
        {"stat_prefix: s\n", "f.typed_config: one of cluster or weighted_clusters is required"},
        {"stat_prefix: s\ncluster: nope\n", "f.typed_config.cluster: unknown cluster 'nope'"},
        {"stat_prefix: s\ncluster: a\nmax_connect_attempts: 0\n",
         "f.typed_config.max_connect_attempts: must be at least 1"},
        {"stat_prefix: s\nweighted_clusters: {clusters: []}\n",
         "f.typed_config.weighted_clusters.clusters: must not be empty"},
        {"stat_prefix: s\nweighted_clusters: {clusters: [{name: a, weight: 0}]}\n",
         "f.typed_config.weighted_clusters.clusters[0].weight: must be at least 1"},
        {"stat_prefix: s\ncluster: a\nmax_downstream_connection_duration: 5s\n",
         "f.typed_config.max_downstream_connection_duration: field is not supported by ringside"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rs_network_filter f;
        char err[256] = "";
        assert_int_equal(build(cases[i].yaml, &f, err, sizeof err), -1);
        assert_string_equal(err, cases[i].err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_single_and_weighted),
        cmocka_unit_test(defaults_follow_envoy),
        cmocka_unit_test(rejects_with_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
