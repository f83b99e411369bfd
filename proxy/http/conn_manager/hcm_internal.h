/* Private to the connection manager engine: the per-connection and per-stream state shared by
 * hcm_conn.c (socket, HTTP/1.1 request parsing, timers), hcm_stream.c (filter chain) and
 * hcm_encode.c (HTTP/1.1 response writing). */
#ifndef RS_HTTP_CONN_MANAGER_HCM_INTERNAL_H
#define RS_HTTP_CONN_MANAGER_HCM_INTERNAL_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/core/buffer.h"
#include "proxy/core/loop.h"
#include "proxy/core/timer.h"
#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/conn_manager/hcm.h"
#include "proxy/http/h1/h1.h"
#include "proxy/net/conn.h"
#include "proxy/net/worker.h"

/* What rs_hcm_network_filter's config points at: shared read-only by every worker. */
struct hcm_shared {
    struct rs_hcm_config *cfg;                /* owned */
    struct rs_http_filter_factory *factories; /* owned array, each config owned */
    /* Per factory: told when the downstream drained after being over its limit (or NULL). */
    void (**drained_cbs)(struct rs_http_filter *f); /* owned array */
    size_t n_factories;
};

/* One direction of a stream's filter chain (decode or encode). Events that reach a filter that
 * stopped wait here until rs_http_stream_continue_* resumes at the next filter. */
struct hcm_dir {
    int stopped_at;        /* chain position holding iteration, -1 when none */
    bool headers_pending;  /* headers stopped at stopped_at and not passed on yet */
    bool headers_done;     /* headers went past the last filter */
    bool headers_end;      /* the headers ended the stream */
    bool end_seen;         /* end of stream entered the chain (with data or trailers) */
    bool end_done;         /* end of stream went past the last filter */
    bool trailers_pending; /* trailers wait behind stopped_at */
    struct rs_buffer held; /* data waiting behind stopped_at (moved, not copied) */
    struct rs_header_map *headers;
    struct rs_header_map *trailers;
    size_t start; /* encode only: position where responses enter (after the filter answering) */
};

struct hcm_conn;

/* rs_http_stream: one request/response on a connection. Owned by its connection. */
struct rs_http_stream {
    struct hcm_conn *conn;
    struct rs_http_filter **filters; /* n instances in decode order, owned */
    size_t n;
    struct hcm_dir dec, enc;
    struct rs_stream_info si;
    char *request_id; /* owned copy behind si.request_id */
    char remote_addr[64], local_addr[64];

    const struct rs_route *route;
    bool route_cached;

    bool local_reply_sent; /* decoding stops once the stream answered itself */
    bool request_complete; /* the codec delivered the whole request */
    bool response_started; /* response head written to the connection */
    bool response_complete;
    bool reset;
    bool finishing; /* end-of-stream bookkeeping queued */
    bool head_request;
    unsigned in_encode;  /* depth of encode filter callbacks running now */
    bool saw_over_limit; /* a filter found the downstream over its limit: tell it on drain */
    int status;
    /* How the response body is framed on the wire. */
    bool resp_chunked, resp_no_body;
    struct rs_deferred finish_call;
    struct rs_timer request_timer, idle_timer;
    uint64_t start_ms;
};

enum hcm_read_state {
    HCM_READ_HEAD, /* waiting for (the rest of) a request head */
    HCM_READ_BODY, /* decoding the current request's body */
    HCM_READ_DONE, /* request complete; later bytes wait for the response (pipelining) */
};

struct hcm_conn {
    struct rs_active active;
    struct rs_worker *w;
    const struct hcm_shared *sh;
    const struct rs_hcm_config *cfg;
    const struct rs_listener *listener;
    struct rs_snapshot *snapshot; /* reference taken over from the accept: keeps cfg alive */
    /* The `date` value of the current second: formatted once per second per connection, not per
     * response (keep-alive connections answer many requests a second). */
    time_t date_sec;
    char date[32];
    size_t date_len;
    struct rs_address peer, local;
    struct rs_conn down;

