/* A stream and its filter chain (filter.h): one filter instance per factory, decode events in
 * configuration order, encode events in reverse, STOP and resume, local replies.
 *
 * Iteration model: each direction remembers the one position where a filter stopped. Events that
 * arrive later pass the filters before that position and wait there (data is moved into `held`,
 * never copied); rs_http_stream_continue_* replays what waits (headers, held data, trailers, in
 * that order) from the next filter. As in Envoy, the filter holding iteration is still handed
 * later data and trailers (only the new bytes each time: what it returned STOP for waits in
 * `held`), and CONTINUE from it resumes the chain. Stream teardown is always deferred to the loop,
 * so a filter may answer, reset or end the stream from inside any callback without the stream being
 * freed under it. */
#include <stdlib.h>
#include <string.h>

#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/conn_manager/hcm_internal.h"
#include "proxy/http/header_map.h"
#include "proxy/http/local_reply/local_reply.h"
#include "proxy/http/route/route.h"

static void stream_finish_cb(struct rs_loop *loop, struct rs_deferred *d)
{
    (void)loop;
    struct rs_http_stream *s =
        (struct rs_http_stream *)((char *)d - offsetof(struct rs_http_stream, finish_call));
    hcm_conn_stream_done(s->conn);
}

static void queue_finish(struct rs_http_stream *s)
{
    if (s->finishing)
        return;
    s->finishing = true;
    rs_timer_cancel(s->conn->w->loop, &s->request_timer);
    rs_timer_cancel(s->conn->w->loop, &s->idle_timer);
    rs_loop_defer(s->conn->w->loop, &s->finish_call);
}

static void touch(struct rs_http_stream *s)
{
    uint64_t ms = s->conn->cfg->stream_idle_timeout_ms;
    if (ms > 0 && !s->finishing)
        rs_timer_arm(s->conn->w->loop, &s->idle_timer, ms);
}

static void request_timeout_fired(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct rs_http_stream *s =
        (struct rs_http_stream *)((char *)t - offsetof(struct rs_http_stream, request_timer));
    rs_stats_inc(hcm_shard(s->conn), s->conn->cfg->stats.downstream_rq_timeout);
    if (s->response_started) {
        rs_http_stream_reset(s);
        return;
    }
    rs_http_stream_send_local_reply(s, 408, "request timeout", "request_overall_timeout", 0);
}

static void idle_timeout_fired(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct rs_http_stream *s =
        (struct rs_http_stream *)((char *)t - offsetof(struct rs_http_stream, idle_timer));
    rs_stats_inc(hcm_shard(s->conn), s->conn->cfg->stats.downstream_rq_idle_timeout);
    s->si.response_flags |= RS_RF_SI;
    if (s->response_started) {
        rs_http_stream_reset(s);
        return;
    }
    rs_http_stream_send_local_reply(s, 408, "stream timeout", "stream_idle_timeout", RS_RF_SI);
}

struct rs_http_stream *hcm_stream_new(struct hcm_conn *c, struct rs_header_map *headers)
{
    struct rs_http_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->conn = c;
    s->dec.stopped_at = s->enc.stopped_at = -1;
    rs_buffer_init(&s->dec.held, c->w->loop);
    rs_buffer_init(&s->enc.held, c->w->loop);
    s->dec.headers = headers;
    s->finish_call.cb = stream_finish_cb;
    rs_timer_init(&s->request_timer, request_timeout_fired);
    rs_timer_init(&s->idle_timer, idle_timeout_fired);
    s->start_ms = rs_loop_now_ms(c->w->loop);
    rs_stream_info_start(&s->si);
    s->si.protocol = c->http10 ? "HTTP/1.0" : "HTTP/1.1";
    s->si.request_headers = headers;
    rs_address_format(&c->peer, s->remote_addr, sizeof s->remote_addr);
    rs_address_format(&c->local, s->local_addr, sizeof s->local_addr);
    s->si.downstream_remote_address = s->remote_addr;
    s->si.downstream_local_address = s->local_addr;

