/* The upstream response: head parsing (1xx skipped), the response header map, the body through the
 * h1 decoder into the encode chain without copying, trailers, and the end of the exchange. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/core/decimal.h"
#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/filters/router_internal.h"
#include "proxy/http/local_reply/local_reply.h"

static int acc_append(struct rs_router_filter *rf, const char *p, size_t n)
{
    if (rf->acc_len + n > rf->acc_cap) {
        size_t cap = rf->acc_cap ? rf->acc_cap : 1024;
        while (cap < rf->acc_len + n)
            cap *= 2;
        char *d = realloc(rf->acc, cap);
        if (d == NULL)
            return -1;
        rf->acc = d;
        rf->acc_cap = cap;
    }
    memcpy(rf->acc + rf->acc_len, p, n);
    rf->acc_len += n;
    return 0;
}

static void acc_drop_front(struct rs_router_filter *rf, size_t n)
{
    memmove(rf->acc, rf->acc + n, rf->acc_len - n);
    rf->acc_len -= n;
}

/* The response broke after its headers went downstream: only a reset is left. */
static void abort_started(struct rs_router_filter *rf, uint64_t flag)
{
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (si != NULL)
        si->response_flags |= flag;
    rs_router_upstream_finish(rf, false);
    rs_http_stream_reset(rf->stream);
}

static struct rs_header_map *trailer_map(const struct rs_h1_body_decoder *d)
{
    if (d->num_trailers == 0)
        return NULL;
    struct rs_header_map *t = rs_header_map_new();
    for (size_t i = 0; t != NULL && i < d->num_trailers; i++)
        rs_header_map_add(t, d->trailers[i].name.p, d->trailers[i].name.len, d->trailers[i].value.p,
                          d->trailers[i].value.len);
    return t;
}

/* The response is complete: give the connection back, count, then hand the rest downstream
 * (last, since the stream may finish with it). */
static void complete(struct rs_router_filter *rf, struct rs_buffer *out,
                     struct rs_header_map *trailers, bool extra_bytes)
{
    bool reusable = rf->response_keep_alive && rf->request_complete && !extra_bytes &&
                    rf->dec.kind != RS_H1_BODY_UNTIL_CLOSE;
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (si != NULL)
        rs_stream_info_mark_last(si, &si->last_upstream_rx_byte_ns);
    rs_router_upstream_finish(rf, reusable);
    rs_stats_inc(rf->shard, rf->stats->rq_completed);
    rs_router_record_time(rf);
    if (rf->downstream_paused) {
        rf->downstream_paused = false;
        rs_http_stream_pause_downstream_reads(rf->stream, false);
    }
    if (trailers != NULL) {
        if (rs_buffer_len(out) > 0)
            rs_http_stream_encode_data(rf->stream, &rf->base, out, false);
        rs_http_stream_encode_trailers(rf->stream, &rf->base, trailers);
    } else {
        rs_http_stream_encode_data(rf->stream, &rf->base, out, true);
    }
}

/* Decodes body bytes from buf (a loop buffer when bid >= 0, else heap memory to copy from).
 * Returns how many bytes were consumed; *finished when the exchange is over (or failed). */
