#include "proxy/upstream/cluster_stats.h"

#include <stddef.h>

struct stat_def {
    const char *suffix;
    enum rs_stat_kind kind;
    size_t offset;
};

#define C(f)                                                                                       \
    {                                                                                              \
#f, RS_STAT_COUNTER, offsetof(struct rs_cluster_stats, f)                                  \
    }
#define G(f)                                                                                       \
    {                                                                                              \
#f, RS_STAT_GAUGE, offsetof(struct rs_cluster_stats, f)                                    \
    }
#define H(f)                                                                                       \
    {                                                                                              \
#f, RS_STAT_HISTOGRAM, offsetof(struct rs_cluster_stats, f)                                \
    }

static const struct stat_def defs[] = {
    C(upstream_cx_total),
    C(upstream_cx_connect_fail),
    C(upstream_cx_connect_timeout),
    C(upstream_cx_connect_attempts_exceeded),
    C(upstream_cx_none_healthy),
    C(upstream_cx_destroy),
    C(upstream_cx_destroy_local),
    C(upstream_cx_destroy_remote),
    C(upstream_cx_rx_bytes_total),
    C(upstream_cx_tx_bytes_total),
    C(upstream_cx_overflow),
    G(upstream_cx_active),
    H(upstream_cx_connect_ms),
    H(upstream_cx_length_ms),
    G(membership_total),
    G(membership_healthy),
    G(membership_degraded),
    G(membership_excluded),
    G(max_host_weight),
    C(membership_change),
    C(update_attempt),
    C(update_success),
    C(update_failure),
    C(update_no_rebuild),
    C(lb_healthy_panic),
};

bool rs_cluster_stats_register(struct rs_stats_store *store, const char *name,
                               struct rs_cluster_stats *out)
{
    bool ok = true;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        rs_stat_id *slot = (rs_stat_id *)((char *)out + defs[i].offset);
        if (store == NULL) {
            *slot = RS_STAT_INVALID;
            continue;
        }
        switch (defs[i].kind) {
        case RS_STAT_COUNTER:
            *slot = rs_stats_counterf(store, "cluster.%s.%s", name, defs[i].suffix);
            break;
        case RS_STAT_GAUGE:
            *slot = rs_stats_gaugef(store, "cluster.%s.%s", name, defs[i].suffix);
            break;
        case RS_STAT_HISTOGRAM:
            *slot = rs_stats_histogramf(store, "cluster.%s.%s", name, defs[i].suffix);
            break;
        }
        if (*slot == RS_STAT_INVALID)
            ok = false;
    }
    return ok;
}