    /* Received bytes not consumed yet, as slices of loop buffers (zero copy). */
    struct rs_buffer in;
    /* A copy of the request head in progress, contiguous for the parser; freed once parsed, so
     * an idle connection holds no buffer. */
    char *head;
    size_t head_len, head_cap;

    enum hcm_read_state rstate;
    struct rs_h1_body_decoder body;
    struct rs_h1_header trailer_storage[32];
    /* Bytes of an incomplete chunk-size line or trailer section that straddled two slices. */
    char *carry;
    size_t carry_len;

    struct rs_http_stream *stream; /* the current request, owned; NULL when idle */
    bool keep_alive;               /* the current request allows reuse */
    bool http10;
    bool close_after; /* close once the current response is flushed */
    bool draining;
    bool closing;
    bool closed; /* on_closed reported */
    bool half_closed;
    bool peer_eof;
    bool read_paused;
    uint32_t requests;

    struct rs_timer idle_timer, headers_timer, delayed_close_timer;
    uint64_t start_ms;
    uint64_t rx_reported;
};

static inline struct rs_stats_shard *hcm_shard(struct hcm_conn *c)
{
    return c->w->stats;
}

/* hcm_conn.c */
/* Takes ownership of a->fd and of the reference a->snapshot. */
void hcm_conn_accept(struct rs_worker *w, const struct hcm_shared *sh, const struct rs_accepted *a);
void hcm_conn_close(struct hcm_conn *c, bool reset);
/* The current stream is over (response written, request consumed): log, free it, go on. */
void hcm_conn_stream_done(struct hcm_conn *c);
/* Writes a local reply for a request that never became a stream (codec errors, timeouts before
 * the head completed) and closes the connection after it. */
void hcm_conn_reply_and_close(struct hcm_conn *c, int status, const char *body, const char *details,
                              uint64_t flags);

/* hcm_request_body.c: decodes body bytes from c->in into the stream. 1: progress, call again;
 * 0: need more bytes; -1: stop (body done, or the connection is ending). */
int hcm_conn_decode_body(struct hcm_conn *c);

/* hcm_request_headers.c: Envoy's request header edits; true for an edge request. */
bool hcm_mutate_request_headers(struct hcm_conn *c, struct rs_header_map *m);

/* hcm_stream.c */
struct rs_http_stream *hcm_stream_new(struct hcm_conn *c, struct rs_header_map *headers);
void hcm_stream_free(struct rs_http_stream *s);
void hcm_stream_decode_headers(struct rs_http_stream *s, bool end_stream);
void hcm_stream_decode_data(struct rs_http_stream *s, struct rs_buffer *data, bool end_stream);
void hcm_stream_decode_trailers(struct rs_http_stream *s, struct rs_header_map *trailers);
/* The encode sink wrote the end of the response. */
void hcm_stream_response_complete(struct rs_http_stream *s);
/* The downstream send queue fell to half its limit (rs_conn on_send_drained). */
void hcm_stream_downstream_drained(struct rs_http_stream *s);
/* The downstream went away or broke the protocol mid-stream. */
void hcm_stream_abort(struct rs_http_stream *s, enum rs_stream_reset_reason why);

/* hcm_encode.c: the end of the encode chain, the HTTP/1.1 response writer. */
void hcm_encode_headers(struct rs_http_stream *s, struct rs_header_map *headers, bool end_stream);
void hcm_encode_data(struct rs_http_stream *s, struct rs_buffer *data, bool end_stream);
void hcm_encode_trailers(struct rs_http_stream *s);
/* Sends a complete response (status, text body) with the h1 writer directly, bypassing filters
 * (no stream, or a stream whose filters must not run). */
void hcm_encode_direct_reply(struct hcm_conn *c, int status, const char *body, bool close);

#endif