static size_t body_bytes(struct rs_router_filter *rf, const char *buf, size_t len, int bid,
                         bool *finished)
{
    struct rs_buffer out;
    rs_buffer_init(&out, rf->loop);
    size_t off = 0;
    *finished = false;
    while (off < len) {
        size_t consumed = 0;
        struct rs_h1_slice data = {0};
        struct rs_h1_error err;
        enum rs_h1_status st =
            rs_h1_body_decode(&rf->dec, buf + off, len - off, &consumed, &data, &err);
        if (data.len > 0) {
            if (bid >= 0)
                rs_buffer_add_loop(
                    &out, (uint16_t)bid,
                    (uint32_t)(data.p - (const char *)rs_loop_buf(rf->loop, (uint16_t)bid)),
                    (uint32_t)data.len);
            else
                rs_buffer_add_copy(&out, data.p, data.len);
        }
        off += consumed;
        if (st == RS_H1_ERROR) {
            rs_buffer_clear(&out);
            *finished = true;
            abort_started(rf, RS_RF_UPE);
            return len;
        }
        if (st == RS_H1_DONE) {
            struct rs_header_map *t = trailer_map(&rf->dec); /* copies out of buf */
            *finished = true;
            complete(rf, &out, t, off < len);
            rs_buffer_clear(&out);
            return len;
        }
        if (!(data.len > 0 && off < len))
            break; /* keep buf[off..len) for the next read */
    }
    if (rs_buffer_len(&out) > 0) {
        rs_http_stream_encode_data(rf->stream, &rf->base, &out, false);
        if (rf->pc != NULL && !rf->upstream_paused &&
            rs_http_stream_downstream_over_limit(rf->stream)) {
            rf->upstream_paused = true;
            rs_pooled_conn_read_pause(rf->pc);
            /* filter.h has no drain callback yet: look again every timer tick (the connection
             * manager may also call rs_router_on_downstream_drained to resume at once). */
            rs_timer_arm(rf->loop, &rf->flow_timer, RS_TIMER_TICK_MS);
        }
    }
    rs_buffer_clear(&out);
    return off;
}

static struct rs_header_map *response_map(struct rs_router_filter *rf, const struct rs_h1_head *hd)
{
    struct rs_header_map *h = rs_header_map_new();
    if (h == NULL)
        return NULL;
    char v[RS_DECIMAL_MAX];
    size_t n = rs_decimal(v, (uint64_t)hd->status_code);
    rs_header_map_add(h, ":status", 7, v, n);
    for (size_t i = 0; i < hd->num_headers; i++) {
        const struct rs_h1_header *e = &hd->headers[i];
        if (e->hop_by_hop)
            continue;
        rs_header_map_add(h, e->name.p, e->name.len, e->value.p, e->value.len);
    }
    if (!rf->cfg->opt.suppress_envoy_headers) {
        n = rs_decimal(v, rs_loop_now_ms(rf->loop) - rf->sent_ms);
        rs_header_map_set(h, "x-envoy-upstream-service-time", 29, v, n);
    }
    rs_router_apply_response_ops(rf, h);
    return h;
}

/* Parses the head out of the accumulated bytes. Returns true when the exchange went on to the body
 * (or finished); false when more bytes are needed or the request failed. */
static bool parse_head(struct rs_router_filter *rf)
{
    for (;;) {
        struct rs_h1_head hd;
        rs_h1_head_init(&hd, rf->hstore, RS_ROUTER_MAX_RESPONSE_HEADERS);
        size_t consumed = 0;
        struct rs_h1_error err;
        enum rs_h1_status st =
            rs_h1_parse_response_head(rf->acc, rf->acc_len, NULL, &hd, &consumed, &err);
        if (st == RS_H1_NEED_MORE)
            return false;
        if (st == RS_H1_ERROR) {
            rs_router_fail_reset(rf, RS_RETRY_RESET_PROTOCOL_ERROR);
            return false;
        }
        if (hd.status_code >= 100 && hd.status_code < 200 && hd.status_code != 101) {
            acc_drop_front(rf, consumed); /* interim responses are not forwarded */
            continue;
        }
        struct rs_h1_slice m = {rf->method, strlen(rf->method)};
        enum rs_h1_body_kind kind = rs_h1_response_body_kind(&hd, m);
        rs_h1_body_decoder_init(&rf->dec, kind, hd.content_length, true, NULL, rf->tstore,
                                RS_ROUTER_MAX_TRAILERS);
        rf->response_keep_alive = hd.keep_alive;
        rf->status = hd.status_code;
        struct rs_header_map *h = response_map(rf, &hd); /* copies out of acc */
        acc_drop_front(rf, consumed);
        if (h == NULL) {
            rs_router_fail_reset(rf, RS_RETRY_RESET_LOCAL_RESET);
            return false;
        }
        rs_router_charge_code(rf, hd.status_code);
        if (rs_router_retry_on_headers(rf, h)) {
            rs_header_map_free(h); /* this attempt's answer is dropped; the next one follows */
            return false;
        }
        rf->phase = RS_ROUTER_BODY;
        if (kind == RS_H1_BODY_NONE) {
            /* A 101 hands the connection to another protocol: never back to the pool. */
            bool reusable = rf->response_keep_alive && rf->request_complete && rf->acc_len == 0 &&
                            hd.status_code != 101;
            rs_router_upstream_finish(rf, reusable);
            rs_stats_inc(rf->shard, rf->stats->rq_completed);
            rs_router_record_time(rf);
            rs_http_stream_encode_headers(rf->stream, &rf->base, h, true);
            return true;
        }
        rs_http_stream_encode_headers(rf->stream, &rf->base, h, false);
        return true;
    }
}