    s->n = c->sh->n_factories;
    s->filters = calloc(s->n ? s->n : 1, sizeof *s->filters);
    if (s->filters == NULL) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct rs_http_filter_factory *fac = &c->sh->factories[i];
        s->filters[i] = fac->create(fac->config, s);
        if (s->filters[i] == NULL) {
            /* The stream still exists: it answers 503 through the filters it has. */
            s->n = i;
            break;
        }
        s->filters[i]->stream = s;
    }
    if (c->cfg->request_timeout_ms > 0)
        rs_timer_arm(c->w->loop, &s->request_timer, c->cfg->request_timeout_ms);
    touch(s);
    return s;
}

void hcm_stream_free(struct rs_http_stream *s)
{
    struct rs_loop *loop = s->conn->w->loop;
    rs_timer_cancel(loop, &s->request_timer);
    rs_timer_cancel(loop, &s->idle_timer);
    for (size_t i = 0; i < s->n; i++)
        if (s->filters[i]->ops->destroy)
            s->filters[i]->ops->destroy(s->filters[i]);
    free(s->filters);
    rs_buffer_clear(&s->dec.held);
    rs_buffer_clear(&s->enc.held);
    rs_header_map_free(s->dec.headers);
    rs_header_map_free(s->dec.trailers);
    rs_header_map_free(s->enc.headers);
    rs_header_map_free(s->enc.trailers);
    free(s->request_id);
    free(s);
}

/* ---- chain iteration ---- */

static struct rs_http_filter *at(struct rs_http_stream *s, bool enc, size_t p)
{
    return s->filters[enc ? s->n - 1 - p : p];
}

static size_t pos_of(struct rs_http_stream *s, bool enc, struct rs_http_filter *f)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->filters[i] == f)
            return enc ? s->n - 1 - i : i;
    return s->n; /* unknown filter: behave as if past the end */
}

static bool halted(struct rs_http_stream *s, bool enc)
{
    return s->reset || s->finishing || (!enc && s->local_reply_sent);
}

static void resume(struct rs_http_stream *s, bool enc, size_t from);

static void run_headers(struct rs_http_stream *s, bool enc, size_t from)
{
    struct hcm_dir *d = enc ? &s->enc : &s->dec;
    bool end = d->headers_end;
    for (size_t p = from; p < s->n; p++) {
        if (halted(s, enc))
            return;
        struct rs_http_filter *f = at(s, enc, p);
        enum rs_filter_status (*cb)(struct rs_http_filter *, struct rs_header_map *, bool) =
            enc ? f->ops->encode_headers : f->ops->decode_headers;
        if (cb == NULL)
            continue;
        s->in_encode += enc;
        enum rs_filter_status st = cb(f, d->headers, end);
        s->in_encode -= enc;
        if (st == RS_FILTER_STOP) {
            d->stopped_at = (int)p;
            d->headers_pending = true;
            return;
        }
    }
    if (halted(s, enc))
        return;
    d->headers_done = true;
    if (end)
        d->end_done = true;
    if (enc)
        hcm_encode_headers(s, d->headers, end);
}

/* Takes the bytes of tmp. */
static void run_data(struct rs_http_stream *s, bool enc, size_t from, struct rs_buffer *tmp,
                     bool end)
{
    struct hcm_dir *d = enc ? &s->enc : &s->dec;
    for (size_t p = from; p < s->n; p++) {
        if (halted(s, enc))
            break;
        struct rs_http_filter *f = at(s, enc, p);
        enum rs_filter_status (*cb)(struct rs_http_filter *, struct rs_buffer *, bool) =
            enc ? f->ops->encode_data : f->ops->decode_data;
        if (d->stopped_at == (int)p) {
            /* The filter holding iteration still sees later data (as in Envoy); CONTINUE from it
             * resumes the chain as rs_http_stream_continue_* would. */
            s->in_encode += enc;
            bool go = cb != NULL && cb(f, tmp, end) == RS_FILTER_CONTINUE;
            s->in_encode -= enc;
            rs_buffer_move(&d->held, tmp, rs_buffer_len(tmp));
            if (go && !halted(s, enc))
                resume(s, enc, p + 1);
            return;
        }
        if (cb == NULL)
            continue;
        s->in_encode += enc;
        enum rs_filter_status st = cb(f, tmp, end);
        s->in_encode -= enc;
        if (st == RS_FILTER_STOP) {
            if (d->stopped_at < 0)
                d->stopped_at = (int)p;
            rs_buffer_move(&d->held, tmp, rs_buffer_len(tmp));
            return;
        }
    }
    if (halted(s, enc)) {
        rs_buffer_clear(tmp);
        return;
    }
    if (end)
        d->end_done = true;
    if (enc)
        hcm_encode_data(s, tmp, end);
    else
        rs_buffer_clear(tmp); /* past the last decode filter nobody took them: dropped */
}

