/* Per-worker HTTP/1.1 upstream connection pool: hands out connected TCP connections to one host of
 * a cluster, keeps the ones a finished exchange left reusable (keep-alive) and reuses them most
 * recently used first. It frames nothing: the router speaks HTTP through the h1 codec over the
 * rs_pooled_conn it gets. One pool per worker per cluster (stats ids, timeouts and the buffer
 * limit are the cluster's, and removing a cluster drains exactly its pools); inside, connections
 * are kept per host (the load balancer picks a host per request).
 *
 * Threading: a pool belongs to one loop; every function is called on that loop's thread.
 *
 * Ownership:
 *  - the caller embeds struct rs_h1_pool_request in its own object; from rs_h1_pool_acquire until
 *    on_ready runs or rs_h1_pool_cancel returns, the pool links to it (it must stay alive);
 *  - an rs_pooled_conn is the pool's memory. on_ready lends it to the caller, who owns it (its
 *    callbacks fire to the caller) until it hands it back with rs_h1_pool_release exactly once,
 *    and never touches it afterwards;
 *  - while a connection is idle in the pool it keeps a receive armed: a server close (EOF, reset)
 *    or unexpected bytes drop it at once, so it is never handed out again, and the idle timer
 *    closes it after idle_timeout_ms. */
#ifndef RS_HTTP_POOL_POOL_H
#define RS_HTTP_POOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/core/buffer.h"
#include "proxy/core/loop.h"
#include "proxy/net/conn.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/host.h"

/* Envoy's common_http_protocol_options.idle_timeout default. */
#define RS_H1_POOL_DEFAULT_IDLE_TIMEOUT_MS (3600u * 1000u)

struct rs_h1_pool;
struct rs_pooled_conn;

struct rs_h1_pool_options {
    /* For the stats names ("cluster.<name>.upstream_cx_idle_timeout"); copied. May be NULL. */
    const char *cluster_name;
    /* The cluster's stat ids (upstream_cx_*), copied. NULL: no cluster stats. */
    const struct rs_cluster_stats *cluster_stats;
    uint64_t connect_timeout_ms; /* 0: 5000 (Envoy's default) */
    size_t buffer_limit;         /* per_connection_buffer_limit_bytes; 0: 1 MiB */
    uint64_t idle_timeout_ms;    /* 0: never (Envoy: an explicit 0 disables it) */
    uint32_t max_conns_per_host; /* connecting + idle + in use; 0: unlimited */
};

/* Fills opt from a cluster (name, stats, connect timeout, buffer limit) with Envoy's default idle
 * timeout (1 h) and no per-host limit. The cluster is only read during the call. */
void rs_h1_pool_options_from_cluster(struct rs_h1_pool_options *opt, const struct rs_cluster *c);

/* A pool on `loop` writing stats to `shard` (the worker's; NULL: none). Registers
 * cluster.<name>.upstream_cx_idle_timeout in the shard's store (find-or-create; cluster_stats.h
 * does not have it). Returns NULL on allocation failure. */
struct rs_h1_pool *rs_h1_pool_new(struct rs_loop *loop, struct rs_stats_shard *shard,
                                  const struct rs_h1_pool_options *opt);

/* Callbacks for the connection's current user; `user` is the pointer given with them. The pool
 * forwards the rs_conn events to them while the user owns the connection. After on_eof or
 * on_error the connection is not reusable: release it with reusable = false. */
struct rs_pooled_conn_callbacks {
    /* Ownership of loop buffer bid (len bytes at rs_loop_buf(bid)) passes to the user. */
    void (*on_data)(struct rs_pooled_conn *pc, void *user, uint16_t bid, uint32_t len);
    void (*on_eof)(struct rs_pooled_conn *pc, void *user);
    void (*on_error)(struct rs_pooled_conn *pc, void *user, int res);
    /* Optional (NULL: not wanted): the send queue fell to half the buffer limit. */
    void (*on_send_drained)(struct rs_pooled_conn *pc, void *user);
};

