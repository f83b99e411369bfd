/* A downstream HTTP/1.1 connection: owns the accepted socket, parses one request at a time
 * (pipelined bytes wait until the response is written), feeds the current stream, runs the
 * connection timers and closes the way Envoy does (flush, half-close, then close when the peer
 * closes or after a delay).
 *
 * Owned by its worker (linked in the active list) from accept until on_closed and the end of its
 * last stream. Received bytes stay in the loop's buffers (c->in) until consumed: the head is copied
 * into a contiguous buffer for the parser, body bytes move into the stream without a copy (except
 * around a chunk-size line or trailer section split across two receive buffers, which goes through
 * a small carry buffer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "proxy/core/snapshot.h"
#include "proxy/http/access_log/access_log.h"
#include "proxy/http/conn_manager/hcm_internal.h"
#include "proxy/http/header_map.h"

#define HCM_DELAYED_CLOSE_MS 1000 /* Envoy's delayed_close_timeout default */

static const struct rs_conn_callbacks down_cbs;
static void process(struct hcm_conn *c);

static uint64_t now_ms(struct hcm_conn *c)
{
    return rs_loop_now_ms(c->w->loop);
}

#define CONN_OF(ptr, field) ((struct hcm_conn *)((char *)(ptr)-offsetof(struct hcm_conn, field)))

/* ---- teardown ---- */

static void maybe_free(struct hcm_conn *c)
{
    if (!c->closed || c->stream != NULL)
        return;
    struct rs_worker *w = c->w;
    const struct rs_hcm_stats *st = &c->cfg->stats;
    uint64_t len = now_ms(c) - c->start_ms;
    rs_stats_gauge_add(w->stats, st->downstream_cx_active, -1);
    rs_stats_gauge_add(w->stats, st->downstream_cx_http1_active, -1);
    rs_stats_inc(w->stats, st->downstream_cx_destroy);
    rs_stats_histogram_record(w->stats, st->downstream_cx_length_ms, len);
    const struct rs_listener_stats *ls = &c->listener->stats;
    rs_stats_gauge_add(w->stats, ls->downstream_cx_active, -1);
    rs_stats_inc(w->stats, ls->downstream_cx_destroy);
    rs_stats_histogram_record(w->stats, ls->downstream_cx_length_ms, len);
    rs_timer_cancel(w->loop, &c->idle_timer);
    rs_timer_cancel(w->loop, &c->headers_timer);
    rs_timer_cancel(w->loop, &c->delayed_close_timer);
    rs_buffer_clear(&c->in);
    free(c->head);
    free(c->carry);
    rs_worker_active_remove(w, &c->active);
    rs_snapshot_unref(c->snapshot, w->loop);
    free(c);
}

void hcm_conn_close(struct hcm_conn *c, bool reset)
{
    if (c->stream != NULL)
        hcm_stream_abort(c->stream, RS_RESET_LOCAL);
    if (c->closing)
        return;
    c->closing = true;
    rs_timer_cancel(c->w->loop, &c->idle_timer);
    rs_timer_cancel(c->w->loop, &c->headers_timer);
    rs_timer_cancel(c->w->loop, &c->delayed_close_timer);
    rs_conn_close(&c->down, reset);
}

/* Flush what is queued, send FIN, and close once the peer closes too (or after a delay): closing
 * at once with unread request bytes would send a RST that can destroy the response in flight. */
static void close_gracefully(struct hcm_conn *c)
{
    if (c->closing || c->half_closed)
        return;
    c->half_closed = true;
    rs_timer_cancel(c->w->loop, &c->idle_timer);
    rs_timer_cancel(c->w->loop, &c->headers_timer);
    rs_buffer_clear(&c->in);
    rs_conn_shutdown_write(&c->down);
    if (c->peer_eof && rs_conn_queued(&c->down) == 0) {
        hcm_conn_close(c, false);
        return;
    }
    if (c->read_paused) {
        c->read_paused = false;
        rs_conn_read_start(&c->down);
    }
    rs_timer_arm(c->w->loop, &c->delayed_close_timer, HCM_DELAYED_CLOSE_MS);
}

