/* The pool against real loopback sockets: the test plays the server with raw accept()ed sockets
 * and runs the loop on its own thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/http/pool/pool.h"

struct env {
    struct rs_loop *loop;
    struct rs_stats_store *store;
    struct rs_stats_shard *shard;
    struct rs_cluster_stats cs;
    struct rs_host *host;
    int lfd;
    int fds_before;
};

struct user {
    struct rs_h1_pool_request req;
    struct rs_loop *loop;
    struct rs_pooled_conn *pc;
    int calls, err, eofs, errors;
    char rx[256];
    size_t rx_len;
};

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n++;
    closedir(d);
    return n;
}

static void u_on_data(struct rs_pooled_conn *pc, void *user, uint16_t bid, uint32_t len)
{
    (void)pc;
    struct user *u = user;
    size_t n = len < sizeof u->rx - u->rx_len ? len : sizeof u->rx - u->rx_len;
    memcpy(u->rx + u->rx_len, rs_loop_buf(u->loop, bid), n);
    u->rx_len += n;
    rs_loop_buf_release(u->loop, bid);
}
static void u_on_eof(struct rs_pooled_conn *pc, void *user)
{
    (void)pc;
    ((struct user *)user)->eofs++;
}
static void u_on_error(struct rs_pooled_conn *pc, void *user, int res)
{
    (void)pc;
    (void)res;
    ((struct user *)user)->errors++;
}
static const struct rs_pooled_conn_callbacks ucb = {u_on_data, u_on_eof, u_on_error, NULL};

static void u_on_ready(struct rs_h1_pool_request *req, struct rs_pooled_conn *pc, int err)
{
    struct user *u = (struct user *)((char *)req - offsetof(struct user, req));
    u->calls++;
    u->pc = pc;
    u->err = err;
}

static void user_init(struct user *u, struct env *e)
{
    memset(u, 0, sizeof *u);
    u->loop = e->loop;
    u->req.on_ready = u_on_ready;
    u->req.cb = &ucb;
    u->req.user = u;
}

static int listener(int backlog, struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    socklen_t len = sizeof *addr;
    getsockname(fd, (struct sockaddr *)addr, &len);
    assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    e->fds_before = count_fds();
    char err[128];
    struct rs_loop_options opt = {.buf_count = 64, .buf_size = 4096, .name = "t"};
    e->loop = rs_loop_new(&opt, err, sizeof err);
    assert_non_null(e->loop);
    e->store = rs_stats_store_new();
    e->shard = rs_stats_shard_new(e->store);
    assert_true(rs_cluster_stats_register(e->store, "c", &e->cs));
    struct sockaddr_in addr;
    e->lfd = listener(16, &addr);
    e->host = rs_host_new((struct sockaddr *)&addr, sizeof addr, NULL, 1, NULL);
    assert_non_null(e->host);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    rs_host_unref(e->host);
    close(e->lfd);
    rs_loop_free(e->loop);
    rs_stats_store_free(e->store);
    /* Every socket the pool made is closed once the pool is gone. */
    assert_int_equal(count_fds(), e->fds_before);
    free(e);
    return 0;
}

static struct rs_h1_pool *pool_with(struct env *e, uint64_t idle_ms, uint32_t max_per_host,
                                    uint64_t connect_ms)
{
    struct rs_h1_pool_options o = {.cluster_name = "c",
                                   .cluster_stats = &e->cs,
                                   .connect_timeout_ms = connect_ms,
                                   .idle_timeout_ms = idle_ms,
                                   .max_conns_per_host = max_per_host};
    struct rs_h1_pool *p = rs_h1_pool_new(e->loop, e->shard, &o);
    assert_non_null(p);
    return p;
}

static void turns(struct env *e, int n)
{
    for (int i = 0; i < n; i++)
        rs_loop_run_once(e->loop, 5);
}

#define RUN_UNTIL(e, cond)                                                                         \
    do {                                                                                           \
        for (int i_ = 0; i_ < 400 && !(cond); i_++)                                                \
            rs_loop_run_once((e)->loop, 5);                                                        \
        assert_true(cond);                                                                         \
    } while (0)

