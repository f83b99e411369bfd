/* A pooled connection: the pool owns the rs_conn and receives all of its events; it forwards them
 * to the current user while the connection is lent, and treats any event on an idle connection
 * as the end of that connection. */
#include <errno.h>
#include <stdlib.h>

#include "proxy/http/pool/pool_internal.h"

#define PC_OF(ptr, member)                                                                         \
    ((struct rs_pooled_conn *)((char *)(ptr)-offsetof(struct rs_pooled_conn, member)))

/* ---- idle list ---- */

void rs_pc_list_push_front(struct rs_pc_list *l, struct rs_pooled_conn *pc)
{
    pc->prev = NULL;
    pc->next = l->head;
    if (l->head)
        l->head->prev = pc;
    else
        l->tail = pc;
    l->head = pc;
    l->n++;
}

void rs_pc_list_remove(struct rs_pc_list *l, struct rs_pooled_conn *pc)
{
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        l->head = pc->next;
    if (pc->next)
        pc->next->prev = pc->prev;
    else
        l->tail = pc->prev;
    pc->next = pc->prev = NULL;
    l->n--;
}

/* Keeps the host's per-state counts and the idle list in step with pc->state: the only place
 * that changes a state. */
void rs_pc_set_state(struct rs_pooled_conn *pc, enum rs_pc_state state)
{
    struct rs_h1_pool_host *h = pc->host;
    switch (pc->state) {
    case RS_PC_CONNECTING:
        rs_pc_list_remove(&h->connecting, pc);
        break;
    case RS_PC_IDLE:
        rs_pc_list_remove(&h->idle, pc);
        rs_timer_cancel(h->pool->loop, &pc->idle_timer);
        break;
    case RS_PC_IN_USE:
        h->n_in_use--;
        pc->cb = NULL;
        pc->user = NULL;
        break;
    case RS_PC_CLOSING:
        abort(); /* never leaves CLOSING */
    }
    pc->state = state;
    switch (state) {
    case RS_PC_CONNECTING:
        rs_pc_list_push_front(&h->connecting, pc);
        break;
    case RS_PC_IDLE:
        rs_pc_list_push_front(&h->idle, pc); /* most recently used first */
        if (h->pool->idle_timeout_ms)
            rs_timer_arm(h->pool->loop, &pc->idle_timer, h->pool->idle_timeout_ms);
        break;
    case RS_PC_IN_USE:
        h->n_in_use++;
        break;
    case RS_PC_CLOSING:
        break;
    }
}

/* ---- events from rs_conn ---- */

static void pc_on_data(struct rs_conn *c, void *owner, uint16_t bid, uint32_t len)
{
    struct rs_pooled_conn *pc = owner;
    if (pc->state == RS_PC_IN_USE && pc->cb && pc->cb->on_data) {
        pc->cb->on_data(pc, pc->user, bid, len);
        return;
    }
    rs_loop_buf_release(c->loop, bid);
    /* Bytes nobody asked for (a late or unsolicited response): whatever comes next on this
     * connection cannot be framed, so it must never carry another request. */
    if (pc->state == RS_PC_IDLE || pc->state == RS_PC_CONNECTING)
        rs_pc_close(pc, false);
}

static void pc_on_eof(struct rs_conn *c, void *owner)
{
    (void)c;
    struct rs_pooled_conn *pc = owner;
    if (pc->state == RS_PC_IN_USE) {
        if (pc->cb && pc->cb->on_eof)
            pc->cb->on_eof(pc, pc->user);
        return;
    }
    rs_pc_close(pc, true); /* the server is closing an idle connection */
}

static void pc_on_error(struct rs_conn *c, void *owner, int res)
{
    (void)c;
    struct rs_pooled_conn *pc = owner;
    if (pc->state == RS_PC_IN_USE) {
        if (pc->cb && pc->cb->on_error)
            pc->cb->on_error(pc, pc->user, res);
        return;
    }
    rs_pc_close(pc, true);
}

