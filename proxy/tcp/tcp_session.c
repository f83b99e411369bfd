#include "proxy/tcp/tcp_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/core/log.h"
#include "proxy/core/snapshot.h"
#include "proxy/core/timer.h"
#include "proxy/net/conn.h"
#include "proxy/net/worker.h"
#include "proxy/tcp/tcp_proxy.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb.h"

/* Owned by its worker (linked in the worker's active list) from accept until both connections have
 * reported on_closed. The upstream rs_conn is allocated per connect attempt, because a failed
 * attempt must finish closing (its operations complete) while the next one starts. */
struct tcp_session {
    struct rs_active active;
    struct rs_worker *w;
    const struct rs_tcp_proxy_config *cfg;
    const struct rs_listener *listener;
    struct rs_snapshot *snapshot; /* reference: keeps cfg and listener alive */
    struct rs_address original_dst;

    struct rs_conn down;
    struct rs_conn *up;         /* current attempt, owned; NULL before the first */
    struct rs_cluster *cluster; /* borrowed from cfg */
    struct rs_host *host;       /* reference for the current attempt */
    unsigned attempts;
    unsigned upstreams_open; /* rs_conn upstream objects not yet closed */

    bool connected;
    bool closing;
    bool down_closed;
    bool down_paused, up_paused;
    bool down_eof, up_eof; /* read side ended */
    bool remote_close_up;  /* the upstream ended the session (for destroy_remote/local) */
    bool host_rq_active;   /* counted in host->stats.rq_active (LEAST_REQUEST reads it) */

    struct rs_timer idle_timer;
    uint64_t start_ms, connect_start_ms, connected_ms, last_activity_ms;
};

static const struct rs_conn_callbacks down_cbs, up_cbs;
static void session_close(struct tcp_session *s);
static void try_connect(struct tcp_session *s);

static struct rs_stats_shard *shard(struct tcp_session *s)
{
    return s->w->stats;
}

static uint64_t now_ms(struct tcp_session *s)
{
    return rs_loop_now_ms(s->w->loop);
}

static struct rs_cluster *pick_cluster(struct tcp_session *s)
{
    const struct rs_tcp_proxy_config *cfg = s->cfg;
    if (cfg->n_targets == 1)
        return cfg->targets[0].cluster;
    /* Weighted clusters: xorshift on a per-session seed derived from time and address is plenty
     * for a traffic split. */
    uint64_t x = (uint64_t)(uintptr_t)s ^ (now_ms(s) * 0x9E3779B97F4A7C15ull);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    uint64_t r = x % cfg->total_weight;
    for (unsigned i = 0; i < cfg->n_targets; i++) {
        if (r < cfg->targets[i].weight)
            return cfg->targets[i].cluster;
        r -= cfg->targets[i].weight;
    }
    return cfg->targets[cfg->n_targets - 1].cluster;
}

/* ---- teardown ---- */

static void host_rq_done(struct tcp_session *s);

static void maybe_free(struct tcp_session *s)
{
    if (!s->closing || !s->down_closed || s->upstreams_open > 0)
        return;
    struct rs_worker *w = s->w;
    const struct rs_listener *l = s->listener;
    uint64_t now = now_ms(s);
    rs_stats_gauge_add(w->stats, l->stats.downstream_cx_active, -1);
    rs_stats_inc(w->stats, l->stats.downstream_cx_destroy);
    rs_stats_histogram_record(w->stats, l->stats.downstream_cx_length_ms, now - s->start_ms);
    if (s->host) {
        host_rq_done(s);
        rs_host_unref(s->host);
    }
    rs_timer_cancel(w->loop, &s->idle_timer);
    rs_worker_active_remove(w, &s->active);
    rs_snapshot_unref(s->snapshot, w->loop);
    free(s);
}

