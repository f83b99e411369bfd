/* The admin listener and its connections on the main thread's io_uring loop.
 *
 * Ownership: the admin owns its listening socket and every connection; a connection owns its
 * socket, its receive buffer (grown up to RS_ADMIN_MAX_REQUEST while a request arrives, shrunk
 * back afterwards) and the answer being sent. Each io_uring operation completes through an rs_io
 * embedded in its owner, and each owner counts its operations in flight: it is freed only at
 * zero, after its socket's close has completed.
 *
 * One request per connection at a time: no receive is posted while an answer is being sent, and
 * pipelined bytes wait in the buffer until it has gone. */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/admin/admin.h"
#include "proxy/admin/admin_stats.h"
#include "proxy/admin/request.h"
#include "proxy/admin/response.h"
#include "proxy/admin/router.h"
#include "proxy/core/log.h"
#include "proxy/core/loop.h"
#include "proxy/core/timer.h"

#define CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define INITIAL_BUFFER 4096u
#define ACCEPT_RETRY_MS 100u
/* After an answer that closes the connection, unread request bytes are drained for this long (or
 * up to LINGER_MAX_BYTES) before the close: closing with unread data makes the kernel reset the
 * connection, and the reset can destroy the answer (a 431 for instance) before the client reads
 * it. */
#define LINGER_MS 2000u
#define LINGER_MAX_BYTES (1u << 20)

struct conn {
    struct rs_admin *admin;
    struct conn *prev, *next;
    int fd;
    unsigned inflight; /* io_uring operations not yet completed */
    struct rs_io recv_io, send_io, shutdown_io, cancel_io, close_io;
    struct rs_timer idle; /* idle timeout, then the linger deadline */

    char *in; /* owned receive buffer */
    size_t in_len, in_cap;
    size_t consumed; /* bytes of `in` taken by the request being answered */
    uint64_t rq_start_ms;

    struct rs_strbuf out; /* owned: the answer being sent */
    size_t out_off;
    int out_status;

    bool closing, close_submitted;
    bool close_after_send;
    bool lingering; /* answer sent, write side shut: discarding input until EOF */
    size_t drained;
    bool quit_pending; /* /quitquitquit answered: call hooks.quit when the answer is done */
};

struct rs_admin {
    struct rs_loop *loop;
    int listen_fd;
    int port;
    unsigned inflight; /* the admin's own operations: accept, cancels and closes below */
    struct rs_io accept_io, cancel_io, listen_close_io, overflow_close_io;
    struct rs_timer accept_retry;
    bool accepting, stopping;

    struct rs_admin_hooks hooks;
    struct rs_admin_router router;
    struct rs_admin_stats stats;

    struct conn *conns;
    unsigned nconns;
    unsigned idle_timeout_ms;
};

static void arm_accept(struct rs_admin *a);
static void admin_maybe_free(struct rs_admin *a);
static void conn_process(struct conn *c);
static void conn_close(struct conn *c);

/* ---- connections ---- */

static void conn_post_recv(struct conn *c)
{
    struct io_uring_sqe *sqe = rs_loop_sqe(c->admin->loop, &c->recv_io);
    io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    c->inflight++;
}

