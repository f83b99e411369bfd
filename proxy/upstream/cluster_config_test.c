/* Cluster validation: defaults, accepted values, and every rejected case with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/upstream/cluster.h"
#include "proxy/upstream/test_util.h"

#define P "static_resources.clusters[0]"

static void expect_error(const char *yaml, const char *want)
{
    const char *err = rs_test_cluster_error(yaml);
    if (strcmp(err, want) != 0)
        fail_msg("error mismatch\n got: %s\nwant: %s", err, want);
}

static void test_defaults(void **state)
{
    (void)state;
    struct rs_cluster *c = rs_test_cluster("name: backend\n"
                                           "load_assignment:\n"
                                           "  cluster_name: backend\n"
                                           "  endpoints:\n"
                                           "  - lb_endpoints:\n"
                                           "    - endpoint:\n"
                                           "        address:\n"
                                           "          socket_address: {address: 127.0.0.1, "
                                           "port_value: 8080}\n",
                                           NULL);
    assert_string_equal(c->name, "backend");
    assert_int_equal(c->type, RS_CLUSTER_STATIC);
    assert_int_equal(c->lb_policy, RS_LB_ROUND_ROBIN);
    assert_int_equal(c->connect_timeout_ms, 5000);
    assert_int_equal(c->per_connection_buffer_limit_bytes, 1024 * 1024);
    assert_int_equal(c->dns_refresh_rate_ms, 5000);
    assert_int_equal(c->cleanup_interval_ms, 5000);
    assert_int_equal(c->dns_family, RS_DNS_AUTO);
    assert_int_equal(c->lr_choice_count, 2);
    assert_true(rs_cluster_initialized(c));
    const struct rs_host_set *set = rs_cluster_hosts(c);
    assert_int_equal(set->n_hosts, 1);
    assert_string_equal(set->hosts[0]->addr_str, "127.0.0.1:8080");
    assert_int_equal(set->hosts[0]->weight, 1);
    rs_cluster_unref(c);
}

static void test_values(void **state)
{
    (void)state;
    struct rs_cluster *c = rs_test_cluster(
        "name: web\n"
        "type: STRICT_DNS\n"
        "connect_timeout: 0.25s\n"
        "per_connection_buffer_limit_bytes: 32768\n"
        "dns_refresh_rate: 10s\n"
        "dns_lookup_family: V4_ONLY\n"
        "lb_policy: LEAST_REQUEST\n"
        "least_request_lb_config: {choice_count: 3}\n"
        "load_assignment:\n"
        "  cluster_name: web\n"
        "  endpoints:\n"
        "  - locality: {region: eu, zone: eu-a, sub_zone: rack1}\n"
        "    lb_endpoints:\n"
        "    - endpoint: {address: {socket_address: {address: web.example, port_value: 80}}}\n"
        "      load_balancing_weight: 7\n"
        "    - endpoint:\n"
        "        hostname: display-name\n"
        "        address: {socket_address: {address: '::1', port_value: 81}}\n",
        NULL);
    assert_int_equal(c->type, RS_CLUSTER_STRICT_DNS);
    assert_int_equal(c->lb_policy, RS_LB_LEAST_REQUEST);
    assert_int_equal(c->connect_timeout_ms, 250);
    assert_int_equal(c->per_connection_buffer_limit_bytes, 32768);
    assert_int_equal(c->dns_refresh_rate_ms, 10000);
    assert_int_equal(c->dns_family, RS_DNS_V4_ONLY);
    assert_int_equal(c->lr_choice_count, 3);
    assert_int_equal(c->n_endpoints, 2);
    assert_string_equal(c->endpoints[0].address, "web.example");
    assert_int_equal(c->endpoints[0].port, 80);
    assert_int_equal(c->endpoints[0].weight, 7);
    assert_string_equal(c->endpoints[0].locality.zone, "eu-a");
    assert_string_equal(c->endpoints[1].hostname, "display-name");
    /* DNS clusters have no host and are not initialised until resolved. */
    assert_int_equal(rs_cluster_hosts(c)->n_hosts, 0);
    assert_false(rs_cluster_initialized(c));
    rs_cluster_unref(c);
}

static void test_original_dst(void **state)
{
    (void)state;
    struct rs_cluster *c = rs_test_cluster("name: passthrough\n"
                                           "type: ORIGINAL_DST\n"
                                           "lb_policy: CLUSTER_PROVIDED\n"
                                           "cleanup_interval: 2s\n"
                                           "original_dst_lb_config: {upstream_port_override: 9}\n",
                                           NULL);
    assert_int_equal(c->type, RS_CLUSTER_ORIGINAL_DST);
    assert_int_equal(c->cleanup_interval_ms, 2000);
    assert_int_equal(c->odst_port_override, 9);
    rs_cluster_unref(c);
}

static void test_rejected_types(void **state)
{
    (void)state;
    expect_error("name: a\ntype: EDS\n", P ".type: EDS is not supported yet");
    expect_error("name: a\ntype: LOGICAL_DNS\n", P ".type: LOGICAL_DNS is not supported yet");
    expect_error("name: a\ncluster_type: {name: envoy.clusters.aggregate}\n",
                 P ".cluster_type: field is not supported by ringside");
}

