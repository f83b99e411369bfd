/* The pool: per-host entries keyed by rs_host pointer, waiting requests, and the deferred
 * dispatch that matches requests with idle or new connections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/http/pool/pool_internal.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_BUFFER_LIMIT (1024u * 1024u)
#define INITIAL_BUCKETS 16u

/* ---- request queues ---- */

static void req_list_append(struct rs_h1_pool_req_list *l, struct rs_h1_pool_request *r)
{
    r->list_ = l;
    r->next_ = NULL;
    r->prev_ = l->tail;
    if (l->tail)
        l->tail->next_ = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void req_list_remove(struct rs_h1_pool_request *r)
{
    struct rs_h1_pool_req_list *l = r->list_;
    if (r->prev_)
        r->prev_->next_ = r->next_;
    else
        l->head = r->next_;
    if (r->next_)
        r->next_->prev_ = r->prev_;
    else
        l->tail = r->prev_;
    r->next_ = r->prev_ = NULL;
    r->list_ = NULL;
    l->n--;
}

static struct rs_h1_pool_request *req_list_pop(struct rs_h1_pool_req_list *l)
{
    struct rs_h1_pool_request *r = l->head;
    if (r)
        req_list_remove(r);
    return r;
}

/* ---- host table ---- */

static size_t bucket_of(const struct rs_h1_pool *pool, const struct rs_host *host)
{
    uint64_t x = (uint64_t)(uintptr_t)host;
    x ^= x >> 29;
    x *= 0x9e3779b97f4a7c15ull; /* hosts are heap pointers: mix the low bits away */
    return (size_t)(x >> 32) & (pool->n_buckets - 1);
}

static void grow(struct rs_h1_pool *pool)
{
    size_t n = pool->n_buckets * 2;
    struct rs_h1_pool_host **b = calloc(n, sizeof *b);
    if (b == NULL)
        return; /* longer chains, still correct */
    struct rs_h1_pool_host **old = pool->buckets;
    size_t old_n = pool->n_buckets;
    pool->buckets = b;
    pool->n_buckets = n;
    for (size_t i = 0; i < old_n; i++) {
        while (old[i]) {
            struct rs_h1_pool_host *h = old[i];
            old[i] = h->hash_next;
            size_t j = bucket_of(pool, h->host);
            h->hash_next = b[j];
            b[j] = h;
        }
    }
    free(old);
}

static struct rs_h1_pool_host *host_get(struct rs_h1_pool *pool, struct rs_host *host)
{
    for (struct rs_h1_pool_host *h = pool->buckets[bucket_of(pool, host)]; h; h = h->hash_next)
        if (h->host == host)
            return h;
    struct rs_h1_pool_host *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    if (pool->n_hosts + 1 > pool->n_buckets)
        grow(pool);
    h->pool = pool;
    h->host = rs_host_ref(host);
    size_t i = bucket_of(pool, host);
    h->hash_next = pool->buckets[i];
    pool->buckets[i] = h;
    pool->n_hosts++;
    return h;
}

/* A host entry goes as soon as nothing refers to it, so the pool keeps no reference on hosts the
 * cluster has dropped. */
void rs_h1_pool_maybe_release_host(struct rs_h1_pool_host *h)
{
    if (h->n_conns > 0 || h->pending.n > 0 || h->dirty)
        return;
    struct rs_h1_pool *pool = h->pool;
    struct rs_h1_pool_host **p = &pool->buckets[bucket_of(pool, h->host)];
    while (*p != h)
        p = &(*p)->hash_next;
    *p = h->hash_next;
    pool->n_hosts--;
    rs_host_unref(h->host);
    free(h);
}

/* ---- dispatch ---- */

static void run_deferred(struct rs_loop *loop, struct rs_deferred *d);

void rs_h1_pool_mark_dirty(struct rs_h1_pool_host *h)
{
    struct rs_h1_pool *pool = h->pool;
    if (!h->dirty) {
        h->dirty = true;
        h->dirty_next = NULL;
        if (pool->dirty_tail)
            pool->dirty_tail->dirty_next = h;
        else
            pool->dirty_head = h;
        pool->dirty_tail = h;
    }
    rs_loop_defer(pool->loop, &pool->deferred);
}

void rs_h1_pool_fail_pending(struct rs_h1_pool_host *h, int err)
{
    struct rs_h1_pool *pool = h->pool;
    struct rs_h1_pool_request *r;
    while ((r = req_list_pop(&h->pending)) != NULL) {
        r->err_ = err;
        req_list_append(&pool->failed, r);
    }
    if (pool->failed.n > 0)
        rs_loop_defer(pool->loop, &pool->deferred);
}

static void lend(struct rs_pooled_conn *pc, struct rs_h1_pool_request *r)
{
    rs_pc_lend(pc, r->cb, r->user);
    r->on_ready(r, pc, 0);
}

/* A new connection is up: the oldest waiting request gets it, otherwise it idles. */
void rs_h1_pool_conn_ready(struct rs_pooled_conn *pc)
{
    struct rs_h1_pool_host *h = pc->host;
    struct rs_h1_pool_request *r = req_list_pop(&h->pending);
    if (r) {
        lend(pc, r);
    } else if (h->pool->draining) {
        rs_pc_close(pc, false);
    } else {
        rs_pc_make_idle(pc);
    }
}

/* The idle receive reports a server's FIN only once the loop reaps it, and the dispatch runs
 * before the turn's reaping: the FIN may already sit in the socket. One non-blocking peek per
 * reuse (a syscall, far cheaper than a failed request) closes that window, so no request is
 * written to a connection the server has already closed. It consumes nothing. */
static bool still_open(struct rs_pooled_conn *pc)
{
    char c;
    ssize_t n = recv(pc->conn.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void dispatch(struct rs_h1_pool_host *h)
{
    struct rs_h1_pool *pool = h->pool;
    /* Reuse first, most recently used first: it is the one most likely still open at the server
     * and lets the least used ones reach their idle timeout. */
    while (h->pending.n > 0 && h->idle.head) {
        struct rs_pooled_conn *pc = h->idle.head;
        if (!still_open(pc)) {
            rs_pc_close(pc, true);
            continue;
        }
        lend(pc, req_list_pop(&h->pending));
    }
    /* Requests not covered by a connection already being made get a new one. */
    while (h->pending.n > h->connecting.n) {
        if (pool->max_conns_per_host && h->n_conns >= pool->max_conns_per_host) {
            /* They wait for a release or a close (which marks the host dirty again). */
            rs_h1_pool_inc(pool, pool->stats.cluster.upstream_cx_overflow);
            break;
        }
        int err = 0;
        if (rs_pc_connect(h, &err) == NULL) {
            rs_h1_pool_fail_pending(h, err);
            break;
        }
    }
}

static void run_deferred(struct rs_loop *loop, struct rs_deferred *d)
{
    (void)loop;
    struct rs_h1_pool *pool =
        (struct rs_h1_pool *)((char *)d - offsetof(struct rs_h1_pool, deferred));
    pool->in_deferred = true;
    /* Answer failures from a private list: a callback that acquires again (and fails again) is
     * answered next time, not in an endless loop here; cancel still finds its request. */
    struct rs_h1_pool_req_list failing = {0};
    struct rs_h1_pool_request *r;
    while ((r = req_list_pop(&pool->failed)) != NULL)
        req_list_append(&failing, r);
    while ((r = req_list_pop(&failing)) != NULL) {
        if (!pool->freed) /* a callback freed the pool: the rest are dropped, as free promises */
            r->on_ready(r, NULL, r->err_);
    }
    /* Hosts marked during this loop are dispatched too; each dispatch is bounded by the idle
     * connections and requests present, so this ends. */
    while (pool->dirty_head) {
        struct rs_h1_pool_host *h = pool->dirty_head;
        pool->dirty_head = h->dirty_next;
        if (pool->dirty_head == NULL)
            pool->dirty_tail = NULL;
        h->dirty = false;
        h->dirty_next = NULL;
        if (!pool->freed)
            dispatch(h);
        rs_h1_pool_maybe_release_host(h);
    }
    pool->in_deferred = false;
    rs_h1_pool_maybe_finish(pool);
}

/* ---- public API ---- */

void rs_h1_pool_options_from_cluster(struct rs_h1_pool_options *opt, const struct rs_cluster *c)
{
    memset(opt, 0, sizeof *opt);
    opt->cluster_name = c->name;
    opt->cluster_stats = &c->stats;
    opt->connect_timeout_ms = c->connect_timeout_ms;
    opt->buffer_limit = c->per_connection_buffer_limit_bytes;
    opt->idle_timeout_ms = RS_H1_POOL_DEFAULT_IDLE_TIMEOUT_MS;
}

struct rs_h1_pool *rs_h1_pool_new(struct rs_loop *loop, struct rs_stats_shard *shard,
                                  const struct rs_h1_pool_options *opt)
{
    struct rs_h1_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return NULL;
    pool->buckets = calloc(INITIAL_BUCKETS, sizeof *pool->buckets);
    if (pool->buckets == NULL) {
        free(pool);
        return NULL;
    }
    pool->n_buckets = INITIAL_BUCKETS;
    pool->loop = loop;
    pool->shard = shard;
    pool->have_stats = shard != NULL;
    /* Every id RS_STAT_INVALID (all ones) unless given: writes then land in the store's sink. */
    memset(&pool->stats, 0xff, sizeof pool->stats);
    if (opt->cluster_stats)
        pool->stats.cluster = *opt->cluster_stats;
    if (shard && opt->cluster_name)
        pool->stats.idle_timeout = rs_stats_counterf(
            shard->store, "cluster.%s.upstream_cx_idle_timeout", opt->cluster_name);
    pool->connect_timeout_ms =
        opt->connect_timeout_ms ? opt->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    pool->buffer_limit = opt->buffer_limit ? opt->buffer_limit : DEFAULT_BUFFER_LIMIT;
    pool->idle_timeout_ms = opt->idle_timeout_ms;
    pool->max_conns_per_host = opt->max_conns_per_host;
    pool->deferred.cb = run_deferred;
    return pool;
}

void rs_h1_pool_acquire(struct rs_h1_pool *pool, struct rs_host *host,
                        struct rs_h1_pool_request *req)
{
    req->list_ = NULL;
    req->next_ = req->prev_ = NULL;
    req->err_ = 0;
    struct rs_h1_pool_host *h = NULL;
    if (pool->draining || pool->freed) {
        req->err_ = -ESHUTDOWN;
    } else if ((h = host_get(pool, host)) == NULL) {
        req->err_ = -ENOMEM;
    }
    if (req->err_) {
        req_list_append(&pool->failed, req);
        rs_loop_defer(pool->loop, &pool->deferred);
        return;
    }
    req_list_append(&h->pending, req);
    rs_h1_pool_mark_dirty(h);
}

void rs_h1_pool_cancel(struct rs_h1_pool_request *req)
{
    if (req->list_ == NULL)
        return;
    req_list_remove(req);
    /* The host entry may now be empty; it is released at the next dispatch or close (it may be
     * queued for dispatch right now, so not here). */
}

void rs_h1_pool_release(struct rs_h1_pool *pool, struct rs_pooled_conn *pc, bool reusable)
{
    if (pc->state != RS_PC_IN_USE)
        abort(); /* released twice, or never lent: a caller bug that would corrupt the pool */
    const struct rs_conn *c = &pc->conn;
    bool ok = reusable && !pool->draining && !c->read_eof && !c->closing && !c->shutdown_wanted &&
              rs_conn_queued(c) == 0;
    if (!ok) {
        /* A connection the server ended (EOF, reset) counts as a remote close. */
        rs_pc_close(pc, c->read_eof);
        return;
    }
    rs_pc_make_idle(pc);
    if (pc->host->pending.n > 0)
        rs_h1_pool_mark_dirty(pc->host);
}

/* Closing only unlinks connections from their lists; entries leave the table from on_closed
 * (deferred), so these walks stay valid. */
static void close_all(struct rs_h1_pool *pool, bool connecting_too)
{
    for (size_t i = 0; i < pool->n_buckets; i++) {
        for (struct rs_h1_pool_host *h = pool->buckets[i]; h; h = h->hash_next) {
            while (h->idle.head)
                rs_pc_close(h->idle.head, false);
            while (connecting_too && h->connecting.head)
                rs_pc_close(h->connecting.head, false);
        }
    }
}

void rs_h1_pool_drain(struct rs_h1_pool *pool)
{
    pool->draining = true;
    close_all(pool, false); /* connections being made are promised to earlier acquisitions */
}

void rs_h1_pool_free(struct rs_h1_pool *pool)
{
    pool->freed = true;
    pool->draining = true;
    /* Pending acquisitions are dropped without an answer: the owner of the pool is going away and
     * so, by contract, are its users. Connections being made are abandoned. */
    close_all(pool, true);
    struct rs_h1_pool_request *r;
    while ((r = req_list_pop(&pool->failed)) != NULL) {
    }
    for (size_t i = 0; i < pool->n_buckets; i++) {
        struct rs_h1_pool_host *h = pool->buckets[i];
        while (h) {
            struct rs_h1_pool_host *next = h->hash_next;
            while ((r = req_list_pop(&h->pending)) != NULL) {
            }
            rs_h1_pool_maybe_release_host(h);
            h = next;
        }
    }
    rs_h1_pool_maybe_finish(pool);
}

void rs_h1_pool_maybe_finish(struct rs_h1_pool *pool)
{
    if (!pool->freed || pool->n_conns > 0 || pool->in_deferred || pool->deferred.queued)
        return;
    /* Nothing refers to a host entry any more, so every entry is gone already. */
    free(pool->buckets);
    free(pool);
}

void rs_h1_pool_counts(const struct rs_h1_pool *pool, struct rs_h1_pool_counts *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < pool->n_buckets; i++) {
        for (const struct rs_h1_pool_host *h = pool->buckets[i]; h; h = h->hash_next) {
            out->idle += h->idle.n;
            out->in_use += h->n_in_use;
            out->connecting += h->connecting.n;
            out->pending += h->pending.n;
        }
    }
}
