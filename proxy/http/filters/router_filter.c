/* The router's decode side: local answers (no route, direct response, redirect), cluster and host
 * choice, and handing the request on to the upstream request. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/filters/router_internal.h"
#include "proxy/http/local_reply/details.h"
#include "proxy/http/local_reply/local_reply.h"
#include "proxy/net/worker.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb.h"

struct rs_http_filter *rs_router_filter_create(void *config, struct rs_http_stream *stream);

static struct rs_router_filter *self(struct rs_http_filter *f)
{
    return (struct rs_router_filter *)f;
}

/* direct_response and redirect: Envoy's local reply shape (plain, HEAD, gRPC) plus the route's
 * response header operations and, for redirects, the location. Encoded by the router itself
 * because send_local_reply takes no extra headers. */
static void send_direct(struct rs_router_filter *rf, const struct rs_header_map *req,
                        uint32_t status, const char *body, size_t body_len, const char *location,
                        size_t location_len)
{
    struct rs_local_reply r;
    if (rs_local_reply_build_ex(status, body, body_len, RS_LOCAL_REPLY_DETAILS_DIRECT_RESPONSE, req,
                                rf->head_request, -1, &r) != 0) {
        rs_http_stream_send_local_reply(rf->stream, 500, NULL, "router_out_of_memory", 0);
        return;
    }
    if (location != NULL)
        rs_header_map_set(r.headers, "location", 8, location, location_len);
    rs_router_apply_response_ops(rf, r.headers);
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    if (si != NULL)
        si->response_code_details = RS_LOCAL_REPLY_DETAILS_DIRECT_RESPONSE;
    struct rs_header_map *h = r.headers;
    r.headers = NULL;
    bool end = r.end_stream_on_headers || r.body == NULL;
    struct rs_buffer b;
    rs_buffer_init(&b, rf->loop);
    if (!end)
        rs_buffer_add_copy(&b, r.body, r.body_len);
    rs_local_reply_free(&r);
    rs_http_stream_encode_headers(rf->stream, &rf->base, h, end);
    if (!end)
        rs_http_stream_encode_data(rf->stream, &rf->base, &b, true);
    rs_buffer_clear(&b);
}

static void send_redirect(struct rs_router_filter *rf, const struct rs_header_map *req)
{
    struct rs_h1_buf loc = {0};
    if (rs_router_redirect_location(rf->route, req, &loc) != 0) {
        free(loc.data);
        rs_http_stream_send_local_reply(rf->stream, 500, NULL, "redirect_failed", 0);
        return;
    }
    send_direct(rf, req, rf->route->redirect.response_code, NULL, 0, loc.data, loc.len);
    free(loc.data);
}

/* The cluster for a forward route: by name, from a request header, or a weighted pick. */
static const char *cluster_name(struct rs_router_filter *rf, const struct rs_header_map *h)
{
    const struct rs_route_forward *fw = &rf->route->forward;
    const char *hdr = NULL;
    switch (fw->cluster_kind) {
    case RS_ROUTE_CLUSTER_NAME:
        return fw->cluster;
    case RS_ROUTE_CLUSTER_HEADER:
        hdr = fw->cluster_header;
        break;
    case RS_ROUTE_CLUSTER_WEIGHTED:
        rf->weight = rs_route_pick_weighted(rf->route, rs_router_random(rf) % fw->total_weight);
        if (rf->weight == NULL)
            return NULL;
        if (rf->weight->name != NULL)
            return rf->weight->name;
        hdr = rf->weight->cluster_header;
        break;
    }
    if (hdr == NULL)
        return NULL;
    const struct rs_hstr *v = rs_header_map_gets(h, hdr);
    static _Thread_local char name[256];
    if (v == NULL || v->len == 0 || v->len >= sizeof name)
        return NULL;
    memcpy(name, v->p, v->len);
    name[v->len] = '\0';
    return name;
}