static void pc_on_connected(struct rs_conn *c, void *owner, int res)
{
    (void)c;
    struct rs_pooled_conn *pc = owner;
    struct rs_h1_pool_host *h = pc->host;
    struct rs_h1_pool *pool = h->pool;
    if (pc->state != RS_PC_CONNECTING)
        return;
    if (res == 0) {
        rs_h1_pool_hist(pool, pool->stats.cluster.upstream_cx_connect_ms,
                        rs_loop_now_ms(pool->loop) - pc->created_ms);
        rs_h1_pool_conn_ready(pc);
        return;
    }
    /* Envoy counts a timeout as both connect_timeout and connect_fail. */
    rs_h1_pool_inc(pool, pool->stats.cluster.upstream_cx_connect_fail);
    rs_host_stat_inc(&h->host->stats.cx_connect_fail);
    if (res == -ETIMEDOUT)
        rs_h1_pool_inc(pool, pool->stats.cluster.upstream_cx_connect_timeout);
    rs_pc_close(pc, res != -ETIMEDOUT);
    /* As Envoy: a failed connect fails the host's waiting requests, so that a dead host cannot
     * hold them until their own timeouts; the router decides whether to retry elsewhere. */
    rs_h1_pool_fail_pending(h, res);
}

static void pc_on_send_drained(struct rs_conn *c, void *owner)
{
    (void)c;
    struct rs_pooled_conn *pc = owner;
    if (pc->state == RS_PC_IN_USE && pc->cb && pc->cb->on_send_drained)
        pc->cb->on_send_drained(pc, pc->user);
}

static void pc_on_closed(struct rs_conn *c, void *owner)
{
    struct rs_pooled_conn *pc = owner;
    struct rs_h1_pool_host *h = pc->host;
    struct rs_h1_pool *pool = h->pool;
    const struct rs_cluster_stats *s = &pool->stats.cluster;
    rs_h1_pool_gauge(pool, s->upstream_cx_active, -1);
    rs_host_stat_gauge_add(&h->host->stats.cx_active, -1);
    rs_h1_pool_hist(pool, s->upstream_cx_length_ms, rs_loop_now_ms(pool->loop) - pc->created_ms);
    /* Byte totals are added once per connection: cheaper than per read, and exact at close. */
    rs_h1_pool_add(pool, s->upstream_cx_rx_bytes_total, c->rx_bytes);
    rs_h1_pool_add(pool, s->upstream_cx_tx_bytes_total, c->tx_bytes);
    h->n_conns--;
    pool->n_conns--;
    free(pc);
    if (h->pending.n > 0)
        rs_h1_pool_mark_dirty(h); /* a slot under max_conns_per_host came free */
    rs_h1_pool_maybe_release_host(h);
    rs_h1_pool_maybe_finish(pool);
}

static const struct rs_conn_callbacks pc_callbacks = {
    .on_data = pc_on_data,
    .on_eof = pc_on_eof,
    .on_error = pc_on_error,
    .on_connected = pc_on_connected,
    .on_send_drained = pc_on_send_drained,
    .on_closed = pc_on_closed,
};

static void pc_idle_timeout(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct rs_pooled_conn *pc = PC_OF(t, idle_timer);
    struct rs_h1_pool *pool = pc->host->pool;
    rs_h1_pool_inc(pool, pool->stats.idle_timeout);
    rs_pc_close(pc, false);
}

/* ---- lifecycle ---- */

