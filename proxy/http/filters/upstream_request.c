/* One upstream attempt: borrowing a pooled connection, writing the request, the route timeout,
 * and giving the connection back. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/filters/router_internal.h"
#include "proxy/http/local_reply/details.h"
#include "proxy/http/local_reply/local_reply.h"

static void flow_check_upstream(struct rs_router_filter *rf)
{
    if (rf->pc == NULL)
        return;
    bool over = rs_pooled_conn_over_limit(rf->pc);
    if (over != rf->downstream_paused) {
        rf->downstream_paused = over;
        rs_http_stream_pause_downstream_reads(rf->stream, over);
    }
}

static void on_ready(struct rs_h1_pool_request *req, struct rs_pooled_conn *pc, int err)
{
    struct rs_router_filter *rf =
        (struct rs_router_filter *)((char *)req - offsetof(struct rs_router_filter, preq));
    if (err != 0) {
        enum rs_retry_reset_reason reason = RS_RETRY_RESET_LOCAL_CONNECTION_FAILURE;
        if (err == -ETIMEDOUT)
            reason = RS_RETRY_RESET_CONNECTION_TIMEOUT;
        else if (err == -ECONNREFUSED || err == -ECONNRESET || err == -EHOSTUNREACH ||
                 err == -ENETUNREACH)
            reason = RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE;
        rf->phase = RS_ROUTER_RETRY_WAIT; /* on_ready ran: nothing to cancel */
        rs_router_fail_reset(rf, reason);
        return;
    }
    rf->pc = pc;
    rf->phase = RS_ROUTER_HEAD;
    /* Envoy counts upstream_rq_total when a request is bound to a connection. */
    rs_stats_inc(rf->shard, rf->stats->rq_total);
    rf->sent_ms = rs_loop_now_ms(rf->loop);
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (si != NULL)
        rs_stream_info_mark_first(si, &si->first_upstream_tx_byte_ns);
    rs_pooled_conn_send(pc, &rf->out);
    if (rf->request_complete && si != NULL)
        rs_stream_info_mark_last(si, &si->last_upstream_tx_byte_ns);
    rs_router_arm_per_try(rf);
    flow_check_upstream(rf);
}

int rs_router_upstream_start(struct rs_router_filter *rf)
{
    struct rs_h1_buf head = {0};
    if (rs_router_build_request_head(rf, rf->req, rf->end_stream_on_headers, &head) != 0) {
        free(head.data);
        return -1;
    }
    rs_buffer_clear(&rf->out);
    /* The serialized head becomes the first slice of the outgoing queue (ownership moves), then
     * whatever body a previous attempt already sent. */
    if (rs_buffer_add_owned(&rf->out, (uint8_t *)head.data, head.len) != 0) {
        free(head.data);
        return -1;
    }
    for (uint32_t i = 0; i < rf->replay.count; i++) {
        const struct rs_slice *sl = &rf->replay.slices[(rf->replay.head + i) % rf->replay.cap];
        if (sl->bid >= 0)
            rs_buffer_add_loop(&rf->out, (uint16_t)sl->bid,
                               (uint32_t)(sl->data - rs_loop_buf(rf->loop, (uint16_t)sl->bid)),
                               sl->len);
        else
            rs_buffer_add_copy(&rf->out, sl->data, sl->len);
    }
    rf->attempts++;
    rf->acc_len = 0;
    rf->phase = RS_ROUTER_CONNECTING;
    rf->preq.on_ready = on_ready;
    rf->preq.cb = &rs_router_conn_callbacks;
    rf->preq.user = rf;
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (si != NULL)
        si->upstream_request_attempt_count = rf->attempts;
    if (rf->retry_enabled)
        rs_retry_on_host_attempted(&rf->retry, rf->host);
    rs_h1_pool_acquire(rf->cs->pool, rf->host, &rf->preq);
    return 0;
}

/* Moves data to the connection, or queues it behind the head while the pool has not answered. */
void rs_router_upstream_send(struct rs_router_filter *rf, struct rs_buffer *data)
{
    if (rf->pc != NULL) {
        rs_pooled_conn_send(rf->pc, data);
        if (rf->request_complete) {
            struct rs_stream_info *si = rs_http_stream_info(rf->stream);
            if (si != NULL)
                rs_stream_info_mark_last(si, &si->last_upstream_tx_byte_ns);
        }
        flow_check_upstream(rf);
    } else if (rf->phase == RS_ROUTER_CONNECTING) {
        /* Held until the connection exists: bounded by the connection manager's own limits
         * (it pauses the downstream through the buffer accounting it does). */
        rs_buffer_move(&rf->out, data, rs_buffer_len(data));
        if (!rf->downstream_paused &&
            rs_buffer_len(&rf->out) > rf->cs->cluster->per_connection_buffer_limit_bytes) {
            /* Do not queue an unbounded body for a connection that does not exist yet;
             * on_ready re-evaluates once the bytes reach the connection. */
            rf->downstream_paused = true;
            rs_http_stream_pause_downstream_reads(rf->stream, true);
        }
    } else {
        rs_buffer_clear(data);
    }
}