static void upstream_closed_stats(struct tcp_session *s)
{
    if (!s->connected)
        return;
    const struct rs_cluster_stats *cs = &s->cluster->stats;
    rs_stats_gauge_add(shard(s), cs->upstream_cx_active, -1);
    rs_stats_inc(shard(s), cs->upstream_cx_destroy);
    rs_stats_inc(shard(s), s->remote_close_up ? cs->upstream_cx_destroy_remote
                                              : cs->upstream_cx_destroy_local);
    rs_stats_histogram_record(shard(s), cs->upstream_cx_length_ms, now_ms(s) - s->connected_ms);
    rs_host_stat_gauge_add(&s->host->stats.cx_active, -1);
}

static void session_close(struct tcp_session *s)
{
    if (s->closing)
        return;
    s->closing = true;
    rs_timer_cancel(s->w->loop, &s->idle_timer);
    upstream_closed_stats(s);
    rs_conn_close(&s->down, false);
    if (s->up)
        rs_conn_close(s->up, false);
    maybe_free(s);
}

static void session_abort(struct tcp_session *s)
{
    /* An error on one side: the other is reset so that the peer learns something went wrong rather
     * than seeing a clean end of stream. */
    if (s->closing)
        return;
    s->closing = true;
    rs_timer_cancel(s->w->loop, &s->idle_timer);
    upstream_closed_stats(s);
    rs_conn_close(&s->down, true);
    if (s->up)
        rs_conn_close(s->up, true);
    maybe_free(s);
}

static void active_close(struct rs_active *a, bool now)
{
    struct tcp_session *s = (struct tcp_session *)a;
    /* Raw TCP has no way to ask a peer to finish: draining just lets the session run; only a stop
     * (drain time over) closes it. */
    if (now)
        session_close(s);
}

/* Both directions have ended and everything was flushed: the session is over. */
static void maybe_finish(struct tcp_session *s)
{
    if (s->closing || !s->down_eof || !s->up_eof || s->up == NULL)
        return;
    if (rs_conn_queued(&s->down) > 0 || rs_conn_queued(s->up) > 0)
        return;
    session_close(s);
}

/* ---- relay ---- */

/* Each proxied connection counts as one request on its host, as Envoy's TCP pool does, so that
 * LEAST_REQUEST balances TCP traffic by open connections. */
static void host_rq_done(struct tcp_session *s)
{
    if (s->host_rq_active) {
        s->host_rq_active = false;
        rs_host_stat_gauge_add(&s->host->stats.rq_active, -1);
    }
}

static void touch(struct tcp_session *s)
{
    s->last_activity_ms = now_ms(s);
}

static void down_data(struct rs_conn *c, void *owner, uint16_t bid, uint32_t len)
{
    (void)c;
    struct tcp_session *s = owner;
    touch(s);
    rs_stats_add(shard(s), s->cfg->stats.downstream_cx_rx_bytes_total, len);
    rs_stats_add(shard(s), s->cluster->stats.upstream_cx_tx_bytes_total, len);
    rs_conn_send_buf(s->up, bid, 0, len);
    if (rs_conn_over_limit(s->up) && !s->down_paused) {
        s->down_paused = true;
        rs_stats_inc(shard(s), s->cfg->stats.downstream_flow_control_paused_reading_total);
        rs_conn_read_pause(&s->down);
    }
}

static void up_data(struct rs_conn *c, void *owner, uint16_t bid, uint32_t len)
{
    (void)c;
    struct tcp_session *s = owner;
    touch(s);
    rs_stats_add(shard(s), s->cfg->stats.downstream_cx_tx_bytes_total, len);
    rs_stats_add(shard(s), s->cluster->stats.upstream_cx_rx_bytes_total, len);
    rs_conn_send_buf(&s->down, bid, 0, len);
    if (rs_conn_over_limit(&s->down) && !s->up_paused) {
        s->up_paused = true;
        rs_conn_read_pause(s->up);
    }
}

static void down_drained(struct rs_conn *c, void *owner)
{
    (void)c;
    struct tcp_session *s = owner;
    if (s->up_paused && s->up) {
        s->up_paused = false;
        rs_conn_read_start(s->up);
    }
    maybe_finish(s);
}

