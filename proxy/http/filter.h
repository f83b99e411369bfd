/* The HTTP stream model every filter sees, whatever the protocol on either side.
 *
 * A stream is one request/response exchange, owned by the connection manager of its downstream
 * connection, on one worker. The codec (HTTP/1.1 or HTTP/2) turns bytes into stream events; the
 * connection manager runs them through the stream's filter instances in configuration order
 * (decode: request headers, data, trailers) and back in reverse order (encode: response). The
 * router is the last decode filter: it sends the request upstream and feeds the response into the
 * encode chain. Filters never see sockets.
 *
 * Ownership: a header map, trailer map or data buffer passed to a filter stays owned by the
 * stream; a filter may edit it in place, or move bytes out of a data buffer to hold them (for
 * buffering) and put them back before continuing. A filter returns CONTINUE to pass the event on,
 * or STOP to hold iteration at itself; it resumes with rs_http_stream_continue_*, possibly from a
 * later loop turn (a rate limiter, an external authorisation call). */
#ifndef RS_HTTP_FILTER_H
#define RS_HTTP_FILTER_H

#include <stdbool.h>
#include <stdint.h>

struct rs_buffer;
struct rs_header_map;
struct rs_http_stream;
struct rs_stream_info;
struct rs_route;
struct rs_worker;

enum rs_filter_status {
    RS_FILTER_CONTINUE,
    RS_FILTER_STOP,
};

/* Why a stream ended early, for filters that hold resources (the router's upstream request). */
enum rs_stream_reset_reason {
    RS_RESET_DOWNSTREAM_CLOSED,   /* the client went away */
    RS_RESET_DOWNSTREAM_PROTOCOL, /* the client broke the protocol */
    RS_RESET_LOCAL,               /* a filter or the connection manager aborted the stream */
    RS_RESET_DRAIN,               /* the listener is draining and the stream could not finish */
};

struct rs_http_filter;

/* A filter's behaviour. Every callback is optional (NULL = pass through). */
struct rs_http_filter_ops {
    const char *name; /* "envoy.filters.http.router" */
    enum rs_filter_status (*decode_headers)(struct rs_http_filter *f, struct rs_header_map *headers,
                                            bool end_stream);
    enum rs_filter_status (*decode_data)(struct rs_http_filter *f, struct rs_buffer *data,
                                         bool end_stream);
    enum rs_filter_status (*decode_trailers)(struct rs_http_filter *f,
                                             struct rs_header_map *trailers);
    enum rs_filter_status (*encode_headers)(struct rs_http_filter *f, struct rs_header_map *headers,
                                            bool end_stream);
    enum rs_filter_status (*encode_data)(struct rs_http_filter *f, struct rs_buffer *data,
                                         bool end_stream);
    enum rs_filter_status (*encode_trailers)(struct rs_http_filter *f,
                                             struct rs_header_map *trailers);
    /* The stream is being torn down before it completed: release what the filter holds. */
    void (*on_reset)(struct rs_http_filter *f, enum rs_stream_reset_reason reason);
    /* Last call: the filter frees itself. */
    void (*destroy)(struct rs_http_filter *f);
};

/* A filter instance: embedded at the start of the filter's own per-stream state. */
struct rs_http_filter {
    const struct rs_http_filter_ops *ops;
    struct rs_http_stream *stream; /* set by the connection manager before the first callback */
};

/* One entry of the HCM's http_filters, built at config time; shared read-only by every worker. */
struct rs_http_filter_factory {
    const char *name;
    void *config; /* owned; freed with free_config */
    void (*free_config)(void *config);
    /* A new instance for one stream, or NULL on allocation failure (the stream gets a 503). */
    struct rs_http_filter *(*create)(void *config, struct rs_http_stream *stream);
    /* Optional: worker `worker_id` is stopping (its last stream has ended, its loop still runs):
     * give up what the factory keeps per worker (the router's upstream pools). */
    void (*on_worker_stop)(void *config, unsigned worker_id);
};

/* ---- what a filter may ask of its stream ---- */

struct rs_worker *rs_http_stream_worker(struct rs_http_stream *s);
struct rs_stream_info *rs_http_stream_info(struct rs_http_stream *s);
/* The route chosen for the request headers (computed on first use, cached; NULL: no route). */
const struct rs_route *rs_http_stream_route(struct rs_http_stream *s);
/* Headers changed in a way that can change the route: the next rs_http_stream_route recomputes. */
void rs_http_stream_clear_route_cache(struct rs_http_stream *s);

/* Resume iteration after a filter returned STOP (from the filter after `f`). */
void rs_http_stream_continue_decoding(struct rs_http_stream *s, struct rs_http_filter *f);
void rs_http_stream_continue_encoding(struct rs_http_stream *s, struct rs_http_filter *f);

/* Response events produced by filter `f` (the router, or a filter answering itself): they enter
 * the encode chain at the filter before `f`. The stream takes ownership of headers, trailers and
 * the bytes of data (data is left empty). */
void rs_http_stream_encode_headers(struct rs_http_stream *s, struct rs_http_filter *f,
                                   struct rs_header_map *headers, bool end_stream);
void rs_http_stream_encode_data(struct rs_http_stream *s, struct rs_http_filter *f,
                                struct rs_buffer *data, bool end_stream);
void rs_http_stream_encode_trailers(struct rs_http_stream *s, struct rs_http_filter *f,
                                    struct rs_header_map *trailers);

/* A complete local reply with Envoy's shape: status, a text body (or a gRPC-shaped reply for gRPC
 * requests), the response code details for the access log and the response flags to set (NR, UH,
 * UF, UT, ...). */
void rs_http_stream_send_local_reply(struct rs_http_stream *s, int status, const char *body,
                                     const char *details, uint32_t response_flags);

/* Abort the stream (the downstream sees a reset or a closed connection). */
void rs_http_stream_reset(struct rs_http_stream *s);

/* Flow control across the stream: the router stops reading its upstream while the downstream has
 * more than its limit queued, and the connection manager stops reading the downstream while the
 * upstream request has too much queued. */
bool rs_http_stream_downstream_over_limit(struct rs_http_stream *s);
void rs_http_stream_pause_downstream_reads(struct rs_http_stream *s, bool paused);

#endif
