/* Envoy's default tag extraction, case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/stats/tags.h"

struct tcase {
    const char *name;
    const char *extracted;
    const char *tags; /* "tag=value;tag=value" in extraction order */
};

static const struct tcase cases[] = {
    {"server.live", "server.live", ""},
    {"cluster_manager.active_clusters", "cluster_manager.active_clusters", ""},
    {"listener_manager.total_listeners_active", "listener_manager.total_listeners_active", ""},
    {"cluster.backend.upstream_cx_total", "cluster.upstream_cx_total",
     "envoy.cluster_name=backend"},
    {"cluster.backend.upstream_rq_200", "cluster.upstream_rq",
     "envoy.response_code=200;envoy.cluster_name=backend"},
    {"cluster.backend.upstream_rq_5xx", "cluster.upstream_rq_xx",
     "envoy.response_code_class=5;envoy.cluster_name=backend"},
    {"http.ingress_http.downstream_rq_2xx", "http.downstream_rq_xx",
     "envoy.response_code_class=2;envoy.http_conn_manager_prefix=ingress_http"},
    {"http.admin.downstream_rq_total", "http.downstream_rq_total",
     "envoy.http_conn_manager_prefix=admin"},
    {"listener.0.0.0.0_15001.downstream_cx_total", "listener.downstream_cx_total",
     "envoy.listener_address=0.0.0.0_15001"},
    {"listener.[__1]_15006.downstream_cx_total", "listener.downstream_cx_total",
     "envoy.listener_address=[__1]_15006"},
    {"listener.admin.downstream_cx_total", "listener.admin.downstream_cx_total", ""},
    {"listener.0.0.0.0_80.http.ingress.downstream_rq_4xx", "listener.http.downstream_rq_xx",
     "envoy.response_code_class=4;envoy.http_conn_manager_prefix=ingress;"
     "envoy.listener_address=0.0.0.0_80"},
    {"listener.admin.http.admin.downstream_rq_2xx", "listener.admin.http.downstream_rq_xx",
     "envoy.response_code_class=2;envoy.http_conn_manager_prefix=admin"},
    {"tcp.inbound_tcp.downstream_cx_total", "tcp.downstream_cx_total",
     "envoy.tcp_prefix=inbound_tcp"},
    {"tcp.a.b.downstream_cx_total", "tcp.downstream_cx_total", "envoy.tcp_prefix=a.b"},
    {"http.ingress.user_agent.ios.downstream_cx_total", "http.user_agent.downstream_cx_total",
     "envoy.http_user_agent=ios;envoy.http_conn_manager_prefix=ingress"},
    {"http.ingress.rds.local_route.config_reload", "http.rds.config_reload",
     "envoy.http_conn_manager_prefix=ingress;envoy.rds_route_config=local_route"},
    {"vhost.vh.vcluster.vc.upstream_rq_time", "vhost.vcluster.upstream_rq_time",
     "envoy.virtual_cluster=vc;envoy.virtual_host=vh"},
    {"listener.0.0.0.0_443.ssl.cipher.ECDHE-RSA-AES128-GCM-SHA256", "listener.ssl.cipher",
     "envoy.ssl_cipher=ECDHE-RSA-AES128-GCM-SHA256;envoy.listener_address=0.0.0.0_443"},
    {"cluster.b.ssl.ciphers.AES128-SHA", "cluster.ssl.ciphers",
     "envoy.ssl_cipher_suite=AES128-SHA;envoy.cluster_name=b"},
    {"listener_manager.worker_3.dispatcher.loop_duration_us",
     "listener_manager.dispatcher.loop_duration_us", "envoy.worker_id=worker_3"},
    /* Envoy's default takes the first segment of dotted cluster names, as Envoy does. */
    {"cluster.outbound|80||svc.ns.svc.cluster.local.upstream_cx_total",
     "cluster.ns.svc.cluster.local.upstream_cx_total", "envoy.cluster_name=outbound|80||svc"},
    {"cluster", "cluster", ""},
    {"http.noprefix", "http.noprefix", ""},
    {"a_rq_200", "a_rq", "envoy.response_code=200"},
};

static void extraction(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct tcase *c = &cases[i];
        char extracted[256], got[512] = "";
        struct rs_stats_tag tags[RS_STATS_MAX_TAGS];
        size_t n = rs_stats_extract_tags(c->name, extracted, tags);
        for (size_t t = 0; t < n; t++) {
            char one[200];
            snprintf(one, sizeof(one), "%s%s=%.*s", t ? ";" : "", tags[t].name,
                     (int)tags[t].value_len, c->name + tags[t].value_off);
            strcat(got, one);
        }
        if (strcmp(extracted, c->extracted) != 0 || strcmp(got, c->tags) != 0)
            fail_msg("%s: got '%s' [%s], want '%s' [%s]", c->name, extracted, got, c->extracted,
                     c->tags);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(extraction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
