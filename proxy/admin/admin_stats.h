/* The admin server's own stats, under Envoy's names for its admin listener and connection
 * manager (listener.admin.*, http.admin.*). */
#ifndef RS_ADMIN_ADMIN_STATS_H
#define RS_ADMIN_ADMIN_STATS_H

#include <stddef.h>

#include "proxy/stats/stats.h"

struct rs_admin_stats {
    struct rs_stats_shard *shard; /* owned by the store; NULL when there is no store */
    rs_stat_id listener_cx_total, listener_cx_active, listener_cx_overflow;
    rs_stat_id cx_total, cx_active, cx_http1_total, cx_destroy, cx_idle_timeout, cx_protocol_error;
    rs_stat_id rq_total, rq_http1_total, rq_completed, rq_xx[5], rq_time;
};

/* Registers the stats and creates the calling thread's shard for them. */
void rs_admin_stats_init(struct rs_admin_stats *s, struct rs_stats_store *store);

static inline void rs_admin_stats_inc(struct rs_admin_stats *s, rs_stat_id id)
{
    if (s->shard != NULL)
        rs_stats_inc(s->shard, id);
}
static inline void rs_admin_stats_gauge(struct rs_admin_stats *s, rs_stat_id id, int64_t delta)
{
    if (s->shard != NULL)
        rs_stats_gauge_add(s->shard, id, delta);
}
/* Counts a response: downstream_rq_<N>xx, completed and, for a finished request, its time. */
void rs_admin_stats_response(struct rs_admin_stats *s, int status, uint64_t elapsed_ms);

#endif