static void delayed_close_fired(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    hcm_conn_close(CONN_OF(t, delayed_close_timer), false);
}

static void idle_fired(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct hcm_conn *c = CONN_OF(t, idle_timer);
    if (c->stream != NULL || c->head_len > 0)
        return;
    rs_stats_inc(hcm_shard(c), c->cfg->stats.downstream_cx_idle_timeout);
    close_gracefully(c);
}

static void headers_timeout_fired(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct hcm_conn *c = CONN_OF(t, headers_timer);
    if (c->stream != NULL || c->rstate != HCM_READ_HEAD)
        return;
    rs_stats_inc(hcm_shard(c), c->cfg->stats.downstream_rq_header_timeout);
    hcm_conn_reply_and_close(c, 408, "request header timeout", "request_header_timeout", 0);
}

static void arm_idle(struct hcm_conn *c)
{
    if (c->cfg->idle_timeout_ms > 0)
        rs_timer_arm(c->w->loop, &c->idle_timer, c->cfg->idle_timeout_ms);
}

/* A request that never became a stream (its head could not be parsed, or never completed): one
 * response written directly, an access log entry, then the connection ends. */
void hcm_conn_reply_and_close(struct hcm_conn *c, int status, const char *body, const char *details,
                              uint64_t flags)
{
    const struct rs_hcm_stats *st = &c->cfg->stats;
    rs_stats_inc(hcm_shard(c), st->downstream_rq_total);
    rs_stats_inc(hcm_shard(c), st->downstream_rq_http1_total);
    hcm_encode_direct_reply(c, status, body, true);
    rs_stats_inc(hcm_shard(c), st->downstream_rq_completed);
    if (c->cfg->access_logs != NULL) {
        struct rs_stream_info si;
        rs_stream_info_start(&si);
        char remote[64], local[64];
        rs_address_format(&c->peer, remote, sizeof remote);
        rs_address_format(&c->local, local, sizeof local);
        si.protocol = c->http10 ? "HTTP/1.0" : "HTTP/1.1";
        si.response_code = (uint32_t)status;
        si.response_code_details = details;
        si.response_flags = flags;
        si.downstream_remote_address = remote;
        si.downstream_local_address = local;
        rs_stream_info_mark_last(&si, &si.request_complete_ns);
        rs_access_log_list_emit(c->cfg->access_logs, c->w->id, &si);
    }
    free(c->head);
    c->head = NULL;
    c->head_len = c->head_cap = 0;
    c->rstate = HCM_READ_DONE;
    close_gracefully(c);
}

static void protocol_error(struct hcm_conn *c, const struct rs_h1_error *err)
{
    rs_stats_inc(hcm_shard(c), c->cfg->stats.downstream_cx_protocol_error);
    hcm_conn_reply_and_close(c, err->status, rs_h1_reason_phrase(err->status), err->details,
                             RS_RF_DPE);
}

/* ---- the stream's end ---- */

void hcm_conn_stream_done(struct hcm_conn *c)
{
    struct rs_http_stream *s = c->stream;
    const struct rs_hcm_stats *st = &c->cfg->stats;
    rs_stats_gauge_add(hcm_shard(c), st->downstream_rq_active, -1);
    if (s->response_complete) {
        rs_stats_inc(hcm_shard(c), st->downstream_rq_completed);
        rs_stats_histogram_record(hcm_shard(c), st->downstream_rq_time, now_ms(c) - s->start_ms);
    }
    rs_stream_info_mark_last(&s->si, &s->si.request_complete_ns);
    if (c->cfg->access_logs != NULL)
        rs_access_log_list_emit(c->cfg->access_logs, c->w->id, &s->si);
    bool reset = s->reset;
    hcm_stream_free(s);
    c->stream = NULL;
    if (c->closed) {
        maybe_free(c);
        return;
    }
    if (c->closing || c->half_closed)
        return;
    if (reset || c->close_after || !c->keep_alive || c->draining || c->rstate != HCM_READ_DONE) {
        close_gracefully(c);
        return;
    }
    c->rstate = HCM_READ_HEAD;
    if (c->read_paused) {
        c->read_paused = false;
        rs_conn_read_start(&c->down);
    }
    if (rs_buffer_len(&c->in) > 0) {
        if (c->cfg->request_headers_timeout_ms > 0)
            rs_timer_arm(c->w->loop, &c->headers_timer, c->cfg->request_headers_timeout_ms);
        process(c);
    } else if (c->peer_eof) {
        hcm_conn_close(c, false);
    } else {
        rs_buffer_clear(&c->in); /* an idle connection keeps no slice array */
        arm_idle(c);
    }
}