static enum rs_filter_status decode_headers(struct rs_http_filter *f, struct rs_header_map *h,
                                            bool end_stream)
{
    struct rs_router_filter *rf = self(f);
    rf->stream = f->stream;
    struct rs_stream_info *si = rs_http_stream_info(rf->stream);
    rf->route = rs_http_stream_route(rf->stream);
    if (rf->route == NULL) {
        rf->phase = RS_ROUTER_DONE;
        rs_http_stream_send_local_reply(rf->stream, 404, NULL,
                                        RS_LOCAL_REPLY_DETAILS_ROUTE_NOT_FOUND, RS_RF_NR);
        return RS_FILTER_STOP;
    }
    if (si != NULL)
        si->route_name = rf->route->name;
    const struct rs_hstr *m = rs_header_map_gets(h, ":method");
    if (m != NULL && m->len < sizeof rf->method) {
        memcpy(rf->method, m->p, m->len);
        rf->method[m->len] = '\0';
    }
    rf->head_request = strcmp(rf->method, "HEAD") == 0;
    if (rf->route->action == RS_ROUTE_ACTION_DIRECT_RESPONSE) {
        rf->phase = RS_ROUTER_DONE;
        send_direct(rf, h, rf->route->direct.status, rf->route->direct.body,
                    rf->route->direct.body_len, NULL, 0);
        return RS_FILTER_STOP;
    }
    if (rf->route->action == RS_ROUTE_ACTION_REDIRECT) {
        rf->phase = RS_ROUTER_DONE;
        send_redirect(rf, h);
        return RS_FILTER_STOP;
    }

    const char *name = cluster_name(rf, h);
    struct rs_cluster *c = name != NULL ? rf->cfg->lookup(rf->cfg->lookup_ctx, name) : NULL;
    if (c == NULL) {
        rf->phase = RS_ROUTER_DONE;
        rs_http_stream_send_local_reply(rf->stream, (int)rf->route->forward.cluster_not_found_code,
                                        NULL, RS_LOCAL_REPLY_DETAILS_CLUSTER_NOT_FOUND, RS_RF_NC);
        return RS_FILTER_STOP;
    }
    rf->cs = rs_router_slot_get(rf, c);
    if (rf->cs == NULL) {
        rf->phase = RS_ROUTER_DONE;
        rs_http_stream_send_local_reply(rf->stream, 503, NULL, "router_out_of_memory", 0);
        return RS_FILTER_STOP;
    }
    rf->stats = rf->cs->stats;
    if (si != NULL)
        si->upstream_cluster = c->name;
    struct rs_lb_context lb = {.now_ms = rs_loop_now_ms(rf->loop)};
    rf->host = rs_cluster_pick_host(c, rf->worker_id, &lb);
    if (rf->host == NULL) {
        rs_stats_inc(rf->shard, c->stats.upstream_cx_none_healthy);
        rf->phase = RS_ROUTER_DONE;
        rs_http_stream_send_local_reply(rf->stream, 503, RS_LOCAL_REPLY_BODY_NO_HEALTHY_UPSTREAM,
                                        RS_LOCAL_REPLY_DETAILS_NO_HEALTHY_UPSTREAM, RS_RF_UH);
        return RS_FILTER_STOP;
    }
    if (si != NULL)
        si->upstream_host = rf->host->addr_str;

    rf->req = h;
    rf->end_stream_on_headers = end_stream;
    rf->request_complete = end_stream;
    rf->start_ms = rs_loop_now_ms(rf->loop);
    rs_router_retry_init(rf, h);
    if (rs_router_prepare_request(rf, h) != 0 || rs_router_upstream_start(rf) != 0) {
        rf->phase = RS_ROUTER_DONE;
        rs_http_stream_send_local_reply(rf->stream, 503, NULL, "router_request_head_failed", 0);
        return RS_FILTER_STOP;
    }
    rs_router_shadows_start(rf, h, end_stream);
    if (end_stream)
        rs_router_arm_timeout(rf);
    return RS_FILTER_STOP;
}

static void add_last_chunk(struct rs_router_filter *rf, struct rs_buffer *b)
{
    rs_buffer_add_copy(b, "0\r\n\r\n", 5);
    (void)rf;
}

static enum rs_filter_status decode_data(struct rs_http_filter *f, struct rs_buffer *data,
                                         bool end_stream)
{
    struct rs_router_filter *rf = self(f);
    if (rf->phase == RS_ROUTER_DONE || rf->phase == RS_ROUTER_IDLE) {
        rs_buffer_clear(data); /* answered locally: the body goes nowhere */
        return RS_FILTER_STOP;
    }
    struct rs_buffer b;
    rs_buffer_init(&b, rf->loop);
    size_t len = rs_buffer_len(data);
    if (rf->request_chunked && len > 0) {
        char line[RS_H1_CHUNK_HEADER_MAX];
        size_t n = rs_h1_chunk_header(line, len);
        rs_buffer_add_copy(&b, line, n);
    }
    rs_buffer_move(&b, data, len); /* zero-copy: loop slices change hands */
    if (rf->request_chunked && len > 0)
        rs_buffer_add_copy(&b, "\r\n", 2);
    if (end_stream && rf->request_chunked)
        add_last_chunk(rf, &b);
    rs_router_retry_keep(rf, &b);
    rs_router_shadows_send(rf, &b, end_stream);
    if (end_stream)
        rf->request_complete = true;
    rs_router_upstream_send(rf, &b);
    if (end_stream)
        rs_router_arm_timeout(rf);
    rs_buffer_clear(&b);
    return RS_FILTER_STOP;
}

