/* The current request's body, from the connection's received bytes into the stream: body bytes
 * move out of the loop's receive buffers without a copy; only an element (chunk-size line,
 * trailer section) split across two receive buffers goes through the connection's small carry
 * buffer, with the rest of that one receive buffer. */
#include <stdlib.h>
#include <string.h>

#include "proxy/http/conn_manager/hcm_internal.h"
#include "proxy/http/header_map.h"

static void body_error(struct hcm_conn *c, const struct rs_h1_error *err)
{
    struct rs_http_stream *s = c->stream;
    rs_stats_inc(hcm_shard(c), c->cfg->stats.downstream_cx_protocol_error);
    c->keep_alive = false;
    c->rstate = HCM_READ_DONE;
    rs_buffer_clear(&c->in);
    c->carry_len = 0;
    if (!s->response_started && !s->finishing && !s->reset) {
        s->request_complete = true; /* nothing more will be read for it */
        rs_http_stream_send_local_reply(s, err->status, rs_h1_reason_phrase(err->status),
                                        err->details, RS_RF_DPE);
    } else {
        hcm_stream_abort(s, RS_RESET_DOWNSTREAM_PROTOCOL);
        hcm_conn_close(c, true);
    }
}

/* Trailers point into the bytes being decoded: copied into a map before those bytes go. NULL
 * when there are none (or on allocation failure, which *failed reports). */
static struct rs_header_map *trailer_map(struct hcm_conn *c, bool *failed)
{
    *failed = false;
    if (c->body.num_trailers == 0)
        return NULL;
    struct rs_header_map *t = rs_header_map_new();
    for (size_t i = 0; t != NULL && i < c->body.num_trailers; i++) {
        const struct rs_h1_header *f = &c->body.trailers[i];
        if (rs_header_map_add(t, f->name.p, f->name.len, f->value.p, f->value.len) != 0) {
            rs_header_map_free(t);
            t = NULL;
        }
    }
    *failed = t == NULL;
    return t;
}

static void deliver_end(struct hcm_conn *c, struct rs_buffer *data, struct rs_header_map *t,
                        bool failed)
{
    struct rs_http_stream *s = c->stream;
    c->rstate = HCM_READ_DONE;
    if (failed) {
        hcm_stream_abort(s, RS_RESET_LOCAL);
        hcm_conn_close(c, true);
        return;
    }
    if (t == NULL) {
        hcm_stream_decode_data(s, data, true);
        return;
    }
    if (rs_buffer_len(data) > 0)
        hcm_stream_decode_data(s, data, false);
    hcm_stream_decode_trailers(s, t);
}

int hcm_conn_decode_body(struct hcm_conn *c)
{
    if (rs_buffer_len(&c->in) == 0)
        return 0;
    struct iovec front;
    rs_buffer_iov(&c->in, &front, 1);
    const char *buf = front.iov_base;
    size_t len = front.iov_len;
    bool carrying = c->carry_len > 0;
    if (carrying) {
        /* An element straddles receive buffers: join the next one to the carried bytes. */
        char *n = realloc(c->carry, c->carry_len + len);
        if (n == NULL) {
            hcm_conn_close(c, true);
            return -1;
        }
        c->carry = n;
        memcpy(c->carry + c->carry_len, buf, len);
        c->carry_len += len;
        rs_buffer_drain(&c->in, len);
        buf = c->carry;
        len = c->carry_len;
    }
    size_t consumed = 0;
    struct rs_h1_slice data = {0};
    struct rs_h1_error err = {0};
    enum rs_h1_status st = rs_h1_body_decode(&c->body, buf, len, &consumed, &data, &err);
    if (st == RS_H1_ERROR) {
        body_error(c, &err);
        return -1;
    }
    bool tfailed = false;
    struct rs_header_map *trailers = st == RS_H1_DONE ? trailer_map(c, &tfailed) : NULL;
    struct rs_buffer out;
    rs_buffer_init(&out, c->w->loop);
    if (data.len > 0) {
        size_t off = (size_t)(data.p - buf);
        if (carrying) {
            rs_buffer_add_copy(&out, data.p, data.len);
        } else {
            rs_buffer_drain(&c->in, off);
            rs_buffer_move(&out, &c->in, data.len);
            rs_buffer_drain(&c->in, consumed - off - data.len);
        }
    } else if (!carrying) {
        rs_buffer_drain(&c->in, consumed);
    }
    if (carrying) {
        memmove(c->carry, c->carry + consumed, c->carry_len - consumed);
        c->carry_len -= consumed;
    } else if (st == RS_H1_NEED_MORE && data.len == 0 && consumed < len) {
        /* The rest of this receive buffer is an incomplete element: carry it over. */
        size_t rest = len - consumed;
        char *n = realloc(c->carry, rest);
        if (n == NULL) {
            rs_buffer_clear(&out);
            hcm_conn_close(c, true);
            return -1;
        }
        c->carry = n;
        memcpy(c->carry, buf + consumed, rest);
        c->carry_len = rest;
        rs_buffer_drain(&c->in, rest);
    }
    if (st == RS_H1_DONE) {
        if (c->carry_len > 0) {
            /* Pipelined bytes after the body were carried: give them back as a copy at the
             * front. They are few (part of one receive buffer). */
            struct rs_buffer rest;
            rs_buffer_init(&rest, c->w->loop);
            rs_buffer_add_copy(&rest, c->carry, c->carry_len);
            rs_buffer_move(&rest, &c->in, rs_buffer_len(&c->in));
            rs_buffer_move(&c->in, &rest, rs_buffer_len(&rest));
            rs_buffer_clear(&rest);
            c->carry_len = 0;
        }
        free(c->carry);
        c->carry = NULL;
        deliver_end(c, &out, trailers, tfailed);
        rs_buffer_clear(&out);
        return -1;
    }
    if (rs_buffer_len(&out) > 0)
        hcm_stream_decode_data(c->stream, &out, false);
    rs_buffer_clear(&out);
    if (c->carry_len > 0 && rs_buffer_len(&c->in) == 0)
        return 0;
    return rs_buffer_len(&c->in) > 0 ? 1 : 0;
}