/* ---- request head ---- */

static _Thread_local uint64_t rid_state;

/* xorshift64*: a per-thread (so per-worker) generator, seeded once from the kernel. x-request-id
 * needs uniqueness, not secrecy. */
static uint64_t rid_next(void)
{
    if (rid_state == 0) {
        if (getrandom(&rid_state, sizeof rid_state, 0) != sizeof rid_state || rid_state == 0)
            rid_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&rid_state;
    }
    rid_state ^= rid_state >> 12;
    rid_state ^= rid_state << 25;
    rid_state ^= rid_state >> 27;
    return rid_state * 0x2545F4914F6CDD1Dull;
}

static void uuid4(char out[37])
{
    uint8_t b[16];
    uint64_t a = rid_next(), z = rid_next();
    memcpy(b, &a, 8);
    memcpy(b + 8, &z, 8);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    /* Hex by hand: this runs for every request, and printf costs more than the PRNG. */
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
}

static struct rs_header_map *request_map(const struct rs_h1_head *h)
{
    struct rs_header_map *m = rs_header_map_new();
    if (m == NULL)
        return NULL;
    int rc = rs_header_map_add(m, ":method", 7, h->method.p, h->method.len);
    rc |= rs_header_map_add(m, ":scheme", 7, "http", 4);
    rc |= rs_header_map_add(m, ":path", 5, h->target.p, h->target.len);
    long host = rs_h1_head_find(h, "host", 4);
    if (host >= 0)
        rc |= rs_header_map_add(m, ":authority", 10, h->headers[host].value.p,
                                h->headers[host].value.len);
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct rs_h1_header *f = &h->headers[i];
        if (f->hop_by_hop || (long)i == host ||
            rs_hstr_eq_nocase((struct rs_hstr){f->name.p, f->name.len}, "host", 4))
            continue;
        rc |= rs_header_map_add(m, f->name.p, f->name.len, f->value.p, f->value.len);
    }
    if (h->te_trailers)
        rc |= rs_header_map_add(m, "te", 2, "trailers", 8);
    if (rc != 0) {
        rs_header_map_free(m);
        return NULL;
    }
    return m;
}

static void set_request_id(struct hcm_conn *c, struct rs_http_stream *s, bool edge)
{
    struct rs_header_map *m = (struct rs_header_map *)s->si.request_headers;
    const struct rs_hstr *rid = rs_header_map_gets(m, "x-request-id");
    if (c->cfg->generate_request_id && (rid == NULL || edge)) {
        /* Envoy generates one when absent, and replaces the client's on an edge request. */
        char id[37];
        uuid4(id);
        rs_header_map_set(m, "x-request-id", 12, id, 36);
        rid = rs_header_map_gets(m, "x-request-id");
    }
    if (rid != NULL) {
        s->request_id = strndup(rid->p, rid->len);
        s->si.request_id = s->request_id;
    }
}

