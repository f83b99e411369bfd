/* Private to proxy/http/pool: the pool, its per-host entries and pooled connections. */
#ifndef RS_HTTP_POOL_POOL_INTERNAL_H
#define RS_HTTP_POOL_POOL_INTERNAL_H

#include "proxy/core/timer.h"
#include "proxy/http/pool/pool.h"

enum rs_pc_state {
    RS_PC_CONNECTING, /* connect in flight, no user yet */
    RS_PC_IDLE,       /* in the host's idle list, receive armed, idle timer running */
    RS_PC_IN_USE,     /* lent to a user: events go to pc->cb */
    RS_PC_CLOSING,    /* rs_conn_close called, waiting for on_closed */
};

/* Intrusive doubly linked list of connections. */
struct rs_pc_list {
    struct rs_pooled_conn *head, *tail;
    uint32_t n;
};

struct rs_pooled_conn {
    struct rs_conn conn; /* its owner pointer is this rs_pooled_conn */
    struct rs_h1_pool_host *host;
    enum rs_pc_state state;
    const struct rs_pooled_conn_callbacks *cb; /* the user's, while IN_USE */
    void *user;
    struct rs_timer idle_timer;
    struct rs_pooled_conn *next, *prev; /* in host->idle or host->connecting */
    uint64_t created_ms;
    uint32_t uses; /* times lent out */
};

/* A FIFO of requests; each knows the list it is in, so cancel finds it wherever it waits. */
struct rs_h1_pool_req_list {
    struct rs_h1_pool_request *head, *tail;
    uint32_t n;
};

/* Connections and waiting requests for one host. Lives while it has any of them (or is queued
 * for dispatch), and holds a reference on the host meanwhile. */
struct rs_h1_pool_host {
    struct rs_h1_pool *pool;
    struct rs_host *host;
    struct rs_h1_pool_host *hash_next;
    struct rs_h1_pool_host *dirty_next; /* in pool->dirty while `dirty` */
    bool dirty;
    struct rs_pc_list idle; /* head = most recently released */
    uint32_t n_conns;       /* every state but freed: counts against max_conns_per_host */
    struct rs_pc_list connecting;
    uint32_t n_in_use;
    struct rs_h1_pool_req_list pending;
};

struct rs_h1_pool_stats {
    struct rs_cluster_stats cluster;
    rs_stat_id idle_timeout;
};

struct rs_h1_pool {
    struct rs_loop *loop;
    struct rs_stats_shard *shard; /* NULL: no stats */
    bool have_stats;
    struct rs_h1_pool_stats stats;
    uint64_t connect_timeout_ms, idle_timeout_ms;
    size_t buffer_limit;
    uint32_t max_conns_per_host;

    /* Host entries by rs_host pointer: chained hash, power-of-two buckets. */
    struct rs_h1_pool_host **buckets;
    size_t n_buckets, n_hosts;

    /* One deferred call serves everything the pool owes the loop: failed acquisitions' answers
     * and host dispatch (matching waiting requests with connections). Deferring the dispatch,
     * rather than answering inside acquire or release, means on_ready never runs under its
     * caller, and by the time it runs every completion of the turn (a server FIN on an idle
     * connection) has been seen. */
    struct rs_deferred deferred;
    struct rs_h1_pool_req_list failed; /* answers owed with an error */
    struct rs_h1_pool_host *dirty_head, *dirty_tail;

    uint32_t n_conns; /* all hosts, until on_closed */
    bool draining, freed;
    bool in_deferred; /* the deferred call is running: do not free under it */
};

/* pool.c */
void rs_h1_pool_mark_dirty(struct rs_h1_pool_host *h);
void rs_h1_pool_maybe_release_host(struct rs_h1_pool_host *h);
void rs_h1_pool_maybe_finish(struct rs_h1_pool *pool);
/* Moves every waiting request of h to the failed queue (answered from the deferred call). */
void rs_h1_pool_fail_pending(struct rs_h1_pool_host *h, int err);
void rs_h1_pool_conn_ready(struct rs_pooled_conn *pc);

/* pooled_conn.c */
struct rs_pooled_conn *rs_pc_connect(struct rs_h1_pool_host *h, int *err);
void rs_pc_set_state(struct rs_pooled_conn *pc, enum rs_pc_state state);
void rs_pc_lend(struct rs_pooled_conn *pc, const struct rs_pooled_conn_callbacks *cb, void *user);
void rs_pc_make_idle(struct rs_pooled_conn *pc);
/* Closes and counts it (remote: the server ended it). */
void rs_pc_close(struct rs_pooled_conn *pc, bool remote);
void rs_pc_list_push_front(struct rs_pc_list *l, struct rs_pooled_conn *pc);
void rs_pc_list_remove(struct rs_pc_list *l, struct rs_pooled_conn *pc);

/* Stats helpers: a pool without a shard counts nothing. */
static inline void rs_h1_pool_inc(struct rs_h1_pool *p, rs_stat_id id)
{
    if (p->have_stats)
        rs_stats_inc(p->shard, id);
}
static inline void rs_h1_pool_add(struct rs_h1_pool *p, rs_stat_id id, uint64_t n)
{
    if (p->have_stats)
        rs_stats_add(p->shard, id, n);
}
static inline void rs_h1_pool_gauge(struct rs_h1_pool *p, rs_stat_id id, int64_t d)
{
    if (p->have_stats)
        rs_stats_gauge_add(p->shard, id, d);
}
static inline void rs_h1_pool_hist(struct rs_h1_pool *p, rs_stat_id id, uint64_t v)
{
    if (p->have_stats)
        rs_stats_histogram_record(p->shard, id, v);
}

#endif