static int accept_one(struct env *e)
{
    int fd = -1;
    for (int i = 0; i < 400 && fd < 0; i++) {
        fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            rs_loop_run_once(e->loop, 5);
    }
    assert_true(fd >= 0);
    return fd;
}

static bool nothing_to_accept(struct env *e)
{
    int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd < 0;
}

static uint16_t local_port(const struct rs_pooled_conn *pc)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(rs_pooled_conn_conn(pc)->fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

static uint64_t counter(struct env *e, const char *stat)
{
    char name[128];
    snprintf(name, sizeof name, "cluster.c.%s", stat);
    rs_stat_id id = rs_stats_find(e->store, name, NULL);
    assert_int_not_equal(id, RS_STAT_INVALID);
    return rs_stats_counter_value(e->store, id);
}

/* One request/response exchange over pc, the test answering as the server on sfd. */
static void exchange(struct env *e, struct user *u, int sfd)
{
    struct rs_buffer b;
    rs_buffer_init(&b, e->loop);
    const char req[] = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    rs_buffer_add_copy(&b, req, sizeof req - 1);
    rs_pooled_conn_send(u->pc, &b);
    rs_buffer_clear(&b); /* the bytes moved; this frees the emptied slice array */
    char got[128];
    ssize_t n = -1;
    for (int i = 0; i < 400 && n <= 0; i++) {
        rs_loop_run_once(e->loop, 5);
        n = recv(sfd, got, sizeof got, MSG_DONTWAIT);
    }
    assert_int_equal(n, (ssize_t)sizeof req - 1);
    const char resp[] = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    u->rx_len = 0;
    assert_int_equal(send(sfd, resp, sizeof resp - 1, 0), (ssize_t)sizeof resp - 1);
    RUN_UNTIL(e, u->rx_len == sizeof resp - 1);
}

static void free_pool(struct env *e, struct rs_h1_pool *p)
{
    rs_h1_pool_free(p);
    turns(e, 10);
}

static void reuses_released_connection(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    assert_int_equal(u.calls, 0); /* never answered from inside acquire */
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    assert_int_equal(u.err, 0);
    assert_false(rs_pooled_conn_reused(u.pc));
    assert_ptr_equal(rs_pooled_conn_host(u.pc), e->host);
    exchange(e, &u, sfd);
    int fd1 = rs_pooled_conn_conn(u.pc)->fd;
    uint16_t port1 = local_port(u.pc);
    rs_h1_pool_release(p, u.pc, true);

    struct user v;
    user_init(&v, e);
    rs_h1_pool_acquire(p, e->host, &v.req);
    assert_int_equal(v.calls, 0);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_int_equal(rs_pooled_conn_conn(v.pc)->fd, fd1);
    assert_int_equal(local_port(v.pc), port1);
    assert_true(rs_pooled_conn_reused(v.pc));
    assert_true(nothing_to_accept(e));
    exchange(e, &v, sfd); /* the same server socket answers */
    rs_h1_pool_release(p, v.pc, true);

    assert_int_equal(counter(e, "upstream_cx_total"), 1);
    assert_int_equal(atomic_load(&e->host->stats.cx_total), 1);
    assert_int_equal(atomic_load(&e->host->stats.cx_active), 1);
    assert_int_equal(rs_stats_gauge_value(e->store, e->cs.upstream_cx_active), 1);
    free_pool(e, p);
    assert_int_equal(atomic_load(&e->host->stats.cx_active), 0);
    assert_int_equal(rs_stats_gauge_value(e->store, e->cs.upstream_cx_active), 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_local"), 1);
    struct rs_stats_histogram_summary hs;
    rs_stats_histogram_value(e->store, e->cs.upstream_cx_connect_ms, &hs);
    assert_int_equal(hs.count, 1);
    rs_stats_histogram_value(e->store, e->cs.upstream_cx_length_ms, &hs);
    assert_int_equal(hs.count, 1);
    assert_true(counter(e, "upstream_cx_tx_bytes_total") > 0);
    assert_true(counter(e, "upstream_cx_rx_bytes_total") > 0);
    /* The server sees our close. */
    char c;
    assert_int_equal(recv(sfd, &c, 1, 0), 0);
    close(sfd);
}

static void most_recently_used_first(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user a, b, c;
    user_init(&a, e);
    user_init(&b, e);
    user_init(&c, e);
    rs_h1_pool_acquire(p, e->host, &a.req);
    rs_h1_pool_acquire(p, e->host, &b.req);
    int s1 = accept_one(e), s2 = accept_one(e);
    RUN_UNTIL(e, a.calls == 1 && b.calls == 1);
    assert_ptr_not_equal(a.pc, b.pc);
    uint16_t port_b = local_port(b.pc);
    rs_h1_pool_release(p, a.pc, true);
    rs_h1_pool_release(p, b.pc, true);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 2);
    rs_h1_pool_acquire(p, e->host, &c.req);
    RUN_UNTIL(e, c.calls == 1);
    assert_int_equal(local_port(c.pc), port_b);
    rs_h1_pool_release(p, c.pc, false);
    assert_int_equal(counter(e, "upstream_cx_total"), 2);
    free_pool(e, p);
    close(s1);
    close(s2);
}

static void server_closed_idle_is_dropped(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u, v;
    user_init(&u, e);
    user_init(&v, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    uint16_t port1 = local_port(u.pc);
    rs_h1_pool_release(p, u.pc, true);
    close(sfd); /* the server ends the idle connection */
    struct rs_h1_pool_counts n;
    for (int i = 0; i < 200; i++) {
        rs_h1_pool_counts(p, &n);
        if (n.idle == 0)
            break;
        rs_loop_run_once(e->loop, 5);
    }
    assert_int_equal(n.idle, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_remote"), 1);
    /* The next acquisition gets a new connection, not the dead one. */
    rs_h1_pool_acquire(p, e->host, &v.req);
    int s2 = accept_one(e);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_int_not_equal(local_port(v.pc), port1);
    assert_false(rs_pooled_conn_reused(v.pc));
    rs_h1_pool_release(p, v.pc, true);
    /* Stray bytes on an idle connection end it too (nothing could frame them). */
    assert_int_equal(send(s2, "x", 1, 0), 1);
    for (int i = 0; i < 200; i++) {
        rs_h1_pool_counts(p, &n);
        if (n.idle == 0)
            break;
        rs_loop_run_once(e->loop, 5);
    }
    assert_int_equal(n.idle, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_local"), 1);
    free_pool(e, p);
    close(s2);
}

/* The server's FIN is in the socket but the loop has not reaped it yet when the next dispatch
 * runs (dispatch comes first in a turn): the connection must still not be handed out. */
static void server_close_racing_reuse_is_caught(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u, v;
    user_init(&u, e);
    user_init(&v, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    exchange(e, &u, sfd);
    uint16_t port1 = local_port(u.pc);
    rs_h1_pool_release(p, u.pc, true);
    close(sfd);
    rs_h1_pool_acquire(p, e->host, &v.req); /* no loop turn between the close and this */
    int s2 = accept_one(e);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_int_not_equal(local_port(v.pc), port1);
    assert_false(rs_pooled_conn_reused(v.pc));
    assert_int_equal(v.eofs, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_remote"), 1);
    rs_h1_pool_release(p, v.pc, true);
    free_pool(e, p);
    close(s2);
}

static void idle_timeout_closes(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 60, 0, 1000);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    rs_h1_pool_release(p, u.pc, true);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 1);
    struct pollfd pfd = {.fd = sfd, .events = POLLIN};
    int closed = 0;
    for (int i = 0; i < 200 && !closed; i++) {
        rs_loop_run_once(e->loop, 5);
        closed = poll(&pfd, 1, 0) == 1;
    }
    assert_true(closed);
    char c;
    assert_int_equal(recv(sfd, &c, 1, 0), 0); /* a FIN, not data */
    assert_int_equal(counter(e, "upstream_cx_idle_timeout"), 1);
    assert_int_equal(counter(e, "upstream_cx_destroy_local"), 1);
    free_pool(e, p);
    close(sfd);
}

static void connect_refused(void **state)
{
    struct env *e = *state;
    struct sockaddr_in addr;
    int fd = listener(1, &addr);
    close(fd); /* nothing listens on this port any more */
    struct rs_host *dead = rs_host_new((struct sockaddr *)&addr, sizeof addr, NULL, 1, NULL);
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, dead, &u.req);
    RUN_UNTIL(e, u.calls == 1);
    assert_int_equal(u.err, -ECONNREFUSED);
    assert_null(u.pc);
    assert_int_equal(counter(e, "upstream_cx_connect_fail"), 1);
    assert_int_equal(counter(e, "upstream_cx_connect_timeout"), 0);
    assert_int_equal(atomic_load(&dead->stats.cx_connect_fail), 1);
    free_pool(e, p);
    assert_int_equal(atomic_load(&dead->refs), 1); /* the pool let go of the host */
    rs_host_unref(dead);
}

/* A caller that acquires again from its failure callback (a retry) is answered on a later turn,
 * never in a loop inside the first answer; freeing the pool from a callback is allowed. */
struct retrier {
    struct user u;
    struct rs_h1_pool *pool;
    struct rs_host *host;
    int max_tries;
    bool free_on_last;
};

static void retry_on_ready(struct rs_h1_pool_request *req, struct rs_pooled_conn *pc, int err)
{
    struct retrier *r = (struct retrier *)((char *)req - offsetof(struct retrier, u.req));
    u_on_ready(req, pc, err);
    if (r->u.calls < r->max_tries)
        rs_h1_pool_acquire(r->pool, r->host, req);
    else if (r->free_on_last)
        rs_h1_pool_free(r->pool);
}

static void acquire_again_from_callback(void **state)
{
    struct env *e = *state;
    struct sockaddr_in addr;
    close(listener(1, &addr));
    struct rs_host *dead = rs_host_new((struct sockaddr *)&addr, sizeof addr, NULL, 1, NULL);
    struct retrier r = {.max_tries = 3, .free_on_last = true, .host = dead};
    user_init(&r.u, e);
    r.u.req.on_ready = retry_on_ready;
    r.pool = pool_with(e, 0, 0, 1000);
    rs_h1_pool_acquire(r.pool, dead, &r.u.req);
    int last = 0;
    for (int i = 0; i < 100 && r.u.calls < 3; i++) {
        rs_loop_run_once(e->loop, 5);
        assert_true(r.u.calls - last <= 1); /* one answer per turn at most */
        last = r.u.calls;
    }
    assert_int_equal(r.u.calls, 3);
    assert_int_equal(r.u.err, -ECONNREFUSED);
    turns(e, 10); /* the pool freed itself from the last callback */
    assert_int_equal(r.u.calls, 3);
    assert_int_equal(counter(e, "upstream_cx_connect_fail"), 3);
    assert_int_equal(atomic_load(&dead->refs), 1);
    rs_host_unref(dead);
}

/* A black hole on loopback without root: a listener nobody accepts from, its queue filled,
 * drops further SYNs, so a connect neither succeeds nor fails (until the queue has room and the
 * SYN is retransmitted, about a second later). Returns the listener, or -1 if the kernel accepted
 * everything (then the caller skips). */
struct hole {
    int lfd;
    int fillers[8];
    int n_fill;
    struct sockaddr_in addr;
};

static bool hole_open(struct hole *h)
{
    h->lfd = listener(0, &h->addr);
    h->n_fill = 0;
    while (h->n_fill < 8) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        h->fillers[h->n_fill++] = fd;
        if (connect(fd, (struct sockaddr *)&h->addr, sizeof h->addr) == 0)
            continue;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, 100) == 0)
            return true; /* this one hangs: the queue is full */
    }
    return false;
}