/* 1: a request started; 0: need more bytes; -1: the connection is ending. */
static int parse_head(struct hcm_conn *c)
{
    size_t limit = (size_t)c->cfg->max_request_headers_kb * 1024;
    if (c->head == NULL) {
        c->head_cap = limit + 1; /* one byte past the limit tells "too large" from "exactly" */
        c->head = malloc(c->head_cap);
        if (c->head == NULL) {
            hcm_conn_close(c, true);
            return -1;
        }
    }
    c->head_len +=
        rs_buffer_copy_out(&c->in, c->head_len, c->head + c->head_len, c->head_cap - c->head_len);
    size_t cap = c->cfg->max_headers_count + 1;
    struct rs_h1_header *fields = malloc(cap * sizeof *fields);
    if (fields == NULL) {
        hcm_conn_close(c, true);
        return -1;
    }
    struct rs_h1_limits limits = {
        .max_headers_bytes = limit,
        .max_headers_count = c->cfg->max_headers_count,
    };
    struct rs_h1_head head;
    rs_h1_head_init(&head, fields, cap);
    size_t consumed = 0;
    struct rs_h1_error err = {0};
    enum rs_h1_status st =
        rs_h1_parse_request_head(c->head, c->head_len, &limits, &head, &consumed, &err);
    if (st == RS_H1_ERROR) {
        free(fields);
        protocol_error(c, &err);
        return -1;
    }
    if (st == RS_H1_NEED_MORE) {
        free(fields);
        if (consumed > 0) { /* empty lines before the request line */
            rs_buffer_drain(&c->in, consumed);
            memmove(c->head, c->head + consumed, c->head_len - consumed);
            c->head_len -= consumed;
        }
        if (c->head_len > limit) {
            struct rs_h1_error big = {431, "http1.headers_too_large"};
            protocol_error(c, &big);
            return -1;
        }
        return 0;
    }

    c->http10 = head.version_minor == 0;
    struct rs_h1_error refused = {0};
    bool has_host = rs_h1_head_find(&head, "host", 4) >= 0;
    if (c->http10 && !c->cfg->accept_http_10) {
        /* Envoy's default (Http1ProtocolOptions.accept_http_10 false). */
        refused = (struct rs_h1_error){426, "low_version"};
    } else if (!has_host && !(c->http10 && c->cfg->default_host_for_http_10)) {
        refused = (struct rs_h1_error){400, "missing_host_header"};
    }
    if (refused.status != 0) {
        free(fields);
        protocol_error(c, &refused);
        return -1;
    }
    if (head.upgrade) {
        /* No upgrade filter chain (websocket tunnelling is not implemented yet, configured or
         * not): Envoy answers 403 upgrade_failed and closes. */
        free(fields);
        rs_buffer_drain(&c->in, consumed);
        rs_stats_inc(hcm_shard(c), c->cfg->stats.downstream_rq_ws_on_non_ws_route);
        hcm_conn_reply_and_close(c, 403, NULL, "upgrade_failed", 0);
        return -1;
    }
    rs_timer_cancel(c->w->loop, &c->headers_timer);
    c->keep_alive = head.keep_alive;
    c->http10 = head.version_minor == 0;
    struct rs_header_map *m = request_map(&head);
    if (m != NULL && c->http10 && !has_host) {
        const char *dflt = c->cfg->default_host_for_http_10;
        rs_header_map_set(m, ":authority", 10, dflt, strlen(dflt));
    }
    enum rs_h1_body_kind kind = rs_h1_request_body_kind(&head);
    bool is_head = head.method.len == 4 && memcmp(head.method.p, "HEAD", 4) == 0;
    bool expect = head.expect_100_continue;
    uint64_t clen = head.content_length;
    free(fields);
    /* The head is in the map now: its bytes (and the copy) go. */
    rs_buffer_drain(&c->in, consumed);
    free(c->head);
    c->head = NULL;
    c->head_len = c->head_cap = 0;
    if (m == NULL) {
        hcm_conn_close(c, true);
        return -1;
    }

    const struct rs_hcm_stats *stats = &c->cfg->stats;
    rs_stats_inc(hcm_shard(c), stats->downstream_rq_total);
    rs_stats_inc(hcm_shard(c), stats->downstream_rq_http1_total);
    rs_stats_gauge_add(hcm_shard(c), stats->downstream_rq_active, 1);
    struct rs_http_stream *s = hcm_stream_new(c, m);
    if (s == NULL) {
        rs_stats_gauge_add(hcm_shard(c), stats->downstream_rq_active, -1);
        rs_header_map_free(m);
        hcm_conn_close(c, true);
        return -1;
    }
    c->stream = s;
    c->requests++;
    s->head_request = is_head;
    set_request_id(c, s, hcm_mutate_request_headers(c, m));
    if (expect && kind != RS_H1_BODY_NONE) {
        /* proxy_100_continue is false: Envoy answers 100 itself and drops Expect. */
        rs_header_map_remove(m, "expect", 6);
        struct rs_buffer b;
        rs_buffer_init(&b, c->w->loop);
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        rs_buffer_add_copy(&b, cont, sizeof cont - 1);
        rs_stats_add(hcm_shard(c), stats->downstream_cx_tx_bytes_total, sizeof cont - 1);
        rs_conn_send(&c->down, &b);
        rs_buffer_clear(&b);
    }
    if (kind == RS_H1_BODY_NONE) {
        c->rstate = HCM_READ_DONE;
        rs_stream_info_mark_last(&s->si, &s->si.last_downstream_rx_byte_ns);
        hcm_stream_decode_headers(s, true);
    } else {
        c->rstate = HCM_READ_BODY;
        struct rs_h1_limits bl = {
            .max_headers_bytes = limit,
            .max_headers_count = c->cfg->max_headers_count,
        };
        size_t tcap = sizeof c->trailer_storage / sizeof c->trailer_storage[0];
        rs_h1_body_decoder_init(&c->body, kind, clen, false, &bl, c->trailer_storage, tcap);
        hcm_stream_decode_headers(s, false);
    }
    return 1;
}

