/* envoy.filters.network.tcp_proxy: relays a downstream connection to a host of an upstream cluster,
 * byte for byte, with half-close in both directions, backpressure, connect retries on other hosts
 * and an idle timeout. Received buffers are handed to the other side's send queue as they are. */
#ifndef RS_TCP_TCP_PROXY_H
#define RS_TCP_TCP_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb-c.h"
#include "proxy/net/listener.h"
#include "proxy/stats/stats.h"

struct rs_cluster;

struct rs_tcp_proxy_stats {
    rs_stat_id downstream_cx_total;
    rs_stat_id downstream_cx_no_route;
    rs_stat_id downstream_cx_rx_bytes_total;
    rs_stat_id downstream_cx_tx_bytes_total;
    rs_stat_id downstream_flow_control_paused_reading_total;
    rs_stat_id downstream_flow_control_resumed_reading_total;
    rs_stat_id upstream_flush_total;
    rs_stat_id idle_timeout;
};

struct rs_tcp_proxy_target {
    struct rs_cluster *cluster; /* a reference owned by the config */
    uint32_t weight;
};

struct rs_tcp_proxy_config {
    char *stat_prefix;
    struct rs_tcp_proxy_target *targets; /* one for `cluster`, several for weighted_clusters */
    unsigned n_targets;
    uint64_t total_weight;
    uint64_t idle_timeout_ms; /* 0 = disabled; Envoy's default is 1 hour */
    uint32_t max_connect_attempts;
    struct rs_tcp_proxy_stats stats;
};

/* Finds a cluster by name and returns a new reference, or NULL. */
typedef struct rs_cluster *(*rs_tcp_cluster_lookup_fn)(void *ctx, const char *name);

/* Validates the filter's typed_config and builds the filter. path names the filter in the config
 * for errors. Returns 0, or -1 with "<path>.<field>: <reason>" in err. */
int rs_tcp_proxy_filter_new(const Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy *pb,
                            const char *path, rs_tcp_cluster_lookup_fn lookup, void *lookup_ctx,
                            struct rs_stats_store *stats, struct rs_network_filter *out, char *err,
                            size_t err_len);

#endif