static void up_drained(struct rs_conn *c, void *owner)
{
    (void)c;
    struct tcp_session *s = owner;
    if (s->down_paused) {
        s->down_paused = false;
        rs_stats_inc(shard(s), s->cfg->stats.downstream_flow_control_resumed_reading_total);
        rs_conn_read_start(&s->down);
    }
    maybe_finish(s);
}

static void down_eof(struct rs_conn *c, void *owner)
{
    (void)c;
    struct tcp_session *s = owner;
    s->down_eof = true;
    if (s->up && s->connected)
        rs_conn_shutdown_write(s->up);
    else if (!s->connected)
        session_close(s); /* the client gave up before the upstream answered */
    maybe_finish(s);
}

static void up_eof(struct rs_conn *c, void *owner)
{
    (void)c;
    struct tcp_session *s = owner;
    s->up_eof = true;
    s->remote_close_up = true;
    rs_conn_shutdown_write(&s->down);
    maybe_finish(s);
}

static void down_error(struct rs_conn *c, void *owner, int res)
{
    (void)c;
    struct tcp_session *s = owner;
    RS_DEBUG("tcp_proxy: downstream error: %s", strerror(-res));
    session_abort(s);
}

static void up_error(struct rs_conn *c, void *owner, int res)
{
    (void)c;
    struct tcp_session *s = owner;
    RS_DEBUG("tcp_proxy: upstream error: %s", strerror(-res));
    s->remote_close_up = true;
    session_abort(s);
}

static void down_closed(struct rs_conn *c, void *owner)
{
    (void)c;
    struct tcp_session *s = owner;
    s->down_closed = true;
    maybe_free(s);
}

static void up_closed(struct rs_conn *c, void *owner)
{
    struct tcp_session *s = owner;
    if (s->up == c)
        s->up = NULL;
    free(c);
    s->upstreams_open--;
    maybe_free(s);
}

static void unused_connected(struct rs_conn *c, void *owner, int res)
{
    (void)c;
    (void)owner;
    (void)res;
}

/* ---- connecting ---- */

static void idle_fired(struct rs_loop *loop, struct rs_timer *t)
{
    struct tcp_session *s =
        (struct tcp_session *)((char *)t - offsetof(struct tcp_session, idle_timer));
    uint64_t idle = rs_loop_now_ms(loop) - s->last_activity_ms;
    if (idle >= s->cfg->idle_timeout_ms) {
        rs_stats_inc(shard(s), s->cfg->stats.idle_timeout);
        session_close(s);
        return;
    }
    /* Activity only stamps a time; the timer re-arms for what is left. */
    rs_timer_arm(loop, &s->idle_timer, s->cfg->idle_timeout_ms - idle);
}

static void up_connected(struct rs_conn *c, void *owner, int res)
{
    struct tcp_session *s = owner;
    const struct rs_cluster_stats *cs = &s->cluster->stats;
    if (s->closing)
        return;
    if (res < 0) {
        rs_stats_inc(shard(s), cs->upstream_cx_connect_fail);
        if (res == -ETIMEDOUT)
            rs_stats_inc(shard(s), cs->upstream_cx_connect_timeout);
        rs_host_stat_inc(&s->host->stats.cx_connect_fail);
        rs_host_stat_inc(&s->host->stats.rq_error);
        host_rq_done(s);
        RS_DEBUG("tcp_proxy: connect to %s failed: %s", s->host->addr_str, strerror(-res));
        rs_conn_close(c, false);
        s->up = NULL; /* freed in up_closed */
        if (s->attempts >= s->cfg->max_connect_attempts) {
            if (s->cfg->max_connect_attempts > 1)
                rs_stats_inc(shard(s), cs->upstream_cx_connect_attempts_exceeded);
            session_close(s);
            return;
        }
        try_connect(s);
        return;
    }
    s->connected = true;
    s->connected_ms = now_ms(s);
    rs_stats_gauge_add(shard(s), cs->upstream_cx_active, 1);
    rs_stats_histogram_record(shard(s), cs->upstream_cx_connect_ms,
                              s->connected_ms - s->connect_start_ms);
    rs_host_stat_gauge_add(&s->host->stats.cx_active, 1);
    touch(s);
    rs_conn_read_start(c);
    if (s->down_eof)
        rs_conn_shutdown_write(c);
    else
        rs_conn_read_start(&s->down);
    if (s->cfg->idle_timeout_ms > 0)
        rs_timer_arm(s->w->loop, &s->idle_timer, s->cfg->idle_timeout_ms);
}

