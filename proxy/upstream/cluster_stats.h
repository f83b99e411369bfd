/* Per-cluster stats with Envoy's names ("cluster.<name>.<stat>"). The data path increments the
 * upstream_* ids on its own shard (rs_stats_inc(shard, c->stats.upstream_cx_total)); the main
 * thread maintains the membership and update_* stats. */
#ifndef RS_UPSTREAM_CLUSTER_STATS_H
#define RS_UPSTREAM_CLUSTER_STATS_H

#include "proxy/stats/stats.h"

struct rs_cluster_stats {
    /* counters, data path */
    rs_stat_id upstream_cx_total;
    rs_stat_id upstream_cx_connect_fail;
    rs_stat_id upstream_cx_connect_timeout;
    rs_stat_id upstream_cx_connect_attempts_exceeded;
    rs_stat_id upstream_cx_none_healthy;
    rs_stat_id upstream_cx_destroy;
    rs_stat_id upstream_cx_destroy_local;
    rs_stat_id upstream_cx_destroy_remote;
    rs_stat_id upstream_cx_rx_bytes_total;
    rs_stat_id upstream_cx_tx_bytes_total;
    rs_stat_id upstream_cx_overflow;
    /* gauge, data path (rs_stats_gauge_add +1/-1) */
    rs_stat_id upstream_cx_active;
    /* histograms, data path (milliseconds) */
    rs_stat_id upstream_cx_connect_ms;
    rs_stat_id upstream_cx_length_ms;

    /* main thread */
    rs_stat_id membership_total;    /* gauge */
    rs_stat_id membership_healthy;  /* gauge */
    rs_stat_id membership_degraded; /* gauge */
    rs_stat_id membership_excluded; /* gauge */
    rs_stat_id max_host_weight;     /* gauge */
    rs_stat_id membership_change;
    rs_stat_id update_attempt;
    rs_stat_id update_success;
    rs_stat_id update_failure;
    rs_stat_id update_no_rebuild;
    rs_stat_id lb_healthy_panic;
};

/* Registers every stat of cluster `name` (find-or-create, so a cluster that is re-created keeps its
 * counters). With store == NULL every id is RS_STAT_INVALID (unit tests without stats). Returns
 * false if some name could not be registered. */
bool rs_cluster_stats_register(struct rs_stats_store *store, const char *name,
                               struct rs_cluster_stats *out);

#endif