static void test_rejected_policies(void **state)
{
    (void)state;
    expect_error("name: a\nlb_policy: RING_HASH\n", P ".lb_policy: RING_HASH is not supported yet");
    expect_error("name: a\nlb_policy: MAGLEV\n", P ".lb_policy: MAGLEV is not supported yet");
    expect_error("name: a\nlb_policy: CLUSTER_PROVIDED\n",
                 P ".lb_policy: CLUSTER_PROVIDED is only valid for cluster type ORIGINAL_DST, "
                   "not STATIC");
    expect_error("name: a\ntype: ORIGINAL_DST\n",
                 P ".lb_policy: ROUND_ROBIN is not valid for cluster type ORIGINAL_DST; only "
                   "CLUSTER_PROVIDED is");
    expect_error("name: a\nlb_policy: LEAST_REQUEST\nleast_request_lb_config: {choice_count: 1}\n",
                 P ".least_request_lb_config.choice_count: must be at least 2, got 1");
    expect_error("name: a\nleast_request_lb_config: {choice_count: 3}\n",
                 P ".least_request_lb_config: only valid with lb_policy LEAST_REQUEST");
    expect_error("name: a\nlb_policy: LEAST_REQUEST\n"
                 "least_request_lb_config: {active_request_bias: {default_value: 2}}\n",
                 P ".least_request_lb_config.active_request_bias: field is not supported by "
                   "ringside");
    expect_error("name: a\nring_hash_lb_config: {}\n",
                 P ".ring_hash_lb_config: field is not supported by ringside");
}

static void test_rejected_original_dst(void **state)
{
    (void)state;
    expect_error("name: a\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\n"
                 "load_assignment: {cluster_name: a}\n",
                 P ".load_assignment: ORIGINAL_DST clusters must not have a load_assignment");
    expect_error("name: a\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\n"
                 "original_dst_lb_config: {use_http_header: true}\n",
                 P ".original_dst_lb_config.use_http_header: not supported yet");
    expect_error("name: a\noriginal_dst_lb_config: {}\n",
                 P ".original_dst_lb_config: only valid with cluster type ORIGINAL_DST");
}

static void test_rejected_fields(void **state)
{
    (void)state;
    expect_error("name: a\nrespect_dns_ttl: true\n",
                 P ".respect_dns_ttl: field is not supported by ringside");
    expect_error("name: a\nhealth_checks: [{timeout: 1s}]\n",
                 P ".health_checks: field is not supported by ringside");
    expect_error("name: a\ncircuit_breakers: {}\n",
                 P ".circuit_breakers: field is not supported by ringside");
    expect_error("connect_timeout: 1s\n", P ".name: must not be empty");
    expect_error("name: a\nconnect_timeout: 0s\n", P ".connect_timeout: must be greater than 0");
    expect_error("name: a\ndns_refresh_rate: 0s\n", P ".dns_refresh_rate: must be greater than 0");
}

#define EP(addr_yaml)                                                                              \
    "name: a\n"                                                                                    \
    "load_assignment:\n"                                                                           \
    "  cluster_name: a\n"                                                                          \
    "  endpoints:\n"                                                                               \
    "  - lb_endpoints:\n"                                                                          \
    "    - endpoint: {address: " addr_yaml "}\n"

static void test_rejected_endpoints(void **state)
{
    (void)state;
    expect_error(EP("{socket_address: {address: backend.local, port_value: 80}}"),
                 P ".load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address."
                   "address: 'backend.local' is not an IP address; a STATIC cluster needs IP "
                   "literals (use type STRICT_DNS for host names)");
    expect_error(EP("{socket_address: {address: 10.0.0.1, named_port: http}}"),
                 P ".load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address."
                   "named_port: field is not supported by ringside");
    expect_error(EP("{socket_address: {address: 10.0.0.1, port_value: 70000}}"),
                 P ".load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address."
                   "port_value: must be at most 65535, got 70000");
    expect_error(EP("{socket_address: {address: 10.0.0.1, port_value: 1, protocol: UDP}}"),
                 P ".load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address."
                   "protocol: field is not supported by ringside");
    expect_error(EP("{pipe: {path: /tmp/s}}"),
                 P ".load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe: field is "
                   "not supported by ringside");
    expect_error(
        "name: a\n"
        "load_assignment:\n"
        "  cluster_name: a\n"
        "  endpoints:\n"
        "  - lb_endpoints:\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 1}}}\n"
        "  - priority: 1\n"
        "    lb_endpoints:\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 1}}}\n",
        P ".load_assignment.endpoints[1].priority: priorities other than 0 are not "
          "supported yet (got 1)");
    expect_error("name: a\n"
                 "load_assignment:\n"
                 "  cluster_name: a\n"
                 "  endpoints:\n"
                 "  - lb_endpoints:\n"
                 "    - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 1}}}\n"
                 "      load_balancing_weight: 0\n",
                 P ".load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight: must be "
                   "at least 1");
    expect_error("name: a\n"
                 "load_assignment:\n"
                 "  cluster_name: a\n"
                 "  endpoints:\n"
                 "  - lb_endpoints:\n"
                 "    - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 1}}}\n"
                 "      health_status: UNHEALTHY\n",
                 P ".load_assignment.endpoints[0].lb_endpoints[0].health_status: field is not "
                   "supported by ringside");
    expect_error("name: a\nload_assignment: {endpoints: []}\n",
                 P ".load_assignment.cluster_name: must not be empty");
    expect_error("name: a\n"
                 "load_assignment:\n"
                 "  cluster_name: a\n"
                 "  endpoints:\n"
                 "  - load_balancing_weight: 3\n",
                 P ".load_assignment.endpoints[0].load_balancing_weight: field is not supported "
                   "by ringside");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_values),
        cmocka_unit_test(test_original_dst),      cmocka_unit_test(test_rejected_types),
        cmocka_unit_test(test_rejected_policies), cmocka_unit_test(test_rejected_original_dst),
        cmocka_unit_test(test_rejected_fields),   cmocka_unit_test(test_rejected_endpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