static void on_data(struct rs_pooled_conn *pc, void *user, uint16_t bid, uint32_t len)
{
    (void)pc;
    struct rs_router_filter *rf = user;
    const char *buf = (const char *)rs_loop_buf(rf->loop, bid);
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (si != NULL)
        rs_stream_info_mark_first(si, &si->first_upstream_rx_byte_ns);
    if (rf->phase == RS_ROUTER_HEAD) {
        int r = acc_append(rf, buf, len);
        rs_loop_buf_release(rf->loop, bid);
        if (r != 0) {
            rs_router_fail_reset(rf, RS_RETRY_RESET_LOCAL_RESET);
            return;
        }
        if (!parse_head(rf) || rf->phase != RS_ROUTER_BODY)
            return;
        bool finished = false;
        size_t used = body_bytes(rf, rf->acc, rf->acc_len, -1, &finished);
        if (!finished)
            acc_drop_front(rf, used);
        return;
    }
    if (rf->phase != RS_ROUTER_BODY) {
        rs_loop_buf_release(rf->loop, bid);
        return;
    }
    bool finished = false;
    if (rf->acc_len > 0) {
        /* A partial chunk line is held: decode from the joined copy. */
        int r = acc_append(rf, buf, len);
        rs_loop_buf_release(rf->loop, bid);
        if (r != 0) {
            abort_started(rf, RS_RF_LR);
            return;
        }
        size_t used = body_bytes(rf, rf->acc, rf->acc_len, -1, &finished);
        if (!finished)
            acc_drop_front(rf, used);
        return;
    }
    size_t used = body_bytes(rf, buf, len, bid, &finished);
    if (!finished && used < len && acc_append(rf, buf + used, len - used) != 0) {
        rs_loop_buf_release(rf->loop, bid);
        abort_started(rf, RS_RF_LR);
        return;
    }
    rs_loop_buf_release(rf->loop, bid); /* slices handed on took their own references */
}

static void on_closed(struct rs_router_filter *rf)
{
    if (rf->phase == RS_ROUTER_HEAD) {
        rs_router_fail_reset(rf, RS_RETRY_RESET_CONNECTION_TERMINATION);
        return;
    }
    if (rf->phase != RS_ROUTER_BODY)
        return;
    struct rs_h1_error err;
    if (rf->acc_len == 0 && rs_h1_body_eof(&rf->dec, &err) == RS_H1_DONE) {
        struct rs_buffer out;
        rs_buffer_init(&out, rf->loop);
        complete(rf, &out, NULL, false);
        rs_buffer_clear(&out);
        return;
    }
    abort_started(rf, RS_RF_UC);
}

static void on_eof(struct rs_pooled_conn *pc, void *user)
{
    (void)pc;
    on_closed(user);
}

static void on_error(struct rs_pooled_conn *pc, void *user, int res)
{
    (void)pc;
    (void)res;
    on_closed(user);
}

static void on_send_drained(struct rs_pooled_conn *pc, void *user)
{
    (void)pc;
    struct rs_router_filter *rf = user;
    if (rf->downstream_paused) {
        rf->downstream_paused = false;
        rs_http_stream_pause_downstream_reads(rf->stream, false);
    }
}

const struct rs_pooled_conn_callbacks rs_router_conn_callbacks = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_error = on_error,
    .on_send_drained = on_send_drained,
};