static void run_trailers(struct rs_http_stream *s, bool enc, size_t from)
{
    struct hcm_dir *d = enc ? &s->enc : &s->dec;
    for (size_t p = from; p < s->n; p++) {
        if (halted(s, enc))
            return;
        struct rs_http_filter *f = at(s, enc, p);
        enum rs_filter_status (*cb)(struct rs_http_filter *, struct rs_header_map *) =
            enc ? f->ops->encode_trailers : f->ops->decode_trailers;
        if (d->stopped_at == (int)p) {
            d->trailers_pending = true;
            s->in_encode += enc;
            bool go = cb != NULL && cb(f, d->trailers) == RS_FILTER_CONTINUE;
            s->in_encode -= enc;
            if (go && !halted(s, enc))
                resume(s, enc, p + 1);
            return;
        }
        if (cb == NULL)
            continue;
        s->in_encode += enc;
        enum rs_filter_status st = cb(f, d->trailers);
        s->in_encode -= enc;
        if (st == RS_FILTER_STOP) {
            if (d->stopped_at < 0)
                d->stopped_at = (int)p;
            d->trailers_pending = true;
            return;
        }
    }
    if (halted(s, enc))
        return;
    d->end_done = true;
    if (enc)
        hcm_encode_trailers(s);
}

/* Replays what waits at the stopped filter, from position `from`. */
static void resume(struct rs_http_stream *s, bool enc, size_t from)
{
    struct hcm_dir *d = enc ? &s->enc : &s->dec;
    if (d->stopped_at < 0)
        return;
    d->stopped_at = -1;
    bool hp = d->headers_pending, tp = d->trailers_pending;
    d->headers_pending = d->trailers_pending = false;
    bool data_end = d->end_seen && d->trailers == NULL;
    bool has_data = rs_buffer_len(&d->held) > 0 || (data_end && !d->headers_end);
    struct rs_buffer tmp;
    rs_buffer_init(&tmp, s->conn->w->loop);
    rs_buffer_move(&tmp, &d->held, rs_buffer_len(&d->held));
    if (hp)
        run_headers(s, enc, from);
    if (has_data)
        run_data(s, enc, from, &tmp, data_end);
    rs_buffer_clear(&tmp);
    if (tp)
        run_trailers(s, enc, from);
}

/* ---- codec side (decode) ---- */

void hcm_stream_decode_headers(struct rs_http_stream *s, bool end_stream)
{
    s->dec.headers_end = end_stream;
    s->dec.end_seen = end_stream;
    if (end_stream)
        s->request_complete = true;
    touch(s);
    if (s->n < s->conn->sh->n_factories) {
        rs_http_stream_send_local_reply(s, 503, "filter chain creation failed",
                                        "filter_chain_not_found", 0);
        return;
    }
    run_headers(s, false, 0);
}

void hcm_stream_decode_data(struct rs_http_stream *s, struct rs_buffer *data, bool end_stream)
{
    s->si.bytes_received += rs_buffer_len(data);
    if (end_stream) {
        s->request_complete = true;
        s->dec.end_seen = true;
        rs_stream_info_mark_last(&s->si, &s->si.last_downstream_rx_byte_ns);
    }
    touch(s);
    struct rs_buffer tmp;
    rs_buffer_init(&tmp, s->conn->w->loop);
    rs_buffer_move(&tmp, data, rs_buffer_len(data));
    if (!s->dec.headers_done && !s->dec.headers_pending) {
        rs_buffer_clear(&tmp); /* headers never went in (a local reply): nothing to pass */
        return;
    }
    run_data(s, false, 0, &tmp, end_stream);
    rs_buffer_clear(&tmp);
}

