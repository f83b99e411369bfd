/* Private to the router: its config, its per-stream state and the functions its files share. */
#ifndef RS_HTTP_FILTERS_ROUTER_INTERNAL_H
#define RS_HTTP_FILTERS_ROUTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "proxy/core/buffer.h"
#include "proxy/core/timer.h"
#include "proxy/http/filters/router.h"
#include "proxy/http/h1/h1.h"
#include "proxy/http/header_map.h"
#include "proxy/http/pool/pool.h"
#include "proxy/http/retry/retry.h"
#include "proxy/http/route/route.h"
#include "proxy/stats/stats.h"

#define RS_ROUTER_MAX_RESPONSE_HEADERS 128
#define RS_ROUTER_MAX_TRAILERS 32
#define RS_ROUTER_MAX_SHADOWS 4

struct rs_router_shadow;

/* cluster.<name>.upstream_rq_* ids. Created once per cluster name and never freed before the
 * config, so workers keep plain pointers to it. code_ids_ holds id + 1 per status (0: not yet
 * registered); races between workers registering the same code are harmless (find-or-create). */
struct rs_router_cluster_stats {
    char *name; /* owned */
    rs_stat_id rq_total, rq_completed, rq_time, rq_timeout, rq_xx[5];
    rs_stat_id rq_retry, rq_retry_success, rq_retry_overflow, rq_retry_limit_exceeded,
        rq_retry_backoff_exponential, rq_per_try_timeout;
    _Atomic uint32_t code_ids_[600];
};

/* One cluster as seen by one worker: its pool on that worker's loop. */
struct rs_router_cluster_slot {
    struct rs_cluster *cluster; /* referenced: keeps the key unique while the pool lives */
    struct rs_h1_pool *pool;    /* owned; freed with rs_h1_pool_free on the worker */
    struct rs_router_cluster_stats *stats;
};

/* One worker's slot; only that worker reads or writes it (padded against false sharing). */
struct rs_router_worker_slot {
    /* Owned, each slot allocated on its own: streams keep pointers to their slot while the
     * array grows. */
    struct rs_router_cluster_slot **clusters;
    size_t n, cap;
    uint64_t prng; /* weighted cluster picks */
    char pad_[64];
};

struct rs_formatter;

/* A compiled `%...%` header value, keyed by its entry in the route config. */
struct rs_router_hfmt {
    const struct rs_route_header_add *add;
    struct rs_formatter *f; /* owned */
};

struct rs_router_config {
    struct rs_router_options opt;
    rs_router_cluster_lookup lookup;
    void *lookup_ctx;
    struct rs_stats_store *store;
    unsigned n_workers;
    struct rs_router_worker_slot *workers;  /* owned, n_workers */
    pthread_mutex_t stats_lock;             /* guards the stats table below */
    struct rs_router_cluster_stats **stats; /* owned */
    size_t n_stats, cap_stats;
    struct rs_router_hfmt *hfmt; /* owned, sorted by add */
    size_t n_hfmt, cap_hfmt;
};

enum rs_router_phase {
    RS_ROUTER_IDLE,       /* nothing upstream */
    RS_ROUTER_CONNECTING, /* waiting for the pool */
    RS_ROUTER_HEAD,       /* request sent (or sending), response head not complete */
    RS_ROUTER_RETRY_WAIT, /* an attempt failed; the next one starts when retry_timer fires */
    RS_ROUTER_BODY,       /* response headers encoded, body in progress */
    RS_ROUTER_DONE,       /* finished or failed: no upstream state left */
};

/* Per-stream state. The filter struct comes first so the stream's pointer is ours. */
struct rs_router_filter {
    struct rs_http_filter base;
    struct rs_router_config *cfg;
    struct rs_http_stream *stream;
    struct rs_loop *loop;
    struct rs_stats_shard *shard;
    unsigned worker_id;
    enum rs_router_phase phase;

    const struct rs_route *route;
    const struct rs_route_cluster_weight *weight; /* picked weighted cluster, or NULL */
    struct rs_router_cluster_slot *cs;            /* the worker's slot for the cluster */
    struct rs_router_cluster_stats *stats;
    struct rs_host *host; /* referenced until destroy (stream info points at its address) */

    struct rs_h1_pool_request preq;
    struct rs_pooled_conn *pc; /* lent by the pool, or NULL */

    /* Request side. req: the stream's request headers (borrowed: the stream keeps them for its
     * whole life), edited once and re-serialized for each attempt. */
    struct rs_header_map *req;
    bool end_stream_on_headers;
    struct rs_buffer out;  /* bytes waiting for the connection: head, then body */
    bool request_chunked;  /* body sent with chunked framing */
    bool request_complete; /* the downstream request ended (everything queued in out or sent) */
    bool head_request;     /* HEAD: the response has no body whatever it says */
    char method[24];
    uint64_t timeout_ms; /* global route timeout (0: none) */
    uint64_t sent_ms;    /* loop time when the request head was handed to the connection */
    uint64_t start_ms;   /* loop time of the first attempt (expected-timeout header budget) */
    struct rs_timer timer;