static enum rs_filter_status decode_trailers(struct rs_http_filter *f,
                                             struct rs_header_map *trailers)
{
    struct rs_router_filter *rf = self(f);
    if (rf->phase == RS_ROUTER_DONE || rf->phase == RS_ROUTER_IDLE)
        return RS_FILTER_STOP;
    struct rs_buffer b;
    rs_buffer_init(&b, rf->loop);
    if (rf->request_chunked) {
        /* Trailers ride on the last chunk; with content-length framing they are dropped, as
         * HTTP/1.1 has no place for them. */
        size_t n = rs_header_map_size(trailers);
        struct rs_h1_header *hs = calloc(n + 1, sizeof *hs);
        struct rs_h1_buf out = {0};
        size_t k = 0;
        for (size_t i = 0; hs != NULL && i < n; i++) {
            const struct rs_header *e = rs_header_map_at(trailers, i);
            if (e->name.len > 0 && e->name.p[0] == ':')
                continue;
            hs[k].name = (struct rs_h1_slice){e->name.p, e->name.len};
            hs[k++].value = (struct rs_h1_slice){e->value.p, e->value.len};
        }
        if (hs == NULL || rs_h1_serialize_last_chunk(&out, hs, k) != 0) {
            free(out.data);
            out = (struct rs_h1_buf){0};
            add_last_chunk(rf, &b);
        } else if (rs_buffer_add_owned(&b, (uint8_t *)out.data, out.len) != 0) {
            free(out.data);
        }
        free(hs);
    }
    rs_router_retry_keep(rf, &b);
    rs_router_shadows_send(rf, &b, true);
    rf->request_complete = true;
    rs_router_upstream_send(rf, &b);
    rs_router_arm_timeout(rf);
    rs_buffer_clear(&b);
    return RS_FILTER_STOP;
}

static void on_reset(struct rs_http_filter *f, enum rs_stream_reset_reason reason)
{
    (void)reason;
    struct rs_router_filter *rf = self(f);
    /* Never release a half-used connection as reusable. */
    rs_router_upstream_finish(rf, false);
    rs_router_shadows_abort(rf);
    rf->phase = RS_ROUTER_DONE;
}

static void destroy(struct rs_http_filter *f)
{
    struct rs_router_filter *rf = self(f);
    rf->downstream_paused = false; /* the stream is going: never call back into it */
    rs_router_upstream_finish(rf, false);
    rs_router_shadows_abort(rf);
    if (rs_timer_armed(&rf->flow_timer))
        rs_timer_cancel(rf->loop, &rf->flow_timer);
    rs_buffer_clear(&rf->out);
    rs_buffer_clear(&rf->replay);
    free(rf->acc);
    if (rf->host != NULL)
        rs_host_unref(rf->host);
    free(rf);
}

void rs_router_on_downstream_drained(struct rs_http_filter *f)
{
    struct rs_router_filter *rf = self(f);
    if (rs_timer_armed(&rf->flow_timer))
        rs_timer_cancel(rf->loop, &rf->flow_timer);
    if (rf->upstream_paused && rf->pc != NULL) {
        rf->upstream_paused = false;
        rs_pooled_conn_read_start(rf->pc);
    }
}

static void on_flow_timer(struct rs_loop *loop, struct rs_timer *t)
{
    struct rs_router_filter *rf =
        (struct rs_router_filter *)((char *)t - offsetof(struct rs_router_filter, flow_timer));
    if (!rf->upstream_paused || rf->pc == NULL)
        return;
    if (rs_http_stream_downstream_over_limit(rf->stream))
        rs_timer_arm(loop, t, RS_TIMER_TICK_MS);
    else
        rs_router_on_downstream_drained(&rf->base);
}

static const struct rs_http_filter_ops router_ops = {
    .name = RS_ROUTER_FILTER_NAME,
    .decode_headers = decode_headers,
    .decode_data = decode_data,
    .decode_trailers = decode_trailers,
    .on_reset = on_reset,
    .destroy = destroy,
};

struct rs_http_filter *rs_router_filter_create(void *config, struct rs_http_stream *stream)
{
    struct rs_router_config *cfg = config;
    struct rs_router_filter *rf = calloc(1, sizeof *rf);
    if (rf == NULL)
        return NULL;
    struct rs_worker *w = rs_http_stream_worker(stream);
    rf->base.ops = &router_ops;
    rf->base.stream = stream;
    rf->stream = stream;
    rf->cfg = cfg;
    rf->loop = w->loop;
    rf->shard = w->stats;
    rf->worker_id = w->id % cfg->n_workers;
    rs_buffer_init(&rf->out, rf->loop);
    rs_buffer_init(&rf->replay, rf->loop);
    rs_timer_init(&rf->flow_timer, on_flow_timer);
    return &rf->base;
}
