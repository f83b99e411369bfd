/* HCM configuration: defaults, accepted fields, and each refusal with its path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "proxy/http/access_log/writer.h"
#include "proxy/http/conn_manager/hcm_config.h"

static struct rs_stats_store *store;
static struct rs_access_log_writer *writer;

static bool cluster_exists(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "backend") == 0 || strcmp(name, "canary") == 0;
}

#define ROUTES                                                                                     \
    "route_config:\n"                                                                              \
    "  virtual_hosts:\n"                                                                           \
    "  - name: all\n"                                                                              \
    "    domains: ['*']\n"                                                                         \
    "    routes:\n"                                                                                \
    "    - match: {prefix: /}\n"                                                                   \
    "      route: {cluster: backend}\n"
#define ROUTER                                                                                     \
    "http_filters:\n"                                                                              \
    "- name: envoy.filters.http.router\n"                                                          \
    "  typed_config:\n"                                                                            \
    "    \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n"

static struct rs_hcm_config *build(const char *yaml, char *err, size_t err_len)
{
    ProtobufCMessage *pb = rs_codec_parse_yaml(
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
        yaml, strlen(yaml), rs_api_find_type_url, err, err_len);
    if (pb == NULL)
        fail_msg("yaml: %s", err);
    struct rs_hcm_env env = {
        .stats = store,
        .access_log_writer = writer,
        .cluster_exists = cluster_exists,
    };
    struct rs_hcm_config *cfg = rs_hcm_config_new(
        (const Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager
             *)pb,
        "hcm", &env, err, err_len);
    protobuf_c_message_free_unpacked(pb, NULL);
    return cfg;
}

static void defaults_are_envoys(void **state)
{
    (void)state;
    char err[512] = "";
    struct rs_hcm_config *cfg = build("stat_prefix: ingress\n" ROUTES ROUTER, err, sizeof err);
    if (cfg == NULL)
        fail_msg("%s", err);
    assert_string_equal(cfg->stat_prefix, "ingress");
    assert_int_equal(cfg->codec, RS_HCM_CODEC_AUTO);
    assert_int_equal(cfg->stream_idle_timeout_ms, 300000);
    assert_int_equal(cfg->request_timeout_ms, 0);
    assert_int_equal(cfg->idle_timeout_ms, 3600000);
    assert_int_equal(cfg->max_request_headers_kb, 60);
    assert_int_equal(cfg->max_headers_count, 100);
    assert_true(cfg->generate_request_id);
    assert_false(cfg->use_remote_address);
    assert_string_equal(cfg->server_name, "envoy");
    assert_true(cfg->router.dynamic_stats);
    assert_false(cfg->websocket);
    assert_null(cfg->access_logs);
    assert_int_not_equal(rs_stats_find(store, "http.ingress.downstream_rq_5xx", NULL),
                         RS_STAT_INVALID);
    rs_hcm_config_free(cfg);
}

static void accepts_the_fields_it_implements(void **state)
{
    (void)state;
    char err[512] = "";
    struct rs_hcm_config *cfg = build(
        "stat_prefix: edge\n"
        "codec_type: HTTP1\n"
        "stream_idle_timeout: 10s\n"
        "request_timeout: 30s\n"
        "request_headers_timeout: 2s\n"
        "common_http_protocol_options: {idle_timeout: 60s, max_headers_count: 50}\n"
        "max_request_headers_kb: 96\n"
        "use_remote_address: true\n"
        "xff_num_trusted_hops: 1\n"
        "generate_request_id: false\n"
        "server_name: ringside\n"
        "upgrade_configs: [{upgrade_type: websocket}]\n"
        "access_log:\n"
        "- name: envoy.access_loggers.stdout\n"
        "  typed_config: {\"@type\": type.googleapis.com/"
        "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}\n" ROUTES "http_filters:\n"
        "- name: envoy.filters.http.router\n"
        "  typed_config:\n"
        "    \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n"
        "    suppress_envoy_headers: true\n",
        err, sizeof err);
    if (cfg == NULL)
        fail_msg("%s", err);
    assert_int_equal(cfg->codec, RS_HCM_CODEC_HTTP1);
    assert_int_equal(cfg->stream_idle_timeout_ms, 10000);
    assert_int_equal(cfg->request_timeout_ms, 30000);
    assert_int_equal(cfg->request_headers_timeout_ms, 2000);
    assert_int_equal(cfg->idle_timeout_ms, 60000);
    assert_int_equal(cfg->max_headers_count, 50);
    assert_int_equal(cfg->max_request_headers_kb, 96);
    assert_true(cfg->use_remote_address);
    assert_int_equal(cfg->xff_num_trusted_hops, 1);
    assert_false(cfg->generate_request_id);
    assert_string_equal(cfg->server_name, "ringside");
    assert_true(cfg->websocket);
    assert_true(cfg->router.suppress_envoy_headers);
    assert_non_null(cfg->access_logs);
    rs_hcm_config_free(cfg);
}

static void refusals_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *err;
    } cases[] = {
        {ROUTES ROUTER, "hcm.stat_prefix: must not be empty"},
        {"stat_prefix: s\ncodec_type: HTTP2\n" ROUTES ROUTER,
         "hcm.codec_type: only AUTO and HTTP1 are supported by ringside"},
        {"stat_prefix: s\n" ROUTER, "hcm.route_config: an inline route_config is required"},
        {"stat_prefix: s\n" ROUTES, "hcm.http_filters: the router (envoy.filters.http.router) is "
                                    "required"},
        {"stat_prefix: s\n" ROUTES "http_filters: [{name: envoy.filters.http.cors}]\n",
         "hcm.http_filters[0]: http filter 'envoy.filters.http.cors' is not supported by "
         "ringside; supported: envoy.filters.http.router"},
        {"stat_prefix: s\n" ROUTES
         "http_filters: [{name: envoy.filters.http.router}, {name: envoy.filters.http.router}]\n",
         "hcm.http_filters[0]: the router must be the last http filter"},
        {"stat_prefix: s\nvia: x\n" ROUTES ROUTER, "hcm.via: field is not supported by ringside"},
        {"stat_prefix: s\nupgrade_configs: [{upgrade_type: CONNECT}]\n" ROUTES ROUTER,
         "hcm.upgrade_configs[0].upgrade_type: 'CONNECT' is not supported by ringside; "
         "supported: websocket"},
        {"stat_prefix: s\nmax_request_headers_kb: 9000\n" ROUTES ROUTER,
         "hcm.max_request_headers_kb: 9000 is out of range (1-8192)"},
        {"stat_prefix: s\ncommon_http_protocol_options: {max_requests_per_connection: 5}\n" ROUTES
             ROUTER,
         "hcm.common_http_protocol_options.max_requests_per_connection: field is not supported "
         "by ringside"},
        {"stat_prefix: s\n"
         "route_config:\n"
         "  virtual_hosts:\n"
         "  - name: all\n"
         "    domains: ['*']\n"
         "    routes:\n"
         "    - match: {prefix: /}\n"
         "      route: {cluster: nowhere}\n" ROUTER,
         "hcm.route_config.virtual_hosts[0].routes[0].route.cluster: unknown cluster 'nowhere'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        struct rs_hcm_config *cfg = build(cases[i].yaml, err, sizeof err);
        if (cfg != NULL)
            fail_msg("case %zu accepted", i);
        assert_string_equal(err, cases[i].err);
    }
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    store = rs_stats_store_new();
    writer = rs_access_log_writer_new(1, NULL, store, err, sizeof err);
    return writer ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rs_access_log_writer_free(writer);
    rs_stats_store_free(store);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_envoys),
        cmocka_unit_test(accepts_the_fields_it_implements),
        cmocka_unit_test(refusals_name_the_field),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