static void hole_close(struct hole *h)
{
    for (int i = 0; i < h->n_fill; i++)
        close(h->fillers[i]);
    int fd;
    while ((fd = accept4(h->lfd, NULL, NULL, 0)) >= 0)
        close(fd);
    close(h->lfd);
}

static void connect_timeout(void **state)
{
    struct env *e = *state;
    struct hole hole;
    if (!hole_open(&hole)) {
        hole_close(&hole);
        skip(); /* the kernel accepted everything: no black hole to test against */
    }
    struct rs_host *h = rs_host_new((struct sockaddr *)&hole.addr, sizeof hole.addr, NULL, 1, NULL);
    struct rs_h1_pool *p = pool_with(e, 0, 0, 100);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, h, &u.req);
    RUN_UNTIL(e, u.calls == 1);
    assert_int_equal(u.err, -ETIMEDOUT);
    assert_int_equal(counter(e, "upstream_cx_connect_timeout"), 1);
    assert_int_equal(counter(e, "upstream_cx_connect_fail"), 1);
    assert_int_equal(atomic_load(&h->stats.cx_connect_fail), 1);
    free_pool(e, p);
    rs_host_unref(h);
    hole_close(&hole);
}

static void cancel_before_ready_keeps_connection(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 5000);
    struct user u, v;
    user_init(&u, e);
    user_init(&v, e);
    /* Cancelled before the dispatch even ran: no connection at all. */
    rs_h1_pool_acquire(p, e->host, &v.req);
    rs_h1_pool_cancel(&v.req);
    turns(e, 5);
    assert_int_equal(v.calls, 0);
    assert_true(nothing_to_accept(e));
    assert_int_equal(counter(e, "upstream_cx_total"), 0);

    /* Cancelled while its connection is being made (a loopback connect completes within the turn
     * that submits it, so hold it in a full accept queue). */
    struct hole hole;
    if (!hole_open(&hole)) {
        hole_close(&hole);
        rs_h1_pool_free(p);
        turns(e, 5);
        skip();
    }
    struct rs_host *h = rs_host_new((struct sockaddr *)&hole.addr, sizeof hole.addr, NULL, 1, NULL);
    rs_h1_pool_acquire(p, h, &u.req);
    turns(e, 3);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.connecting, 1);
    rs_h1_pool_cancel(&u.req);
    /* Make room in the queue (keep accepting: the fillers' SYNs are retransmitted too) until our
     * retransmitted SYN gets through. The accepted sockets stay open: a close would end it. */
    int accepted[16], n_acc = 0;
    for (int i = 0; i < 1000; i++) {
        int a;
        while (n_acc < 16 && (a = accept4(hole.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
            accepted[n_acc++] = a;
        rs_h1_pool_counts(p, &n);
        if (n.idle == 1)
            break;
        rs_loop_run_once(e->loop, 5);
    }
    assert_int_equal(n.idle, 1); /* not wasted: it idles in the pool */
    assert_int_equal(u.calls, 0);
    rs_h1_pool_cancel(&u.req); /* harmless once done */
    /* And the idle one serves the next request. */
    rs_h1_pool_acquire(p, h, &v.req);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_true(rs_pooled_conn_reused(v.pc) == false); /* first use of that connection */
    rs_h1_pool_release(p, v.pc, true);
    assert_int_equal(counter(e, "upstream_cx_total"), 1);
    free_pool(e, p);
    rs_host_unref(h);
    hole_close(&hole);
    for (int i = 0; i < n_acc; i++)
        close(accepted[i]);
}

static void drain_closes_idle_and_released(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user a, b, c;
    user_init(&a, e);
    user_init(&b, e);
    user_init(&c, e);
    rs_h1_pool_acquire(p, e->host, &a.req);
    rs_h1_pool_acquire(p, e->host, &b.req);
    int s1 = accept_one(e), s2 = accept_one(e);
    RUN_UNTIL(e, a.calls == 1 && b.calls == 1);
    rs_h1_pool_release(p, a.pc, true);
    rs_h1_pool_drain(p);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 0);
    assert_int_equal(n.in_use, 1);
    rs_h1_pool_release(p, b.pc, true); /* reusable, but the pool is draining */
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 0);
    assert_int_equal(n.in_use, 0);
    rs_h1_pool_acquire(p, e->host, &c.req);
    assert_int_equal(c.calls, 0);
    RUN_UNTIL(e, c.calls == 1);
    assert_int_equal(c.err, -ESHUTDOWN);
    turns(e, 5);
    char ch;
    assert_int_equal(recv(s1, &ch, 1, MSG_DONTWAIT), 0);
    assert_int_equal(recv(s2, &ch, 1, MSG_DONTWAIT), 0);
    assert_int_equal(counter(e, "upstream_cx_destroy"), 2);
    free_pool(e, p);
    close(s1);
    close(s2);
}