void hcm_stream_decode_trailers(struct rs_http_stream *s, struct rs_header_map *trailers)
{
    s->request_complete = true;
    s->dec.end_seen = true;
    s->dec.trailers = trailers;
    rs_stream_info_mark_last(&s->si, &s->si.last_downstream_rx_byte_ns);
    touch(s);
    run_trailers(s, false, 0);
}

void hcm_stream_abort(struct rs_http_stream *s, enum rs_stream_reset_reason why)
{
    if (s->reset || s->finishing)
        return;
    s->reset = true;
    if (why == RS_RESET_DOWNSTREAM_CLOSED || why == RS_RESET_DOWNSTREAM_PROTOCOL) {
        s->si.response_flags |= RS_RF_DC;
        rs_stats_inc(hcm_shard(s->conn), s->conn->cfg->stats.downstream_rq_rx_reset);
    } else {
        rs_stats_inc(hcm_shard(s->conn), s->conn->cfg->stats.downstream_rq_tx_reset);
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->filters[i]->ops->on_reset)
            s->filters[i]->ops->on_reset(s->filters[i], why);
    queue_finish(s);
}

void hcm_stream_response_complete(struct rs_http_stream *s)
{
    s->response_complete = true;
    if (!s->request_complete)
        s->conn->close_after = true; /* HTTP/1.1 cannot skip the rest of an unread request */
    queue_finish(s);
}

/* ---- filter.h ---- */

struct rs_worker *rs_http_stream_worker(struct rs_http_stream *s)
{
    return s->conn->w;
}

struct rs_stream_info *rs_http_stream_info(struct rs_http_stream *s)
{
    return &s->si;
}

const struct rs_route *rs_http_stream_route(struct rs_http_stream *s)
{
    if (!s->route_cached) {
        s->route = s->conn->cfg->routes && s->dec.headers
                       ? rs_route_config_match(s->conn->cfg->routes, s->dec.headers, NULL)
                       : NULL;
        s->route_cached = true;
    }
    return s->route;
}

void rs_http_stream_clear_route_cache(struct rs_http_stream *s)
{
    s->route_cached = false;
    s->route = NULL;
}

void rs_http_stream_continue_decoding(struct rs_http_stream *s, struct rs_http_filter *f)
{
    if (halted(s, false))
        return;
    touch(s);
    resume(s, false, pos_of(s, false, f) + 1);
}

void rs_http_stream_continue_encoding(struct rs_http_stream *s, struct rs_http_filter *f)
{
    if (halted(s, true))
        return;
    touch(s);
    resume(s, true, pos_of(s, true, f) + 1);
}

static size_t enc_start(struct rs_http_stream *s, struct rs_http_filter *f)
{
    return f == NULL ? 0 : pos_of(s, true, f) + 1;
}

void rs_http_stream_encode_headers(struct rs_http_stream *s, struct rs_http_filter *f,
                                   struct rs_header_map *headers, bool end_stream)
{
    if (halted(s, true) || s->enc.headers != NULL) {
        rs_header_map_free(headers); /* a second response head cannot be sent */
        return;
    }
    rs_stream_info_mark_first(&s->si, &s->si.first_upstream_rx_byte_ns);
    rs_timer_cancel(s->conn->w->loop, &s->request_timer);
    touch(s);
    s->enc.start = enc_start(s, f);
    s->enc.headers = headers;
    s->enc.headers_end = end_stream;
    s->enc.end_seen = end_stream;
    s->si.response_headers = headers;
    run_headers(s, true, s->enc.start);
}

