#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "proxy/tcp/tcp_proxy.h"
#include "proxy/tcp/tcp_session.h"
#include "proxy/upstream/cluster.h"

#define DEFAULT_IDLE_TIMEOUT_MS (3600u * 1000u)

static const char *const supported_fields[] = {
    "stat_prefix", "cluster", "weighted_clusters", "idle_timeout", "max_connect_attempts", NULL,
};

static void free_config(void *p)
{
    struct rs_tcp_proxy_config *cfg = p;
    if (cfg == NULL)
        return;
    for (unsigned i = 0; i < cfg->n_targets; i++)
        rs_cluster_unref(cfg->targets[i].cluster);
    free(cfg->targets);
    free(cfg->stat_prefix);
    free(cfg);
}

static void register_stats(struct rs_tcp_proxy_config *cfg, struct rs_stats_store *store)
{
    struct rs_tcp_proxy_stats *s = &cfg->stats;
    const char *p = cfg->stat_prefix;
    s->downstream_cx_total = rs_stats_counterf(store, "tcp.%s.downstream_cx_total", p);
    s->downstream_cx_no_route = rs_stats_counterf(store, "tcp.%s.downstream_cx_no_route", p);
    s->downstream_cx_rx_bytes_total =
        rs_stats_counterf(store, "tcp.%s.downstream_cx_rx_bytes_total", p);
    s->downstream_cx_tx_bytes_total =
        rs_stats_counterf(store, "tcp.%s.downstream_cx_tx_bytes_total", p);
    s->downstream_flow_control_paused_reading_total =
        rs_stats_counterf(store, "tcp.%s.downstream_flow_control_paused_reading_total", p);
    s->downstream_flow_control_resumed_reading_total =
        rs_stats_counterf(store, "tcp.%s.downstream_flow_control_resumed_reading_total", p);
    s->upstream_flush_total = rs_stats_counterf(store, "tcp.%s.upstream_flush_total", p);
    s->idle_timeout = rs_stats_counterf(store, "tcp.%s.idle_timeout", p);
}

static int add_target(struct rs_tcp_proxy_config *cfg, const char *name, uint32_t weight,
                      const char *path, rs_tcp_cluster_lookup_fn lookup, void *lookup_ctx,
                      char *err, size_t err_len)
{
    struct rs_cluster *c = lookup(lookup_ctx, name);
    if (c == NULL) {
        snprintf(err, err_len, "%s: unknown cluster '%s'", path, name);
        return -1;
    }
    cfg->targets[cfg->n_targets].cluster = c;
    cfg->targets[cfg->n_targets].weight = weight;
    cfg->n_targets++;
    cfg->total_weight += weight;
    return 0;
}

int rs_tcp_proxy_filter_new(const Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy *pb,
                            const char *path, rs_tcp_cluster_lookup_fn lookup, void *lookup_ctx,
                            struct rs_stats_store *stats, struct rs_network_filter *out, char *err,
                            size_t err_len)
{
    char sub[512];
    if (!rs_pb_check_supported(&pb->base, supported_fields, path, err, err_len))
        return -1;
    if (pb->stat_prefix == NULL || pb->stat_prefix[0] == '\0') {
        snprintf(err, err_len, "%s.stat_prefix: must not be empty", path);
        return -1;
    }
    struct rs_tcp_proxy_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    cfg->stat_prefix = strdup(pb->stat_prefix);
    cfg->idle_timeout_ms = rs_pb_duration_ms(pb->idle_timeout, DEFAULT_IDLE_TIMEOUT_MS);
    cfg->max_connect_attempts = 1;
    if (pb->max_connect_attempts != NULL) {
        if (pb->max_connect_attempts->value < 1) {
            snprintf(err, err_len, "%s.max_connect_attempts: must be at least 1", path);
            goto fail;
        }
        cfg->max_connect_attempts = pb->max_connect_attempts->value;
    }
    if (pb->cluster_specifier_case ==
        ENVOY__EXTENSIONS__FILTERS__NETWORK__TCP_PROXY__V3__TCP_PROXY__CLUSTER_SPECIFIER_CLUSTER) {
        cfg->targets = calloc(1, sizeof *cfg->targets);
        snprintf(sub, sizeof sub, "%s.cluster", path);
        if (cfg->targets == NULL ||
            add_target(cfg, pb->cluster, 1, sub, lookup, lookup_ctx, err, err_len) < 0)
            goto fail;
    } else if (
        pb->cluster_specifier_case ==
        ENVOY__EXTENSIONS__FILTERS__NETWORK__TCP_PROXY__V3__TCP_PROXY__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS) {
        const Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy__WeightedCluster *wc =
            pb->weighted_clusters;
        static const char *const wc_fields[] = {"clusters", NULL};
        snprintf(sub, sizeof sub, "%s.weighted_clusters", path);
        if (!rs_pb_check_supported(&wc->base, wc_fields, sub, err, err_len))
            goto fail;
        if (wc->n_clusters == 0) {
            snprintf(err, err_len, "%s.weighted_clusters.clusters: must not be empty", path);
            goto fail;
        }
        cfg->targets = calloc(wc->n_clusters, sizeof *cfg->targets);
        if (cfg->targets == NULL)
            goto fail;
        static const char *const cw_fields[] = {"name", "weight", NULL};
        for (size_t i = 0; i < wc->n_clusters; i++) {
            snprintf(sub, sizeof sub, "%s.weighted_clusters.clusters[%zu]", path, i);
            if (!rs_pb_check_supported(&wc->clusters[i]->base, cw_fields, sub, err, err_len))
                goto fail;
            if (wc->clusters[i]->weight < 1) {
                snprintf(err, err_len, "%s.weight: must be at least 1", sub);
                goto fail;
            }
            if (add_target(cfg, wc->clusters[i]->name, wc->clusters[i]->weight, sub, lookup,
                           lookup_ctx, err, err_len) < 0)
                goto fail;
        }
    } else {
        snprintf(err, err_len, "%s: one of cluster or weighted_clusters is required", path);
        goto fail;
    }
    register_stats(cfg, stats);
    out->name = "envoy.filters.network.tcp_proxy";
    out->config = cfg;
    out->free_config = free_config;
    out->on_accept = rs_tcp_session_start;
    return 0;
fail:
    free_config(cfg);
    return -1;
}
