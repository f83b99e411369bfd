/* The end of the encode chain: the HTTP/1.1 response writer. Framing follows Envoy's HTTP/1
 * codec: the upstream's Content-Length is kept; a response that ends with its headers gets
 * "content-length: 0" (not for HEAD, 1xx, 204, 304); otherwise chunked to an HTTP/1.1 client and
 * close-delimited to an HTTP/1.0 one. Envoy always answers with an HTTP/1.1 status line, sets
 * "server" (server_header_transformation OVERWRITE) and adds "date" when absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/http/conn_manager/hcm_internal.h"
#include "proxy/http/header_map.h"
#include "proxy/http/local_reply/local_reply.h"

#define HCM_MAX_RESPONSE_HEADERS 256

static void add_date(struct hcm_conn *c, struct rs_header_map *h)
{
    if (rs_header_map_gets(h, "date") != NULL)
        return;
    time_t now = time(NULL);
    if (now != c->date_sec || c->date_len == 0) {
        struct tm tm;
        gmtime_r(&now, &tm);
        c->date_len = strftime(c->date, sizeof c->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        c->date_sec = now;
    }
    rs_header_map_set(h, "date", 4, c->date, c->date_len);
}

static void send_bytes(struct hcm_conn *c, struct rs_buffer *b)
{
    rs_stats_add(hcm_shard(c), c->cfg->stats.downstream_cx_tx_bytes_total, rs_buffer_len(b));
    rs_conn_send(&c->down, b);
    rs_buffer_clear(b); /* the moved-from buffer still holds its slice array */
}

/* Serializes status + headers (pseudo-headers skipped) into b. 0, or -1. */
static int write_head(struct hcm_conn *c, int status, const struct rs_header_map *h,
                      struct rs_buffer *b)
{
    struct rs_h1_header fields[HCM_MAX_RESPONSE_HEADERS];
    size_t nf = 0;
    for (size_t i = 0; i < rs_header_map_size(h) && nf < HCM_MAX_RESPONSE_HEADERS; i++) {
        const struct rs_header *e = rs_header_map_at(h, i);
        if (e->name.len > 0 && e->name.p[0] == ':')
            continue;
        fields[nf++] = (struct rs_h1_header){
            .name = {e->name.p, e->name.len},
            .value = {e->value.p, e->value.len},
        };
    }
    struct rs_h1_buf out = {0};
    if (rs_h1_serialize_response_head(&out, 1, status, (struct rs_h1_slice){"", 0}, fields, nf) !=
        0) {
        free(out.data);
        return -1;
    }
    (void)c;
    if (rs_buffer_add_owned(b, (uint8_t *)out.data, out.len) != 0) {
        free(out.data);
        return -1;
    }
    return 0;
}

static void finish_response(struct rs_http_stream *s)
{
    rs_stream_info_mark_last(&s->si, &s->si.last_downstream_tx_byte_ns);
    hcm_stream_response_complete(s);
}

static int parse_status(const struct rs_header_map *h)
{
    const struct rs_hstr *v = rs_header_map_gets(h, ":status");
    if (v == NULL || v->len != 3)
        return 0;
    int st = 0;
    for (size_t i = 0; i < 3; i++) {
        if (v->p[i] < '0' || v->p[i] > '9')
            return 0;
        st = st * 10 + (v->p[i] - '0');
    }
    return st >= 100 ? st : 0;
}