static void process(struct hcm_conn *c)
{
    while (!c->closing && !c->half_closed) {
        int r;
        if (c->rstate == HCM_READ_HEAD) {
            if (c->stream != NULL || rs_buffer_len(&c->in) == 0)
                return;
            r = parse_head(c);
        } else if (c->rstate == HCM_READ_BODY) {
            if (c->stream == NULL)
                return;
            r = hcm_conn_decode_body(c);
        } else {
            return;
        }
        if (r <= 0)
            return;
    }
}

/* ---- rs_conn callbacks ---- */

static void on_data(struct rs_conn *rc, void *owner, uint16_t bid, uint32_t len)
{
    (void)rc;
    struct hcm_conn *c = owner;
    rs_stats_add(hcm_shard(c), c->cfg->stats.downstream_cx_rx_bytes_total, len);
    if (c->closing || c->half_closed) {
        rs_loop_buf_release(c->w->loop, bid); /* after the response: discarded */
        return;
    }
    bool was_idle = c->stream == NULL && rs_buffer_len(&c->in) == 0 && c->head_len == 0;
    if (rs_buffer_adopt_loop(&c->in, bid, 0, len) != 0) {
        rs_loop_buf_release(c->w->loop, bid);
        hcm_conn_close(c, true);
        return;
    }
    if (was_idle) {
        rs_timer_cancel(c->w->loop, &c->idle_timer);
        if (c->cfg->request_headers_timeout_ms > 0)
            rs_timer_arm(c->w->loop, &c->headers_timer, c->cfg->request_headers_timeout_ms);
    }
    process(c);
    /* Bytes that wait (pipelined requests, a body the filters do not take yet) are bounded by
     * the listener's buffer limit: past it the client is not read. */
    if (!c->closing && !c->half_closed && !c->read_paused &&
        rs_buffer_len(&c->in) > c->listener->buffer_limit && c->rstate != HCM_READ_HEAD) {
        c->read_paused = true;
        rs_conn_read_pause(&c->down);
    }
}

