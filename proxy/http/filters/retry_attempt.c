/* Retries around upstream attempts: the per-request retry state (proxy/http/retry decides), the
 * replay copy of the request body, the per-try timeout and the backoff before the next attempt. */
#include <stddef.h>

#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/filters/router_internal.h"
#include "proxy/http/local_reply/details.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb.h"

/* Envoy's default retry/shadow buffer: the listener's per_connection_buffer_limit_bytes. */
#define RS_ROUTER_DEFAULT_REPLAY_LIMIT (1024u * 1024u)

static void on_retry_timer(struct rs_loop *loop, struct rs_timer *t);
static void on_per_try_timeout(struct rs_loop *loop, struct rs_timer *t);

/* The HCM strips x-envoy-* retry headers from untrusted clients (Envoy's internal-request rule),
 * so what reaches the router is trusted. */
void rs_router_retry_init(struct rs_router_filter *rf, struct rs_header_map *h)
{
    const struct rs_route_retry_policy *pol = rf->route->forward.retry;
    rf->timeouts = rs_retry_final_timeouts(rf->route->forward.timeout_ms, pol, h, true);
    rf->timeout_ms = rf->timeouts.global_ms;
    rs_retry_state_init(&rf->retry, pol, h, true, NULL, NULL);
    rf->retry_enabled = rs_retry_state_enabled(&rf->retry);
    int64_t lim = rf->route->per_request_buffer_limit_bytes;
    rf->replay_limit = lim >= 0 ? (size_t)lim : RS_ROUTER_DEFAULT_REPLAY_LIMIT;
    rs_timer_init(&rf->retry_timer, on_retry_timer);
    rs_timer_init(&rf->per_try_timer, on_per_try_timeout);
}

/* Appends src's bytes to dst without draining src: loop slices gain a reference, heap slices are
 * copied (they are small: chunk framing, heads). */
static int buffer_dup(struct rs_loop *loop, struct rs_buffer *dst, const struct rs_buffer *src)
{
    for (uint32_t i = 0; i < src->count; i++) {
        const struct rs_slice *s = &src->slices[(src->head + i) % src->cap];
        int r = s->bid >= 0
                    ? rs_buffer_add_loop(dst, (uint16_t)s->bid,
                                         (uint32_t)(s->data - rs_loop_buf(loop, (uint16_t)s->bid)),
                                         s->len)
                    : rs_buffer_add_copy(dst, s->data, s->len);
        if (r != 0)
            return -1;
    }
    return 0;
}

void rs_router_retry_keep(struct rs_router_filter *rf, const struct rs_buffer *framed)
{
    if (!rf->retry_enabled || rf->retry.abandoned)
        return;
    if (rs_buffer_len(&rf->replay) + rs_buffer_len(framed) > rf->replay_limit ||
        buffer_dup(rf->loop, &rf->replay, framed) != 0) {
        /* Beyond the replay buffer a retry could not resend the body: no more retries. */
        rs_retry_abandon(&rf->retry);
        rs_buffer_clear(&rf->replay);
        if (rf->phase == RS_ROUTER_RETRY_WAIT) {
            /* Waiting to retry with a body we can no longer replay: Envoy answers 507. */
            rs_router_upstream_finish(rf, false);
            rs_http_stream_send_local_reply(
                rf->stream, 507, "exceeded request buffer limit while retrying upstream",
                RS_LOCAL_REPLY_DETAILS_REQUEST_PAYLOAD_EXCEEDED_RETRY_BUFFER_LIMIT, 0);
        }
    }
}

static bool handle(struct rs_router_filter *rf, struct rs_retry_decision d)
{
    const struct rs_router_cluster_stats *st = rf->stats;
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (d.count_success)
        rs_stats_inc(rf->shard, st->rq_retry_success);
    switch (d.status) {
    case RS_RETRY_YES:
        rs_stats_inc(rf->shard, st->rq_retry);
        rs_stats_inc(rf->shard, st->rq_retry_backoff_exponential);
        rs_router_attempt_reset(rf);
        rs_timer_arm(rf->loop, &rf->retry_timer, d.backoff_ms);
        return true;
    case RS_RETRY_NO_OVERFLOW:
        rs_stats_inc(rf->shard, st->rq_retry_overflow);
        if (si != NULL)
            si->response_flags |= RS_RF_UO;
        return false;
    case RS_RETRY_NO_LIMIT_EXCEEDED:
        rs_stats_inc(rf->shard, st->rq_retry_limit_exceeded);
        if (si != NULL)
            si->response_flags |= RS_RF_URX;
        return false;
    case RS_RETRY_NO:
        break;
    }
    return false;
}