    /* Retries. replay: the framed request body sent so far, kept for the next attempt (loop
     * slices shared by reference, heap bytes copied) up to replay_limit. */
    bool retry_enabled;
    struct rs_retry_state retry;
    struct rs_retry_timeouts timeouts;
    struct rs_buffer replay;
    size_t replay_limit;
    uint32_t attempts;
    struct rs_timer per_try_timer;
    struct rs_timer retry_timer;
    bool per_try_fired;

    /* Mirrors still receiving the request body (NULL once detached or gone; see shadow.c). */
    struct rs_router_shadow *shadows[RS_ROUTER_MAX_SHADOWS];
    size_t n_shadows;
    bool downstream_paused;

    /* Response side. */
    char *acc; /* head bytes (or a partial chunk line) held across reads; owned */
    size_t acc_len, acc_cap;
    struct rs_h1_header hstore[RS_ROUTER_MAX_RESPONSE_HEADERS];
    struct rs_h1_header tstore[RS_ROUTER_MAX_TRAILERS];
    struct rs_h1_body_decoder dec;
    bool response_keep_alive;
    bool upstream_paused;
    struct rs_timer flow_timer; /* polls the downstream while upstream reads are paused */
    int status;
};

/* router_config.c */
struct rs_router_cluster_slot *rs_router_slot_get(struct rs_router_filter *rf,
                                                  struct rs_cluster *c);
uint64_t rs_router_random(struct rs_router_filter *rf);
void rs_router_charge_code(struct rs_router_filter *rf, int status);
/* upstream_rq_time for the finished exchange (ms since the request was handed upstream). */
void rs_router_record_time(struct rs_router_filter *rf);

/* header_format.c */
int rs_router_header_formats_build(struct rs_router_config *cfg, const struct rs_route_config *rc);
void rs_router_header_formats_free(struct rs_router_config *cfg);
/* The compiled formatter of a header entry, or NULL when its value is literal. */
const struct rs_formatter *rs_router_header_format(const struct rs_router_config *cfg,
                                                   const struct rs_route_header_add *a);

/* headers.c: the route's header operations (rf->route, rf->weight), values formatted against the
 * stream info. */
void rs_router_apply_request_ops(struct rs_router_filter *rf, struct rs_header_map *h);
void rs_router_apply_response_ops(struct rs_router_filter *rf, struct rs_header_map *h);
/* Once per request: rewrites, x-forwarded-proto, router-consumed headers, header operations. */
int rs_router_prepare_request(struct rs_router_filter *rf, struct rs_header_map *h);
/* Per attempt: auto host rewrite, expected timeout, then the HTTP/1.1 head with framing. */
int rs_router_build_request_head(struct rs_router_filter *rf, struct rs_header_map *h,
                                 bool end_stream, struct rs_h1_buf *out);
int rs_router_redirect_location(const struct rs_route *route, const struct rs_header_map *h,
                                struct rs_h1_buf *out);

/* retry_attempt.c */
void rs_router_retry_init(struct rs_router_filter *rf, struct rs_header_map *h);
/* Keeps a copy of framed request body bytes for replay (no-op when retries are off). */
void rs_router_retry_keep(struct rs_router_filter *rf, const struct rs_buffer *framed);
/* An attempt failed before response headers: true if a retry was scheduled (the attempt's
 * upstream state is gone), false if the caller must answer (flags URX/UO already set). */
bool rs_router_retry_on_reset(struct rs_router_filter *rf, enum rs_retry_reset_reason reason);
/* Response headers arrived: true if they are discarded for a retry. */
bool rs_router_retry_on_headers(struct rs_router_filter *rf, const struct rs_header_map *h);
void rs_router_arm_per_try(struct rs_router_filter *rf);

/* shadow.c */
void rs_router_shadows_start(struct rs_router_filter *rf, struct rs_header_map *h, bool end_stream);
void rs_router_shadows_send(struct rs_router_filter *rf, const struct rs_buffer *framed,
                            bool end_stream);
void rs_router_shadows_abort(struct rs_router_filter *rf);

/* upstream_request.c */
/* Starts an attempt to rf->host: serializes the head, queues it with the replay copy of the body
 * and asks the pool. Returns 0, or -1 if the head could not be built (nothing started). */
int rs_router_upstream_start(struct rs_router_filter *rf);
/* Drops the current attempt's upstream state (closing its connection) but not the request. */
void rs_router_attempt_reset(struct rs_router_filter *rf);
void rs_router_upstream_send(struct rs_router_filter *rf, struct rs_buffer *data);
/* Gives the connection back (reusable only if the exchange finished cleanly) and stops timers. */
void rs_router_upstream_finish(struct rs_router_filter *rf, bool reusable);
void rs_router_arm_timeout(struct rs_router_filter *rf);
/* A local reply for a failure before the response started (the upstream state is gone first). */
void rs_router_fail_reset(struct rs_router_filter *rf, enum rs_retry_reset_reason reason);

/* response.c */
extern const struct rs_pooled_conn_callbacks rs_router_conn_callbacks;

#endif
