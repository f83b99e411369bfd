#include "proxy/admin/admin_stats.h"

void rs_admin_stats_init(struct rs_admin_stats *s, struct rs_stats_store *store)
{
    *s = (struct rs_admin_stats){0};
    if (store == NULL)
        return;
    s->listener_cx_total = rs_stats_counter(store, "listener.admin.downstream_cx_total");
    s->listener_cx_active = rs_stats_gauge(store, "listener.admin.downstream_cx_active");
    s->listener_cx_overflow = rs_stats_counter(store, "listener.admin.downstream_cx_overflow");
    s->cx_total = rs_stats_counter(store, "http.admin.downstream_cx_total");
    s->cx_active = rs_stats_gauge(store, "http.admin.downstream_cx_active");
    s->cx_http1_total = rs_stats_counter(store, "http.admin.downstream_cx_http1_total");
    s->cx_destroy = rs_stats_counter(store, "http.admin.downstream_cx_destroy");
    s->cx_idle_timeout = rs_stats_counter(store, "http.admin.downstream_cx_idle_timeout");
    s->cx_protocol_error = rs_stats_counter(store, "http.admin.downstream_cx_protocol_error");
    s->rq_total = rs_stats_counter(store, "http.admin.downstream_rq_total");
    s->rq_http1_total = rs_stats_counter(store, "http.admin.downstream_rq_http1_total");
    s->rq_completed = rs_stats_counter(store, "http.admin.downstream_rq_completed");
    for (int i = 0; i < 5; i++)
        s->rq_xx[i] = rs_stats_counterf(store, "http.admin.downstream_rq_%dxx", i + 1);
    s->rq_time = rs_stats_histogram(store, "http.admin.downstream_rq_time");
    s->shard = rs_stats_shard_new(store);
}

void rs_admin_stats_response(struct rs_admin_stats *s, int status, uint64_t elapsed_ms)
{
    if (s->shard == NULL)
        return;
    if (status >= 100 && status < 600)
        rs_stats_inc(s->shard, s->rq_xx[status / 100 - 1]);
    rs_stats_inc(s->shard, s->rq_completed);
    rs_stats_histogram_record(s->shard, s->rq_time, elapsed_ms);
}
