/* Shared by the pool tests: the test plays the server with raw accept()ed loopback sockets and runs
 * the loop on its own thread. Header-only (static inline), so each test links what it uses. */
#ifndef RS_HTTP_POOL_TEST_UTIL_H
#define RS_HTTP_POOL_TEST_UTIL_H

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

static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n++;
    closedir(d);
    return n;
}

static inline void u_on_data(struct rs_pooled_conn *pc, void *user, uint16_t bid, uint32_t len)
{
    (void)pc;
    struct user *u = user;
    size_t n = len < sizeof u->rx - u->rx_len ? len : sizeof u->rx - u->rx_len;
    memcpy(u->rx + u->rx_len, rs_loop_buf(u->loop, bid), n);
    u->rx_len += n;
    rs_loop_buf_release(u->loop, bid);
}
static inline void u_on_eof(struct rs_pooled_conn *pc, void *user)
{
    (void)pc;
    ((struct user *)user)->eofs++;
}
static inline void u_on_error(struct rs_pooled_conn *pc, void *user, int res)
{
    (void)pc;
    (void)res;
    ((struct user *)user)->errors++;
}
static const struct rs_pooled_conn_callbacks ucb = {u_on_data, u_on_eof, u_on_error, NULL};

static inline void u_on_ready(struct rs_h1_pool_request *req, struct rs_pooled_conn *pc, int err)
{
    struct user *u = (struct user *)((char *)req - offsetof(struct user, req));
    u->calls++;
    u->pc = pc;
    u->err = err;
}

static inline void user_init(struct user *u, struct env *e)
{
    memset(u, 0, sizeof *u);
    u->loop = e->loop;
    u->req.on_ready = u_on_ready;
    u->req.cb = &ucb;
    u->req.user = u;
}

static inline int listener(int backlog, struct sockaddr_in *addr)
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

static inline int setup(void **state)
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

static inline int teardown(void **state)
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

static inline struct rs_h1_pool *pool_with(struct env *e, uint64_t idle_ms, uint32_t max_per_host,
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

static inline void turns(struct env *e, int n)
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

static inline int accept_one(struct env *e)
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

static inline bool nothing_to_accept(struct env *e)
{
    int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd < 0;
}

static inline uint16_t local_port(const struct rs_pooled_conn *pc)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(rs_pooled_conn_conn(pc)->fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

static inline uint64_t counter(struct env *e, const char *stat)
{
    char name[128];
    snprintf(name, sizeof name, "cluster.c.%s", stat);
    rs_stat_id id = rs_stats_find(e->store, name, NULL);
    assert_int_not_equal(id, RS_STAT_INVALID);
    return rs_stats_counter_value(e->store, id);
}

/* One request/response exchange over pc, the test answering as the server on sfd. */
static inline void exchange(struct env *e, struct user *u, int sfd)
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

static inline void free_pool(struct env *e, struct rs_h1_pool *p)
{
    rs_h1_pool_free(p);
    turns(e, 10);
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

static inline bool hole_open(struct hole *h)
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

static inline void hole_close(struct hole *h)
{
    for (int i = 0; i < h->n_fill; i++)
        close(h->fillers[i]);
    int fd;
    while ((fd = accept4(h->lfd, NULL, NULL, 0)) >= 0)
        close(fd);
    close(h->lfd);
}

#endif