struct rs_pooled_conn *rs_pc_connect(struct rs_h1_pool_host *h, int *err)
{
    struct rs_h1_pool *pool = h->pool;
    struct rs_pooled_conn *pc = calloc(1, sizeof *pc);
    if (pc == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    rs_conn_init(&pc->conn, pool->loop, -1, pool->buffer_limit, &pc_callbacks, pc);
    rs_timer_init(&pc->idle_timer, pc_idle_timeout);
    pc->host = h;
    pc->created_ms = rs_loop_now_ms(pool->loop);
    int rc = rs_conn_connect(&pc->conn, (const struct sockaddr *)&h->host->addr, h->host->addr_len,
                             pool->connect_timeout_ms);
    if (rc < 0) {
        /* No socket (EMFILE...): nothing in flight, nothing to close. */
        free(pc);
        rs_h1_pool_inc(pool, pool->stats.cluster.upstream_cx_connect_fail);
        rs_host_stat_inc(&h->host->stats.cx_connect_fail);
        *err = rc;
        return NULL;
    }
    pc->state = RS_PC_CONNECTING;
    rs_pc_list_push_front(&h->connecting, pc);
    h->n_conns++;
    pool->n_conns++;
    rs_h1_pool_inc(pool, pool->stats.cluster.upstream_cx_total);
    rs_h1_pool_gauge(pool, pool->stats.cluster.upstream_cx_active, 1);
    rs_host_stat_inc(&h->host->stats.cx_total);
    rs_host_stat_gauge_add(&h->host->stats.cx_active, 1);
    return pc;
}

void rs_pc_lend(struct rs_pooled_conn *pc, const struct rs_pooled_conn_callbacks *cb, void *user)
{
    rs_pc_set_state(pc, RS_PC_IN_USE);
    pc->cb = cb;
    pc->user = user;
    pc->uses++;
    rs_conn_read_start(&pc->conn); /* the response (or the server's close) must be seen */
}

void rs_pc_make_idle(struct rs_pooled_conn *pc)
{
    rs_pc_set_state(pc, RS_PC_IDLE);
    /* Keep a receive armed while idle: a FIN, a reset or stray bytes end the connection at once
     * instead of surfacing under the next request. It holds no buffer until something arrives. */
    rs_conn_read_start(&pc->conn);
}

void rs_pc_close(struct rs_pooled_conn *pc, bool remote)
{
    if (pc->state == RS_PC_CLOSING)
        return;
    struct rs_h1_pool *pool = pc->host->pool;
    rs_pc_set_state(pc, RS_PC_CLOSING);
    rs_h1_pool_inc(pool, pool->stats.cluster.upstream_cx_destroy);
    rs_h1_pool_inc(pool, remote ? pool->stats.cluster.upstream_cx_destroy_remote
                                : pool->stats.cluster.upstream_cx_destroy_local);
    rs_conn_close(&pc->conn, false);
}

/* ---- the user's side ---- */

void rs_pooled_conn_set_callbacks(struct rs_pooled_conn *pc,
                                  const struct rs_pooled_conn_callbacks *cb, void *user)
{
    pc->cb = cb;
    pc->user = user;
}

void rs_pooled_conn_send(struct rs_pooled_conn *pc, struct rs_buffer *data)
{
    rs_conn_send(&pc->conn, data);
}

void rs_pooled_conn_send_buf(struct rs_pooled_conn *pc, uint16_t bid, uint32_t off, uint32_t len)
{
    rs_conn_send_buf(&pc->conn, bid, off, len);
}

void rs_pooled_conn_read_start(struct rs_pooled_conn *pc)
{
    rs_conn_read_start(&pc->conn);
}

void rs_pooled_conn_read_pause(struct rs_pooled_conn *pc)
{
    rs_conn_read_pause(&pc->conn);
}

bool rs_pooled_conn_over_limit(const struct rs_pooled_conn *pc)
{
    return rs_conn_over_limit(&pc->conn);
}

const struct rs_conn *rs_pooled_conn_conn(const struct rs_pooled_conn *pc)
{
    return &pc->conn;
}

struct rs_host *rs_pooled_conn_host(const struct rs_pooled_conn *pc)
{
    return pc->host->host;
}

bool rs_pooled_conn_reused(const struct rs_pooled_conn *pc)
{
    return pc->uses > 1;
}