static void try_connect(struct tcp_session *s)
{
    const struct rs_cluster_stats *cs = &s->cluster->stats;
    struct rs_lb_context ctx = {
        .original_dst = (const struct sockaddr *)&s->original_dst.sa,
        .avoid = s->host,
        .now_ms = now_ms(s),
    };
    struct rs_host *host = rs_cluster_pick_host(s->cluster, s->w->id, &ctx);
    if (s->host) {
        host_rq_done(s);
        rs_host_unref(s->host);
    }
    s->host = host;
    if (host == NULL) {
        rs_stats_inc(shard(s), cs->upstream_cx_none_healthy);
        session_close(s);
        return;
    }
    s->attempts++;
    struct rs_conn *up = malloc(sizeof *up);
    if (up == NULL) {
        session_close(s);
        return;
    }
    size_t limit = s->cluster->per_connection_buffer_limit_bytes;
    rs_conn_init(up, s->w->loop, -1, limit, &up_cbs, s);
    s->upstreams_open++;
    s->up = up;
    s->connect_start_ms = now_ms(s);
    rs_stats_inc(shard(s), cs->upstream_cx_total);
    rs_host_stat_inc(&host->stats.cx_total);
    rs_host_stat_inc(&host->stats.rq_total);
    rs_host_stat_gauge_add(&host->stats.rq_active, 1);
    s->host_rq_active = true;
    int rc = rs_conn_connect(up, (const struct sockaddr *)&host->addr, host->addr_len,
                             s->cluster->connect_timeout_ms);
    if (rc < 0) {
        /* No socket (descriptor exhaustion): counted as a connect failure, no retry storm. */
        rs_stats_inc(shard(s), cs->upstream_cx_connect_fail);
        rs_conn_close(up, false);
        s->up = NULL;
        session_close(s);
    }
}

void rs_tcp_session_start(struct rs_worker *w, void *config, const struct rs_accepted *a)
{
    const struct rs_tcp_proxy_config *cfg = config;
    struct tcp_session *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(a->fd);
        rs_stats_inc(w->stats, a->listener->stats.downstream_cx_destroy);
        rs_snapshot_unref(a->snapshot, w->loop);
        return;
    }
    s->snapshot = a->snapshot;
    s->w = w;
    s->cfg = cfg;
    s->listener = a->listener;
    s->original_dst = a->local;
    s->active.close = active_close;
    s->start_ms = rs_loop_now_ms(w->loop);
    rs_timer_init(&s->idle_timer, idle_fired);
    rs_conn_init(&s->down, w->loop, a->fd, a->listener->buffer_limit, &down_cbs, s);
    rs_worker_active_add(w, &s->active);
    rs_stats_gauge_add(w->stats, a->listener->stats.downstream_cx_active, 1);
    rs_stats_inc(w->stats, cfg->stats.downstream_cx_total);
    s->cluster = pick_cluster(s);
    /* The downstream is not read until the upstream is connected (as Envoy): nothing to buffer,
     * and a client that half-closes early is still relayed once connected. */
    try_connect(s);
}

static const struct rs_conn_callbacks down_cbs = {
    .on_data = down_data,
    .on_eof = down_eof,
    .on_error = down_error,
    .on_connected = unused_connected,
    .on_send_drained = down_drained,
    .on_closed = down_closed,
};

static const struct rs_conn_callbacks up_cbs = {
    .on_data = up_data,
    .on_eof = up_eof,
    .on_error = up_error,
    .on_connected = up_connected,
    .on_send_drained = up_drained,
    .on_closed = up_closed,
};