static void on_eof(struct rs_conn *rc, void *owner)
{
    (void)rc;
    struct hcm_conn *c = owner;
    c->peer_eof = true;
    if (c->closing)
        return;
    if (c->half_closed) {
        if (rs_conn_queued(&c->down) == 0)
            hcm_conn_close(c, false);
        return;
    }
    struct rs_http_stream *s = c->stream;
    if (s != NULL && !s->response_complete) {
        /* Envoy without half-close support: the client ending its side ends the stream. */
        hcm_stream_abort(s, RS_RESET_DOWNSTREAM_CLOSED);
        hcm_conn_close(c, false);
        return;
    }
    if (s == NULL)
        close_gracefully(c);
}

static void on_error(struct rs_conn *rc, void *owner, int res)
{
    (void)rc;
    (void)res;
    struct hcm_conn *c = owner;
    if (c->stream != NULL)
        hcm_stream_abort(c->stream, RS_RESET_DOWNSTREAM_CLOSED);
    hcm_conn_close(c, true);
}

static void on_drained(struct rs_conn *rc, void *owner)
{
    (void)rc;
    struct hcm_conn *c = owner;
    if (c->half_closed && c->peer_eof && rs_conn_queued(&c->down) == 0) {
        hcm_conn_close(c, false);
        return;
    }
    if (c->stream != NULL && !c->closing)
        hcm_stream_downstream_drained(c->stream);
}

static void on_closed(struct rs_conn *rc, void *owner)
{
    (void)rc;
    struct hcm_conn *c = owner;
    c->closed = true;
    c->closing = true;
    if (c->stream != NULL) {
        hcm_stream_abort(c->stream, RS_RESET_DOWNSTREAM_CLOSED); /* its finish frees us */
        return;
    }
    maybe_free(c);
}

static void on_connected(struct rs_conn *rc, void *owner, int res)
{
    (void)rc;
    (void)owner;
    (void)res;
}

static const struct rs_conn_callbacks down_cbs = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_error = on_error,
    .on_connected = on_connected,
    .on_send_drained = on_drained,
    .on_closed = on_closed,
};

/* ---- drain and accept ---- */

static void active_close(struct rs_active *a, bool now)
{
    struct hcm_conn *c = (struct hcm_conn *)a;
    if (now) {
        if (c->stream != NULL)
            hcm_stream_abort(c->stream, RS_RESET_DRAIN);
        hcm_conn_close(c, false);
        return;
    }
    /* Graceful: the response in progress carries "connection: close"; an idle connection goes
     * now. */
    c->draining = true;
    if (c->stream == NULL && c->head_len == 0 && rs_buffer_len(&c->in) == 0)
        close_gracefully(c);
}

void hcm_conn_accept(struct rs_worker *w, const struct hcm_shared *sh, const struct rs_accepted *a)
{
    struct hcm_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(a->fd);
        rs_stats_inc(w->stats, a->listener->stats.downstream_cx_destroy);
        rs_snapshot_unref(a->snapshot, w->loop);
        return;
    }
    c->w = w;
    c->sh = sh;
    c->cfg = sh->cfg;
    c->listener = a->listener;
    c->snapshot = a->snapshot;
    c->peer = a->peer;
    c->local = a->local;
    c->active.close = active_close;
    c->start_ms = rs_loop_now_ms(w->loop);
    c->keep_alive = true;
    rs_buffer_init(&c->in, w->loop);
    rs_timer_init(&c->idle_timer, idle_fired);
    rs_timer_init(&c->headers_timer, headers_timeout_fired);
    rs_timer_init(&c->delayed_close_timer, delayed_close_fired);
    rs_conn_init(&c->down, w->loop, a->fd, a->listener->buffer_limit, &down_cbs, c);
    rs_worker_active_add(w, &c->active);
    const struct rs_hcm_stats *st = &c->cfg->stats;
    rs_stats_gauge_add(w->stats, a->listener->stats.downstream_cx_active, 1);
    rs_stats_inc(w->stats, st->downstream_cx_total);
    rs_stats_gauge_add(w->stats, st->downstream_cx_active, 1);
    rs_stats_inc(w->stats, st->downstream_cx_http1_total);
    rs_stats_gauge_add(w->stats, st->downstream_cx_http1_active, 1);
    arm_idle(c);
    rs_conn_read_start(&c->down);
}