bool rs_router_retry_on_reset(struct rs_router_filter *rf, enum rs_retry_reset_reason reason)
{
    if (!rf->retry_enabled || rf->phase == RS_ROUTER_BODY || rf->phase == RS_ROUTER_DONE)
        return false;
    return handle(rf, rs_retry_should_retry_reset(&rf->retry, reason, rs_router_random(rf)));
}

bool rs_router_retry_on_headers(struct rs_router_filter *rf, const struct rs_header_map *h)
{
    if (!rf->retry_enabled)
        return false;
    return handle(rf, rs_retry_should_retry_headers(&rf->retry, h, rs_router_random(rf)));
}

/* Envoy starts a per-try timeout once the attempt is under way and the request is complete. */
void rs_router_arm_per_try(struct rs_router_filter *rf)
{
    if (rf->timeouts.per_try_ms == 0 || rf->pc == NULL || !rf->request_complete ||
        rs_timer_armed(&rf->per_try_timer) || rf->phase != RS_ROUTER_HEAD)
        return;
    rs_timer_arm(rf->loop, &rf->per_try_timer, rf->timeouts.per_try_ms);
}

static void on_per_try_timeout(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct rs_router_filter *rf =
        (struct rs_router_filter *)((char *)t - offsetof(struct rs_router_filter, per_try_timer));
    rs_stats_inc(rf->shard, rf->stats->rq_per_try_timeout);
    if (rs_router_retry_on_reset(rf, RS_RETRY_RESET_LOCAL_RESET))
        return;
    if (rf->phase == RS_ROUTER_BODY) {
        /* The response started (only possible when the timer raced the headers): abort it. */
        struct rs_stream_info *si = rs_http_stream_info(rf->stream);
        if (si != NULL)
            si->response_flags |= RS_RF_UT;
        rs_router_upstream_finish(rf, false);
        rs_http_stream_reset(rf->stream);
        return;
    }
    rs_router_upstream_finish(rf, false);
    rs_router_charge_code(rf, 504);
    rs_http_stream_send_local_reply(rf->stream, 504, RS_LOCAL_REPLY_BODY_UPSTREAM_TIMEOUT,
                                    RS_LOCAL_REPLY_DETAILS_UPSTREAM_PER_TRY_TIMEOUT, RS_RF_UT);
}

/* Backoff over: the next attempt, on a host picked again (avoiding earlier ones under
 * previous_hosts). */
static void on_retry_timer(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct rs_router_filter *rf =
        (struct rs_router_filter *)((char *)t - offsetof(struct rs_router_filter, retry_timer));
    struct rs_cluster *c = rf->cs->cluster;
    struct rs_lb_context lb = {.now_ms = rs_loop_now_ms(rf->loop),
                               .avoid = rf->retry.previous_hosts ? rf->host : NULL};
    struct rs_host *h = rs_cluster_pick_host(c, rf->worker_id, &lb);
    for (uint32_t i = 1; h != NULL && i < rs_retry_host_selection_max_attempts(&rf->retry) &&
                         rs_retry_should_reselect_host(&rf->retry, h);
         i++) {
        rs_host_unref(h);
        h = rs_cluster_pick_host(c, rf->worker_id, &lb);
    }
    if (h == NULL) {
        rs_stats_inc(rf->shard, c->stats.upstream_cx_none_healthy);
        rs_router_upstream_finish(rf, false);
        rs_http_stream_send_local_reply(rf->stream, 503, RS_LOCAL_REPLY_BODY_NO_HEALTHY_UPSTREAM,
                                        RS_LOCAL_REPLY_DETAILS_NO_HEALTHY_UPSTREAM, RS_RF_UH);
        return;
    }
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (si != NULL)
        si->upstream_host = h->addr_str;
    rs_host_unref(rf->host);
    rf->host = h;
    if (rs_router_upstream_start(rf) != 0) {
        rs_router_upstream_finish(rf, false);
        rs_http_stream_send_local_reply(rf->stream, 503, NULL, "router_request_head_failed", 0);
    }
}
