/* envoy.filters.network.http_connection_manager: its configuration, validated whole and compiled
 * (routes, access logs, filter list, limits, timeouts) into an immutable struct shared by every
 * worker, plus the stats it keeps under http.<stat_prefix>. */
#ifndef RS_HTTP_CONN_MANAGER_HCM_CONFIG_H
#define RS_HTTP_CONN_MANAGER_HCM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "proxy/stats/stats.h"

struct rs_access_log_list;
struct rs_access_log_writer;
struct rs_route_config;

enum rs_hcm_codec {
    RS_HCM_CODEC_AUTO, /* HTTP/1.1 now; HTTP/2 by preface detection when the h2 codec lands */
    RS_HCM_CODEC_HTTP1,
};

/* Envoy's http.<prefix>.* names. */
struct rs_hcm_stats {
    rs_stat_id downstream_cx_total, downstream_cx_active, downstream_cx_destroy;
    rs_stat_id downstream_cx_http1_total, downstream_cx_http1_active;
    rs_stat_id downstream_cx_protocol_error, downstream_cx_idle_timeout;
    rs_stat_id downstream_cx_rx_bytes_total, downstream_cx_tx_bytes_total;
    rs_stat_id downstream_cx_length_ms; /* histogram */
    rs_stat_id downstream_rq_total, downstream_rq_http1_total, downstream_rq_active;
    rs_stat_id downstream_rq_xx[5]; /* downstream_rq_1xx .. downstream_rq_5xx */
    rs_stat_id downstream_rq_completed;
    rs_stat_id downstream_rq_time; /* histogram */
    rs_stat_id downstream_rq_timeout, downstream_rq_idle_timeout;
    rs_stat_id downstream_rq_header_timeout;
    rs_stat_id downstream_rq_rx_reset, downstream_rq_tx_reset;
    rs_stat_id downstream_rq_too_large;
    rs_stat_id downstream_rq_ws_on_non_ws_route;
    rs_stat_id no_route, no_cluster, rq_redirect, rq_direct_response;
};

/* The router filter's own settings (envoy.extensions.filters.http.router.v3.Router). */
struct rs_router_settings {
    bool suppress_envoy_headers;
    bool dynamic_stats; /* default true */
};

struct rs_hcm_config {
    char *stat_prefix;
    enum rs_hcm_codec codec;
    struct rs_route_config *routes;         /* owned */
    struct rs_access_log_list *access_logs; /* owned; NULL when none */
    struct rs_router_settings router;
    bool websocket; /* upgrade_configs: [{upgrade_type: websocket}] */
    /* Timeouts in ms; 0 = disabled. Defaults are Envoy's. */
    uint64_t stream_idle_timeout_ms;     /* 5 min */
    uint64_t request_timeout_ms;         /* disabled */
    uint64_t request_headers_timeout_ms; /* disabled */
    uint64_t idle_timeout_ms;            /* common_http_protocol_options.idle_timeout: 1 h */
    uint32_t max_request_headers_kb;     /* 60 */
    uint32_t max_headers_count;          /* 100 */
    bool accept_http_10;                 /* http_protocol_options.accept_http_10 */
    char *default_host_for_http_10;      /* NULL: an HTTP/1.0 request needs its own Host */
    bool use_remote_address;
    uint32_t xff_num_trusted_hops;
    bool generate_request_id; /* true */
    char *server_name;        /* "envoy" */
    struct rs_hcm_stats stats;
};

/* What building a connection manager needs from the rest of the config. */
struct rs_hcm_env {
    struct rs_stats_store *stats;
    struct rs_access_log_writer *access_log_writer; /* NULL: access_log entries are refused */
    /* True if a cluster of that name exists (route targets are validated, as Envoy does for
     * inline route configurations unless validate_clusters is false). */
    bool (*cluster_exists)(void *ctx, const char *name);
    void *cluster_ctx;
};

/* Validates and compiles pb. `path` names the filter's typed_config in the bootstrap. NULL with
 * "<path>.<field>: <reason>" in err on any error. */
struct rs_hcm_config *rs_hcm_config_new(
    const Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager *pb,
    const char *path, const struct rs_hcm_env *env, char *err, size_t err_len);
void rs_hcm_config_free(struct rs_hcm_config *cfg);

#endif