void hcm_encode_headers(struct rs_http_stream *s, struct rs_header_map *h, bool end_stream)
{
    struct hcm_conn *c = s->conn;
    int status = parse_status(h);
    if (status == 0) {
        rs_http_stream_reset(s); /* nothing sensible can be written */
        return;
    }
    s->status = status;
    s->si.response_code = (uint32_t)status;
    if (s->si.response_code_details == NULL)
        s->si.response_code_details = "via_upstream";
    rs_stats_inc(hcm_shard(c), c->cfg->stats.downstream_rq_xx[status / 100 - 1]);

    /* Connection-level fields are ours to decide, whatever the filters left. */
    rs_header_map_remove(h, "connection", 10);
    rs_header_map_remove(h, "transfer-encoding", 17);
    rs_header_map_remove(h, "keep-alive", 10);
    rs_header_map_remove(h, "proxy-connection", 16);
    add_date(c, h);
    if (c->cfg->server_name != NULL)
        rs_header_map_set(h, "server", 6, c->cfg->server_name, strlen(c->cfg->server_name));

    bool bodiless_status = status < 200 || status == 204 || status == 304;
    s->resp_no_body = s->head_request || bodiless_status;
    s->resp_chunked = false;
    if (rs_header_map_gets(h, "content-length") != NULL) {
        /* The body is delimited by its length. */
    } else if (end_stream) {
        if (!s->head_request && !bodiless_status)
            rs_header_map_set(h, "content-length", 14, "0", 1);
    } else if (c->http10) {
        c->close_after = true; /* no chunked coding in HTTP/1.0: the close ends the body */
    } else if (!bodiless_status) {
        rs_header_map_set(h, "transfer-encoding", 17, "chunked", 7);
        s->resp_chunked = !s->head_request;
    }
    if (!s->request_complete || !c->keep_alive || c->draining)
        c->close_after = true;
    if (c->close_after)
        rs_header_map_set(h, "connection", 10, "close", 5);
    else if (c->http10)
        rs_header_map_set(h, "connection", 10, "keep-alive", 10);

    struct rs_buffer b;
    rs_buffer_init(&b, c->w->loop);
    if (write_head(c, status, h, &b) != 0) {
        rs_buffer_clear(&b);
        rs_http_stream_reset(s);
        return;
    }
    s->response_started = true;
    rs_stream_info_mark_first(&s->si, &s->si.first_downstream_tx_byte_ns);
    send_bytes(c, &b);
    if (end_stream)
        finish_response(s);
}

void hcm_encode_data(struct rs_http_stream *s, struct rs_buffer *data, bool end_stream)
{
    struct hcm_conn *c = s->conn;
    size_t len = rs_buffer_len(data);
    struct rs_buffer b;
    rs_buffer_init(&b, c->w->loop);
    if (s->resp_no_body) {
        rs_buffer_clear(data);
    } else if (s->resp_chunked) {
        if (len > 0) {
            char hdr[RS_H1_CHUNK_HEADER_MAX];
            size_t n = rs_h1_chunk_header(hdr, len);
            rs_buffer_add_copy(&b, hdr, n);
            rs_buffer_move(&b, data, len);
            rs_buffer_add_copy(&b, "\r\n", 2);
        }
        if (end_stream)
            rs_buffer_add_copy(&b, "0\r\n\r\n", 5);
        s->si.bytes_sent += len;
    } else {
        rs_buffer_move(&b, data, len);
        s->si.bytes_sent += len;
    }
    if (rs_buffer_len(&b) > 0)
        send_bytes(c, &b);
    rs_buffer_clear(&b);
    if (end_stream)
        finish_response(s);
}

void hcm_encode_trailers(struct rs_http_stream *s)
{
    /* Envoy's HTTP/1 codec drops trailers unless enable_trailers is set: the last chunk ends the
     * body. */
    struct rs_buffer empty;
    rs_buffer_init(&empty, s->conn->w->loop);
    hcm_encode_data(s, &empty, true);
}

void hcm_encode_direct_reply(struct hcm_conn *c, int status, const char *body, bool close)
{
    struct rs_local_reply r;
    if (rs_local_reply_build((uint32_t)status, body, NULL, NULL, false, &r) != 0)
        return;
    add_date(c, r.headers);
    if (c->cfg->server_name != NULL)
        rs_header_map_set(r.headers, "server", 6, c->cfg->server_name, strlen(c->cfg->server_name));
    if (r.body == NULL)
        rs_header_map_set(r.headers, "content-length", 14, "0", 1);
    if (close)
        rs_header_map_set(r.headers, "connection", 10, "close", 5);
    struct rs_buffer b;
    rs_buffer_init(&b, c->w->loop);
    if (write_head(c, status, r.headers, &b) == 0) {
        if (r.body != NULL)
            rs_buffer_add_copy(&b, r.body, r.body_len);
        rs_stats_inc(hcm_shard(c), c->cfg->stats.downstream_rq_xx[status / 100 - 1]);
        send_bytes(c, &b);
    }
    rs_buffer_clear(&b);
    rs_local_reply_free(&r);
}