void rs_http_stream_encode_data(struct rs_http_stream *s, struct rs_http_filter *f,
                                struct rs_buffer *data, bool end_stream)
{
    (void)f;
    struct rs_buffer tmp;
    rs_buffer_init(&tmp, s->conn->w->loop);
    rs_buffer_move(&tmp, data, rs_buffer_len(data));
    if (halted(s, true) || s->enc.headers == NULL || s->enc.end_seen) {
        rs_buffer_clear(&tmp);
        return;
    }
    touch(s);
    s->enc.end_seen = end_stream;
    run_data(s, true, s->enc.start, &tmp, end_stream);
    rs_buffer_clear(&tmp);
}

void rs_http_stream_encode_trailers(struct rs_http_stream *s, struct rs_http_filter *f,
                                    struct rs_header_map *trailers)
{
    (void)f;
    if (halted(s, true) || s->enc.headers == NULL || s->enc.end_seen) {
        rs_header_map_free(trailers);
        return;
    }
    touch(s);
    s->enc.end_seen = true;
    s->enc.trailers = trailers;
    s->si.response_trailers = trailers;
    run_trailers(s, true, s->enc.start);
}

void rs_http_stream_send_local_reply(struct rs_http_stream *s, int status, const char *body,
                                     const char *details, uint32_t response_flags)
{
    if (s->reset || s->finishing)
        return;
    s->si.response_flags |= response_flags;
    s->si.response_code_details = details;
    if (s->response_started || s->in_encode > 0) {
        /* Too late for another head (or an encoder filter answering over the response it is
         * looking at, which would free it under the chain): the stream is reset. */
        rs_http_stream_reset(s);
        return;
    }
    if (s->enc.headers != NULL) {
        /* A response was in the filters but not written: the local reply replaces it. */
        rs_header_map_free(s->enc.headers);
        rs_header_map_free(s->enc.trailers);
        rs_buffer_clear(&s->enc.held);
        struct rs_loop *loop = s->conn->w->loop;
        memset(&s->enc, 0, sizeof s->enc);
        s->enc.stopped_at = -1;
        rs_buffer_init(&s->enc.held, loop);
    }
    s->local_reply_sent = true;
    struct rs_local_reply r;
    if (rs_local_reply_build((uint32_t)status, body, details, s->dec.headers, s->head_request,
                             &r) != 0) {
        rs_http_stream_reset(s);
        return;
    }
    struct rs_header_map *h = r.headers;
    r.headers = NULL;
    bool end = r.end_stream_on_headers || r.body == NULL;
    rs_http_stream_encode_headers(s, NULL, h, end);
    if (!end) {
        struct rs_buffer b;
        rs_buffer_init(&b, s->conn->w->loop);
        rs_buffer_add_copy(&b, r.body, r.body_len);
        rs_http_stream_encode_data(s, NULL, &b, true);
        rs_buffer_clear(&b);
    }
    rs_local_reply_free(&r);
    s->si.response_code_details = details;
}

void rs_http_stream_reset(struct rs_http_stream *s)
{
    if (s->reset || s->finishing)
        return;
    s->si.response_flags |= RS_RF_LR;
    hcm_stream_abort(s, RS_RESET_LOCAL);
    hcm_conn_close(s->conn, true);
}

bool rs_http_stream_downstream_over_limit(struct rs_http_stream *s)
{
    bool over = rs_conn_over_limit(&s->conn->down);
    s->saw_over_limit |= over;
    return over;
}

void hcm_stream_downstream_drained(struct rs_http_stream *s)
{
    if (!s->saw_over_limit || s->reset || s->finishing)
        return;
    s->saw_over_limit = false;
    const struct hcm_shared *sh = s->conn->sh;
    for (size_t i = 0; i < s->n && !s->reset && !s->finishing; i++)
        if (sh->drained_cbs[i] != NULL)
            sh->drained_cbs[i](s->filters[i]);
}

void rs_http_stream_pause_downstream_reads(struct rs_http_stream *s, bool paused)
{
    struct hcm_conn *c = s->conn;
    if (c->closing || paused == c->read_paused)
        return;
    c->read_paused = paused;
    if (paused)
        rs_conn_read_pause(&c->down);
    else
        rs_conn_read_start(&c->down);
}