static void conn_post_send(struct conn *c)
{
    struct io_uring_sqe *sqe = rs_loop_sqe(c->admin->loop, &c->send_io);
    io_uring_prep_send(sqe, c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    c->inflight++;
}

static void conn_call_quit(struct conn *c)
{
    if (!c->quit_pending)
        return;
    c->quit_pending = false;
    if (c->admin->hooks.quit != NULL)
        c->admin->hooks.quit(c->admin->hooks.ctx);
}

/* Frees the connection once nothing is in flight; before that, closes its socket (through the
 * ring, like every other operation on it). */
static void conn_maybe_free(struct conn *c)
{
    if (c->inflight > 0)
        return;
    struct rs_admin *a = c->admin;
    if (!c->close_submitted) {
        c->close_submitted = true;
        struct io_uring_sqe *sqe = rs_loop_sqe(a->loop, &c->close_io);
        io_uring_prep_close(sqe, c->fd);
        c->inflight++;
        return;
    }
    conn_call_quit(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    a->nconns--;
    rs_admin_stats_gauge(&a->stats, a->stats.cx_active, -1);
    rs_admin_stats_gauge(&a->stats, a->stats.listener_cx_active, -1);
    rs_admin_stats_inc(&a->stats, a->stats.cx_destroy);
    rs_strbuf_free(&c->out);
    free(c->in);
    free(c);
    admin_maybe_free(a);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    rs_timer_cancel(c->admin->loop, &c->idle);
    if (c->inflight > 0) {
        /* A receive waiting for a silent client, or a send to one that does not read. */
        struct io_uring_sqe *sqe = rs_loop_sqe(c->admin->loop, &c->cancel_io);
        io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
        c->inflight++;
    }
    conn_maybe_free(c);
}

static void on_shutdown(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct conn *c = CONTAINER_OF(io, struct conn, shutdown_io);
    c->inflight--;
    if (c->closing)
        conn_maybe_free(c);
}

static void on_cancel(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct conn *c = CONTAINER_OF(io, struct conn, cancel_io);
    c->inflight--;
    conn_maybe_free(c);
}

static void on_close(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct conn *c = CONTAINER_OF(io, struct conn, close_io);
    c->inflight--;
    conn_maybe_free(c);
}

static void on_idle(struct rs_loop *loop, struct rs_timer *timer)
{
    (void)loop;
    struct conn *c = CONTAINER_OF(timer, struct conn, idle);
    if (!c->lingering)
        rs_admin_stats_inc(&c->admin->stats, c->admin->stats.cx_idle_timeout);
    conn_close(c);
}

/* Sends resp (the head, and the body unless head_only); the connection stays open afterwards if
 * keep_alive. */
static void conn_respond(struct conn *c, struct rs_admin_response *resp, bool keep_alive,
                         bool http10, bool head_only)
{
    struct rs_admin *a = c->admin;
    if (a->stopping)
        keep_alive = false;
    rs_strbuf_reset(&c->out);
    rs_admin_response_head(resp, keep_alive, http10 && keep_alive, &c->out);
    if (!head_only)
        rs_strbuf_append(&c->out, resp->body.data ? resp->body.data : "", resp->body.len);
    c->out_off = 0;
    c->out_status = resp->status;
    c->close_after_send = !keep_alive;
    c->quit_pending = resp->quit_after_send;
    conn_post_send(c);
}

static void conn_error(struct conn *c, int status, const char *reason)
{
    struct rs_admin_response resp;
    rs_admin_response_init(&resp);
    resp.status = status;
    rs_strbuf_printf(&resp.body, "%s\n", reason);
    rs_admin_stats_inc(&c->admin->stats, c->admin->stats.cx_protocol_error);
    c->consumed = c->in_len;
    conn_respond(c, &resp, false, false, false);
    rs_admin_response_free(&resp);
}

static bool grow_buffer(struct conn *c)
{
    if (c->in_cap >= RS_ADMIN_MAX_REQUEST)
        return false;
    size_t cap = c->in_cap * 2 > RS_ADMIN_MAX_REQUEST ? RS_ADMIN_MAX_REQUEST : c->in_cap * 2;
    char *p = realloc(c->in, cap);
    if (p == NULL)
        return false;
    c->in = p;
    c->in_cap = cap;
    return true;
}

/* Parses what is buffered; answers a complete request, or asks for more bytes. */
static void conn_process(struct conn *c)
{
    struct rs_admin *a = c->admin;
    struct rs_admin_request req;
    switch (rs_admin_request_parse(c->in, c->in_len, RS_ADMIN_MAX_REQUEST, &req)) {
    case RS_ADMIN_PARSE_INCOMPLETE:
        if (c->in_len == c->in_cap && !grow_buffer(c)) {
            conn_error(c, 500, "out of memory");
            return;
        }
        conn_post_recv(c);
        return;
    case RS_ADMIN_PARSE_ERROR:
        RS_DEBUG("admin: %d %s", req.error_status, req.error_reason);
        conn_error(c, req.error_status, req.error_reason);
        return;
    case RS_ADMIN_PARSE_OK:
        break;
    }
    rs_admin_stats_inc(&a->stats, a->stats.rq_total);
    rs_admin_stats_inc(&a->stats, a->stats.rq_http1_total);
    struct rs_admin_response resp;
    rs_admin_response_init(&resp);
    rs_admin_route(&a->router, &req, &resp);
    c->consumed = req.consumed;
    conn_respond(c, &resp, req.keep_alive, req.version_minor == 0, strcmp(req.method, "HEAD") == 0);
    rs_admin_response_free(&resp);
    rs_admin_request_free(&req);
}

/* Half-closes and discards what the client still sends, until it closes too (see LINGER_MS). */
static void conn_linger(struct conn *c)
{
    struct rs_admin *a = c->admin;
    c->lingering = true;
    c->in_len = 0;
    struct io_uring_sqe *sqe = rs_loop_sqe(a->loop, &c->shutdown_io);
    io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
    c->inflight++;
    rs_timer_arm(a->loop, &c->idle, LINGER_MS);
    conn_post_recv(c);
}

/* The answer is out: drop its request from the buffer and go on with the next one. */
static void conn_response_done(struct conn *c)
{
    struct rs_admin *a = c->admin;
    uint64_t now = rs_loop_now_ms(a->loop);
    rs_admin_stats_response(&a->stats, c->out_status, now - c->rq_start_ms);
    rs_strbuf_free(&c->out);
    conn_call_quit(c);
    if (a->stopping) {
        conn_close(c);
        return;
    }
    if (c->close_after_send) {
        conn_linger(c);
        return;
    }
    memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
    c->in_len -= c->consumed;
    c->consumed = 0;
    c->rq_start_ms = now;
    if (c->in_cap > INITIAL_BUFFER && c->in_len <= INITIAL_BUFFER) {
        /* An idle keep-alive connection holds a small buffer only. */
        char *p = realloc(c->in, INITIAL_BUFFER);
        if (p != NULL) {
            c->in = p;
            c->in_cap = INITIAL_BUFFER;
        }
    }
    /* The timer runs from the end of one answer to the end of the next: an idle client, or one
     * that trickles a request (or reads an answer) too slowly, is cut off. */
    rs_timer_arm(a->loop, &c->idle, a->idle_timeout_ms);
    if (c->in_len > 0)
        conn_process(c); /* a pipelined request is already here */
    else
        conn_post_recv(c);
}

static void on_recv(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    struct conn *c = CONTAINER_OF(io, struct conn, recv_io);
    c->inflight--;
    if (c->closing) {
        conn_maybe_free(c);
        return;
    }
    if (cqe->res <= 0) {
        /* 0: the client closed; <0: reset or another error. Either way nothing to answer. */
        conn_close(c);
        return;
    }
    if (c->lingering) {
        c->drained += (size_t)cqe->res;
        if (c->drained > LINGER_MAX_BYTES) {
            conn_close(c);
            return;
        }
        conn_post_recv(c); /* in_len stays 0: the bytes are dropped */
        return;
    }
    if (c->in_len == 0)
        c->rq_start_ms = rs_loop_now_ms(loop);
    c->in_len += (size_t)cqe->res;
    conn_process(c);
}

static void on_send(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    struct conn *c = CONTAINER_OF(io, struct conn, send_io);
    c->inflight--;
    if (c->closing) {
        conn_maybe_free(c);
        return;
    }
    if (cqe->res < 0) {
        conn_close(c);
        return;
    }
    c->out_off += (size_t)cqe->res;
    if (c->out_off < c->out.len)
        conn_post_send(c);
    else
        conn_response_done(c);
}

static void conn_start(struct rs_admin *a, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    char *in = malloc(INITIAL_BUFFER);
    if (c == NULL || in == NULL) {
        free(c);
        free(in);
        close(fd); /* out of memory: nothing better to do than refuse the client */
        return;
    }
    c->admin = a;
    c->fd = fd;
    c->in = in;
    c->in_cap = INITIAL_BUFFER;
    c->recv_io.cb = on_recv;
    c->send_io.cb = on_send;
    c->shutdown_io.cb = on_shutdown;
    c->cancel_io.cb = on_cancel;
    c->close_io.cb = on_close;
    c->out = (struct rs_strbuf)RS_STRBUF_INIT;
    rs_timer_init(&c->idle, on_idle);
    c->next = a->conns;
    if (a->conns)
        a->conns->prev = c;
    a->conns = c;
    a->nconns++;
    rs_admin_stats_inc(&a->stats, a->stats.listener_cx_total);
    rs_admin_stats_gauge(&a->stats, a->stats.listener_cx_active, 1);
    rs_admin_stats_inc(&a->stats, a->stats.cx_total);
    rs_admin_stats_inc(&a->stats, a->stats.cx_http1_total);
    rs_admin_stats_gauge(&a->stats, a->stats.cx_active, 1);
    rs_timer_arm(a->loop, &c->idle, a->idle_timeout_ms);
    conn_post_recv(c);
}

/* ---- listener ---- */

static void on_cancel_done(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct rs_admin *a = CONTAINER_OF(io, struct rs_admin, cancel_io);
    a->inflight--;
    admin_maybe_free(a);
}

static void on_listen_closed(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct rs_admin *a = CONTAINER_OF(io, struct rs_admin, listen_close_io);
    a->inflight--;
    admin_maybe_free(a);
}

static void on_overflow_closed(struct rs_loop *loop, struct rs_io *io,
                               const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct rs_admin *a = CONTAINER_OF(io, struct rs_admin, overflow_close_io);
    a->inflight--;
    admin_maybe_free(a);
}

static void on_accept_retry(struct rs_loop *loop, struct rs_timer *timer)
{
    (void)loop;
    struct rs_admin *a = CONTAINER_OF(timer, struct rs_admin, accept_retry);
    if (!a->stopping && !a->accepting)
        arm_accept(a);
}

static void refuse(struct rs_admin *a, int fd)
{
    struct io_uring_sqe *sqe = rs_loop_sqe(a->loop, &a->overflow_close_io);
    io_uring_prep_close(sqe, fd);
    a->inflight++;
}

static void on_accept(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    struct rs_admin *a = CONTAINER_OF(io, struct rs_admin, accept_io);
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        a->accepting = false;
        a->inflight--;
    }
    if (cqe->res >= 0) {
        if (a->stopping) {
            refuse(a, cqe->res);
        } else if (a->nconns >= RS_ADMIN_MAX_CONNECTIONS) {
            rs_admin_stats_inc(&a->stats, a->stats.listener_cx_overflow);
            refuse(a, cqe->res);
        } else {
            conn_start(a, cqe->res);
        }
    } else if (cqe->res != -ECANCELED) {
        RS_WARN("admin: accept failed: %s", strerror(-cqe->res));
    }
    if (!a->accepting && !a->stopping) {
        /* After an error (EMFILE...) wait a little rather than spin on it. */
        if (cqe->res < 0)
            rs_timer_arm(loop, &a->accept_retry, ACCEPT_RETRY_MS);
        else
            arm_accept(a);
    }
    admin_maybe_free(a);
}

static void arm_accept(struct rs_admin *a)
{
    struct io_uring_sqe *sqe = rs_loop_sqe(a->loop, &a->accept_io);
    io_uring_prep_multishot_accept(sqe, a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    a->accepting = true;
    a->inflight++;
}

static void admin_maybe_free(struct rs_admin *a)
{
    if (!a->stopping || a->accepting || a->nconns > 0 || a->inflight > 0)
        return;
    if (a->listen_fd >= 0) {
        /* The accept has ended: the listening socket can go now. */
        struct io_uring_sqe *sqe = rs_loop_sqe(a->loop, &a->listen_close_io);
        io_uring_prep_close(sqe, a->listen_fd);
        a->listen_fd = -1;
        a->inflight++;
        return;
    }
    struct rs_admin_hooks hooks = a->hooks;
    free(a);
    if (hooks.stopped != NULL)
        hooks.stopped(hooks.ctx);
}

static int open_listener(const struct sockaddr *addr, socklen_t addr_len, int *port, char *err,
                         size_t err_len)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "admin: socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, addr, addr_len) != 0) {
        snprintf(err, err_len, "admin: bind: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 1024) != 0) {
        snprintf(err, err_len, "admin: listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t len = sizeof(bound);
    getsockname(fd, (struct sockaddr *)&bound, &len);
    if (bound.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    else if (bound.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    else
        *port = 0;
    return fd;
}

struct rs_admin *rs_admin_start(struct rs_loop *loop, const struct sockaddr *addr,
                                socklen_t addr_len, struct rs_stats_store *stats,
                                const struct rs_admin_hooks *hooks, char *err, size_t err_len)
{
    struct rs_admin *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        snprintf(err, err_len, "admin: out of memory");
        return NULL;
    }
    a->listen_fd = open_listener(addr, addr_len, &a->port, err, err_len);
    if (a->listen_fd < 0) {
        free(a);
        return NULL;
    }
    a->loop = loop;
    a->idle_timeout_ms = RS_ADMIN_IDLE_TIMEOUT_MS;
    if (hooks != NULL)
        a->hooks = *hooks;
    a->router = (struct rs_admin_router){.hooks = &a->hooks, .stats = stats};
    rs_admin_stats_init(&a->stats, stats);
    a->accept_io.cb = on_accept;
    a->cancel_io.cb = on_cancel_done;
    a->listen_close_io.cb = on_listen_closed;
    a->overflow_close_io.cb = on_overflow_closed;
    rs_timer_init(&a->accept_retry, on_accept_retry);
    arm_accept(a);
    return a;
}

int rs_admin_port(const struct rs_admin *admin)
{
    return admin->port;
}

void rs_admin_set_idle_timeout(struct rs_admin *admin, unsigned ms)
{
    admin->idle_timeout_ms = ms;
}

void rs_admin_stop(struct rs_admin *a)
{
    if (a == NULL || a->stopping)
        return;
    a->stopping = true;
    rs_timer_cancel(a->loop, &a->accept_retry);
    if (a->accepting) {
        struct io_uring_sqe *sqe = rs_loop_sqe(a->loop, &a->cancel_io);
        io_uring_prep_cancel(sqe, &a->accept_io, 0);
        a->inflight++;
    }
    for (struct conn *c = a->conns; c != NULL; c = c->next)
        conn_close(c);
    admin_maybe_free(a);
}