/* Embedded in the caller's object. Set on_ready, cb and user before rs_h1_pool_acquire. */
struct rs_h1_pool_request {
    /* Called once, from the loop (never from inside rs_h1_pool_acquire): err == 0 and pc is the
     * caller's (its callbacks are already cb/user, its receive armed); or err < 0 and pc NULL:
     * -ECONNREFUSED, -ETIMEDOUT (connect timeout) and other connect errors, -ESHUTDOWN (the pool
     * was drained before the acquisition), -ENOMEM. */
    void (*on_ready)(struct rs_h1_pool_request *req, struct rs_pooled_conn *pc, int err);
    const struct rs_pooled_conn_callbacks *cb;
    void *user;

    /* ---- private to the pool ---- */
    struct rs_h1_pool_req_list *list_; /* the queue it waits in; NULL when not waiting */
    struct rs_h1_pool_request *next_, *prev_;
    int err_; /* the answer, while queued for a failure */
};

/* Asks for a connection to `host` (the pool keeps a reference to it while it has state for it).
 * An idle connection is reused if there is one (the most recently released first), otherwise a
 * new one is connected (subject to max_conns_per_host: then the request waits for a release).
 * The answer always comes later through req->on_ready. */
void rs_h1_pool_acquire(struct rs_h1_pool *pool, struct rs_host *host,
                        struct rs_h1_pool_request *req);

/* The caller no longer wants an answer (e.g. its downstream went away). on_ready will not run. A
 * connection being made for it goes on connecting and then idles in the pool. No-op if on_ready
 * already ran. */
void rs_h1_pool_cancel(struct rs_h1_pool_request *req);

/* Hands a connection back. reusable: the exchange finished cleanly and both sides keep the
 * connection alive (no "Connection: close", nothing unread, nothing unsent); it goes idle unless
 * the pool is draining or the connection saw EOF/an error or still has bytes queued. Otherwise it
 * is closed. The caller must not use pc afterwards. */
void rs_h1_pool_release(struct rs_h1_pool *pool, struct rs_pooled_conn *pc, bool reusable);

/* Stops reuse for good (cluster removed or changed): closes every idle connection, and every
 * connection released from now on. Acquisitions made before keep their promise (they get new
 * connections if need be); acquisitions after fail with -ESHUTDOWN. */
void rs_h1_pool_drain(struct rs_h1_pool *pool);

/* Gives up the pool: closes idle connections and abandons the ones being made, and drops pending
 * acquisitions silently (as rs_h1_pool_cancel: their on_ready never runs). Connections still lent
 * out keep working until released (then they close). The memory is freed from the loop once the
 * last connection has closed, so the loop must keep running a few turns (until every lent
 * connection is released). The caller forgets the pointer now, except to release lent
 * connections. May be called from a pool callback. */
void rs_h1_pool_free(struct rs_h1_pool *pool);

/* Counters for tests and admin: connections idle / lent out / connecting, over all hosts. */
struct rs_h1_pool_counts {
    uint32_t idle, in_use, connecting, pending;
};
void rs_h1_pool_counts(const struct rs_h1_pool *pool, struct rs_h1_pool_counts *out);

/* ---- the lent connection (only between on_ready and rs_h1_pool_release) ---- */

/* Replaces the callbacks (e.g. a WebSocket tunnel taking over from the codec). */
void rs_pooled_conn_set_callbacks(struct rs_pooled_conn *pc,
                                  const struct rs_pooled_conn_callbacks *cb, void *user);
/* As rs_conn_send / rs_conn_send_buf (data moved; buffer reference passed). */
void rs_pooled_conn_send(struct rs_pooled_conn *pc, struct rs_buffer *data);
void rs_pooled_conn_send_buf(struct rs_pooled_conn *pc, uint16_t bid, uint32_t off, uint32_t len);
void rs_pooled_conn_read_start(struct rs_pooled_conn *pc);
void rs_pooled_conn_read_pause(struct rs_pooled_conn *pc);
bool rs_pooled_conn_over_limit(const struct rs_pooled_conn *pc);
/* The underlying connection, for reading its state (fd, byte counts, queued bytes). Never close
 * it or change its callbacks: release the rs_pooled_conn instead. */
const struct rs_conn *rs_pooled_conn_conn(const struct rs_pooled_conn *pc);
struct rs_host *rs_pooled_conn_host(const struct rs_pooled_conn *pc);
/* True if this connection served an earlier exchange: a request that fails on it before any
 * response byte may be retried (the server may have closed it as we wrote). */
bool rs_pooled_conn_reused(const struct rs_pooled_conn *pc);

#endif
