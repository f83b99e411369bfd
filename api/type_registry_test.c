#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "api/type_registry.h"
#include "api/type_registry_table.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/route/v3/route_components.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/status.pb-c.h"

static void finds_top_level_message(void **state)
{
    (void)state;
    assert_ptr_equal(rs_api_find_type("envoy.config.cluster.v3.Cluster"),
                     &envoy__config__cluster__v3__cluster__descriptor);
}

static void finds_nested_message(void **state)
{
    (void)state;
    assert_ptr_equal(rs_api_find_type("envoy.config.cluster.v3.Cluster.EdsClusterConfig"),
                     &envoy__config__cluster__v3__cluster__eds_cluster_config__descriptor);
    assert_ptr_equal(rs_api_find_type("envoy.config.route.v3.WeightedCluster.ClusterWeight"),
                     &envoy__config__route__v3__weighted_cluster__cluster_weight__descriptor);
}

static void finds_well_known_and_google_types(void **state)
{
    (void)state;
    assert_ptr_equal(rs_api_find_type("google.protobuf.Duration"),
                     &google__protobuf__duration__descriptor);
    assert_ptr_equal(rs_api_find_type("google.rpc.Status"), &google__rpc__status__descriptor);
}

static void finds_by_type_url(void **state)
{
    (void)state;
    assert_ptr_equal(rs_api_find_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster"),
                     &envoy__config__cluster__v3__cluster__descriptor);
    /* Only the part after the last '/' names the type. */
    assert_ptr_equal(rs_api_find_type_url("example.com/a/b/google.protobuf.Duration"),
                     &google__protobuf__duration__descriptor);
}

static void unknown_names_give_null(void **state)
{
    (void)state;
    assert_null(rs_api_find_type(NULL));
    assert_null(rs_api_find_type(""));
    assert_null(rs_api_find_type("envoy.config.cluster.v3.Nope"));
    assert_null(rs_api_find_type("envoy.config.cluster.v3.Cluste"));
    assert_null(rs_api_find_type("envoy.config.cluster.v3.Cluster "));
    assert_null(rs_api_find_type("Cluster"));
    /* Enums are not messages: the registry holds message descriptors only. */
    assert_null(rs_api_find_type("envoy.config.cluster.v3.Cluster.LbPolicy"));
    assert_null(rs_api_find_type_url(NULL));
    assert_null(rs_api_find_type_url("envoy.config.cluster.v3.Cluster"));
    assert_null(rs_api_find_type_url("type.googleapis.com/"));
    assert_null(rs_api_find_type_url("type.googleapis.com/envoy.config.cluster.v3.Nope"));
}

/* bsearch silently misses entries in an unsorted table, so the generator's order is checked here,
 * and every row must name its own descriptor. */
static void table_is_sorted_and_consistent(void **state)
{
    (void)state;
    assert_true(rs_api_types_len > 300);
    for (size_t i = 0; i < rs_api_types_len; i++) {
        assert_string_equal(rs_api_types[i].full_name, rs_api_types[i].descriptor->name);
        assert_ptr_equal(rs_api_find_type(rs_api_types[i].full_name), rs_api_types[i].descriptor);
        if (i > 0)
            assert_true(strcmp(rs_api_types[i - 1].full_name, rs_api_types[i].full_name) < 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_top_level_message),
        cmocka_unit_test(finds_nested_message),
        cmocka_unit_test(finds_well_known_and_google_types),
        cmocka_unit_test(finds_by_type_url),
        cmocka_unit_test(unknown_names_give_null),
        cmocka_unit_test(table_is_sorted_and_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