static void max_conns_per_host_queues(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 1, 1000);
    struct user a, b;
    user_init(&a, e);
    user_init(&b, e);
    rs_h1_pool_acquire(p, e->host, &a.req);
    rs_h1_pool_acquire(p, e->host, &b.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, a.calls == 1);
    turns(e, 5);
    assert_int_equal(b.calls, 0); /* waits for the only connection */
    assert_true(nothing_to_accept(e));
    assert_true(counter(e, "upstream_cx_overflow") >= 1);
    exchange(e, &a, sfd);
    rs_h1_pool_release(p, a.pc, true);
    assert_int_equal(b.calls, 0);
    RUN_UNTIL(e, b.calls == 1);
    assert_int_equal(b.err, 0);
    assert_true(rs_pooled_conn_reused(b.pc));
    /* A server close seen by the user: not reusable whatever the caller says. */
    close(sfd);
    RUN_UNTIL(e, b.eofs == 1 || b.errors == 1);
    rs_h1_pool_release(p, b.pc, true);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_remote"), 1);
    free_pool(e, p);
}

static void free_with_pending_and_lent(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user a, b;
    user_init(&a, e);
    user_init(&b, e);
    rs_h1_pool_acquire(p, e->host, &a.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, a.calls == 1);
    struct hole hole;
    bool have_hole = hole_open(&hole);
    struct rs_host *h = NULL;
    struct user c;
    user_init(&c, e);
    if (have_hole) {
        h = rs_host_new((struct sockaddr *)&hole.addr, sizeof hole.addr, NULL, 1, NULL);
        rs_h1_pool_acquire(p, h, &c.req);
        turns(e, 3);
        struct rs_h1_pool_counts n;
        rs_h1_pool_counts(p, &n);
        assert_int_equal(n.connecting, 1); /* abandoned by free */
    }
    rs_h1_pool_acquire(p, e->host, &b.req); /* not dispatched yet */
    rs_h1_pool_free(p);
    turns(e, 10);
    assert_int_equal(b.calls, 0); /* dropped silently */
    assert_int_equal(c.calls, 0);
    if (h) {
        assert_int_equal(atomic_load(&h->refs), 1);
        assert_int_equal(atomic_load(&h->stats.cx_active), 0);
        rs_host_unref(h);
    }
    hole_close(&hole);
    /* The lent connection still works, and closes on release. */
    exchange(e, &a, sfd);
    rs_h1_pool_release(p, a.pc, true);
    turns(e, 10);
    char ch;
    assert_int_equal(recv(sfd, &ch, 1, MSG_DONTWAIT), 0);
    close(sfd);
    int extra;
    while ((extra = accept4(e->lfd, NULL, NULL, 0)) >= 0)
        close(extra);
    assert_int_equal(atomic_load(&e->host->refs), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reuses_released_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(most_recently_used_first, setup, teardown),
        cmocka_unit_test_setup_teardown(server_closed_idle_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(server_close_racing_reuse_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_timeout_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(acquire_again_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_before_ready_keeps_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(drain_closes_idle_and_released, setup, teardown),
        cmocka_unit_test_setup_teardown(max_conns_per_host_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(free_with_pending_and_lent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
