/* Bootstrap loading: what a valid config becomes, and how each broken one is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/config/config.h"
#include "proxy/core/qsbr.h"
#include "proxy/net/listener.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/cluster.h"

static struct rs_stats_store *store;
static struct rs_qsbr *qsbr;

static struct rs_config *load(const char *yaml, char *err, size_t err_len)
{
    struct rs_config_env env = {.n_workers = 2, .qsbr = qsbr, .stats = store};
    return rs_config_load_text(yaml, strlen(yaml), &env, err, err_len);
}

#define LISTENER_HEAD                                                                              \
    "static_resources:\n"                                                                          \
    "  listeners:\n"                                                                               \
    "  - name: out\n"                                                                              \
    "    address: {socket_address: {address: 0.0.0.0, port_value: 15001}}\n"
#define TCP_FILTER(cluster)                                                                        \
    "      filters:\n"                                                                             \
    "      - name: envoy.filters.network.tcp_proxy\n"                                              \
    "        typed_config:\n"                                                                      \
    "          \"@type\": type.googleapis.com/"                                                    \
    "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n"                                     \
    "          stat_prefix: out\n"                                                                 \
    "          cluster: " cluster "\n"
#define CLUSTERS                                                                                   \
    "  clusters:\n"                                                                                \
    "  - name: passthrough\n"                                                                      \
    "    type: ORIGINAL_DST\n"                                                                     \
    "    lb_policy: CLUSTER_PROVIDED\n"

static void sidecar_outbound_config_loads(void **state)
{
    (void)state;
    char err[512] = "";
    struct rs_config *cfg =
        load(LISTENER_HEAD "    use_original_dst: true\n"
                           "    listener_filters:\n"
                           "    - name: envoy.filters.listener.original_dst\n"
                           "      typed_config: {\"@type\": type.googleapis.com/"
                           "envoy.extensions.filters.listener.original_dst.v3.OriginalDst}\n"
                           "    filter_chains:\n"
                           "    - filter_chain_match:\n"
                           "        destination_port: 8080\n"
                           "        source_prefix_ranges: [{address_prefix: 10.0.0.0, "
                           "prefix_len: 8}]\n" TCP_FILTER("passthrough") CLUSTERS,
             err, sizeof err);
    if (cfg == NULL)
        fail_msg("%s", err);
    assert_int_equal(cfg->n_listeners, 1);
    const struct rs_listener *l = cfg->listeners[0];
    assert_true(l->use_original_dst);
    assert_true(l->original_dst_filter);
    assert_true(l->bind_to_port);
    assert_string_equal(l->stat_name, "0.0.0.0_15001");
    assert_int_equal(l->n_chains, 1);
    assert_int_equal(l->chains[0].destination_port, 8080);
    assert_int_equal(l->chains[0].n_source_prefix_ranges, 1);
    assert_int_equal(l->chains[0].source_prefix_ranges[0].prefix_len, 8);
    assert_non_null(rs_config_find_cluster(cfg, "passthrough"));
    rs_config_free(cfg);
}

static void broken_configs_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *err;
    } cases[] = {
        {LISTENER_HEAD "    filter_chains:\n    -\n" TCP_FILTER("missing") CLUSTERS,
         "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: "
         "unknown cluster 'missing'"},
        {LISTENER_HEAD "    filter_chains: []\n" CLUSTERS,
         "static_resources.listeners[0].filter_chains: at least one filter chain is required"},
        {LISTENER_HEAD "    freebind: true\n    filter_chains:\n    -\n" TCP_FILTER("passthrough")
             CLUSTERS,
         "static_resources.listeners[0].freebind: field is not supported by ringside"},
        {LISTENER_HEAD
         "    filter_chains:\n    - filter_chain_match: {server_names: [a]}\n" TCP_FILTER(
             "passthrough") CLUSTERS,
         "static_resources.listeners[0].filter_chains[0].filter_chain_match.server_names: field "
         "is not supported by ringside"},
        {LISTENER_HEAD "    listener_filters: [{name: envoy.filters.listener.tls_inspector}]\n"
                       "    filter_chains:\n    -\n" TCP_FILTER("passthrough") CLUSTERS,
         "static_resources.listeners[0].listener_filters[0]: listener filter "
         "'envoy.filters.listener.tls_inspector' is not supported by ringside; supported: "
         "envoy.filters.listener.original_dst"},
        {"static_resources:\n  listeners:\n  - address: {socket_address: {address: nope, "
         "port_value: 1}}\n    filter_chains: []\n",
         "static_resources.listeners[0].address.socket_address.address: 'nope' is not an IP "
         "address"},
        {"dynamic_resources: {}\n", "dynamic_resources: field is not supported by ringside"},
        {"admin: {address: {pipe: {path: /tmp/x}}}\n",
         "admin.address: only socket_address is supported by ringside"},
        {CLUSTERS
         "  - name: passthrough\n    type: ORIGINAL_DST\n    lb_policy: CLUSTER_PROVIDED\n",
         NULL /* duplicate cluster: message owned by the cluster manager, any non-empty one */},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        struct rs_config *cfg = load(cases[i].yaml, err, sizeof err);
        if (cfg != NULL)
            fail_msg("case %zu was accepted", i);
        if (cases[i].err)
            assert_string_equal(err, cases[i].err);
        else
            assert_true(err[0] != '\0');
    }
}

static void duplicate_listener_addresses_are_refused(void **state)
{
    (void)state;
    char err[512] = "";
    struct rs_config *cfg =
        load(LISTENER_HEAD "    filter_chains:\n    -\n" TCP_FILTER(
                 "passthrough") "  - name: out2\n"
                                "    address: {socket_address: {address: "
                                "0.0.0.0, port_value: 15001}}\n"
                                "    filter_chains:\n    -\n" TCP_FILTER("passthrough") CLUSTERS,
             err, sizeof err);
    assert_null(cfg);
    assert_string_equal(err, "static_resources.listeners[1].address: listener 'out' already "
                             "uses this address");
}

static int setup(void **state)
{
    (void)state;
    store = rs_stats_store_new();
    qsbr = rs_qsbr_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rs_qsbr_reclaim(qsbr);
    rs_qsbr_free(qsbr);
    rs_stats_store_free(store);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sidecar_outbound_config_loads),
        cmocka_unit_test(broken_configs_name_the_field),
        cmocka_unit_test(duplicate_listener_addresses_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