void rs_router_attempt_reset(struct rs_router_filter *rf)
{
    if (rs_timer_armed(&rf->per_try_timer))
        rs_timer_cancel(rf->loop, &rf->per_try_timer);
    if (rf->phase == RS_ROUTER_CONNECTING && rf->pc == NULL)
        rs_h1_pool_cancel(&rf->preq);
    if (rf->pc != NULL) {
        /* Only the response path decides reuse: a dropped attempt's connection is closed. */
        rs_h1_pool_release(rf->cs->pool, rf->pc, false);
        rf->pc = NULL;
    }
    rs_buffer_clear(&rf->out);
    rf->acc_len = 0;
    if (rf->downstream_paused) {
        rf->downstream_paused = false;
        rs_http_stream_pause_downstream_reads(rf->stream, false);
    }
    rf->phase = RS_ROUTER_RETRY_WAIT;
}

void rs_router_upstream_finish(struct rs_router_filter *rf, bool reusable)
{
    if (rs_timer_armed(&rf->timer))
        rs_timer_cancel(rf->loop, &rf->timer);
    if (rs_timer_armed(&rf->per_try_timer))
        rs_timer_cancel(rf->loop, &rf->per_try_timer);
    if (rs_timer_armed(&rf->retry_timer))
        rs_timer_cancel(rf->loop, &rf->retry_timer);
    if (rf->phase == RS_ROUTER_CONNECTING && rf->pc == NULL)
        rs_h1_pool_cancel(&rf->preq);
    if (rf->pc != NULL) {
        rs_h1_pool_release(rf->cs->pool, rf->pc, reusable);
        rf->pc = NULL;
    }
    rs_buffer_clear(&rf->out);
    rs_buffer_clear(&rf->replay);
    if (rf->downstream_paused) {
        /* The connection manager may read the next request on this connection. */
        rf->downstream_paused = false;
        rs_http_stream_pause_downstream_reads(rf->stream, false);
    }
    rf->phase = RS_ROUTER_DONE;
}

static uint64_t flag_bits(const char *name)
{
    for (unsigned i = 0; name != NULL && i < RS_STREAM_INFO_FLAG_COUNT; i++) {
        const char *n = rs_stream_info_flag_name(1ull << i);
        if (n != NULL && strcmp(n, name) == 0)
            return 1ull << i;
    }
    return 0;
}

void rs_router_fail_reset(struct rs_router_filter *rf, enum rs_retry_reset_reason reason)
{
    if (rs_router_retry_on_reset(rf, reason))
        return;
    rs_router_upstream_finish(rf, false);
    struct rs_local_reply_reset r;
    rs_local_reply_upstream_reset(reason, rf->attempts > 1, NULL, &r);
    rs_router_charge_code(rf, (int)r.status);
    /* The details string must outlive this call (the stream info keeps the pointer): keep our
     * copy in the filter's accumulator, which lives until destroy. */
    free(rf->acc);
    rf->acc = rs_strbuf_take(&r.details);
    rf->acc_len = rf->acc_cap = 0;
    struct rs_http_stream *s = rf->stream;
    uint32_t flags = (uint32_t)flag_bits(r.flag);
    char *body = rs_strbuf_take(&r.body);
    rs_local_reply_reset_free(&r);
    rs_http_stream_send_local_reply(s, (int)r.status, body, rf->acc, flags);
    free(body);
}

static void on_timeout(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct rs_router_filter *rf =
        (struct rs_router_filter *)((char *)t - offsetof(struct rs_router_filter, timer));
    rs_stats_inc(rf->shard, rf->stats->rq_timeout);
    if (rf->phase == RS_ROUTER_BODY) {
        /* The response started: all that is left is to abort it. */
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
                                    "upstream_response_timeout", RS_RF_UT);
}

/* Envoy starts the route timeout once the downstream request is complete. */
void rs_router_arm_timeout(struct rs_router_filter *rf)
{
    if (rf->phase == RS_ROUTER_DONE)
        return;
    rs_router_arm_per_try(rf);
    if (rf->timeout_ms == 0 || rs_timer_armed(&rf->timer))
        return;
    rs_timer_init(&rf->timer, on_timeout);
    rs_timer_arm(rf->loop, &rf->timer, rf->timeout_ms);
}
