#include "proxy/net/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <unistd.h>

#define RS_CONN_MAX_IOV 64

/* Per-send scratch: the kernel may read the msghdr and iovecs after submission (async punt), so
 * they stay put until the send completes. */
struct send_scratch {
    struct msghdr msg;
    struct iovec iov[RS_CONN_MAX_IOV];
};

/* Memory an active connection needs beyond its public struct, allocated on first send or connect
 * and freed at close, so an idle keep-alive connection stays small. Owned by the rs_conn. */
struct rs_conn_ext {
    struct send_scratch send;
    struct __kernel_timespec connect_ts;
    struct sockaddr_storage connect_addr;
};

static struct rs_conn_ext *ext_of(struct rs_conn *c);

static void free_ext(struct rs_conn *c)
{
    if (c->ext) {
        free(c->ext);
        c->ext = NULL;
    }
}

static void check_closed(struct rs_conn *c);
static void report_closed(struct rs_loop *loop, struct rs_deferred *d);
static void arm_recv(struct rs_conn *c);
static void flush(struct rs_conn *c);

#define CONN_OF(ptr, member) ((struct rs_conn *)((char *)(ptr)-offsetof(struct rs_conn, member)))

/* ---- receive ---- */

static void on_buffers_back(struct rs_loop *loop, struct rs_buf_waiter *w)
{
    (void)loop;
    struct rs_conn *c = CONN_OF(w, buf_waiter);
    arm_recv(c);
}

static void recv_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    struct rs_conn *c = CONN_OF(io, recv_io);
    bool final = !(cqe->flags & IORING_CQE_F_MORE);
    if (final) {
        c->reading = false;
        c->inflight--;
    }
    int res = cqe->res;
    if (res > 0) {
        uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        rs_loop_buf_take(loop, bid); /* accounts the buffer as handed out */
        c->rx_bytes += (uint64_t)res;
        if (c->closing)
            rs_loop_buf_release(loop, bid);
        else
            c->cb->on_data(c, c->owner, bid, (uint32_t)res);
    } else if (res == 0) {
        c->read_eof = true;
        if (!c->closing)
            c->cb->on_eof(c, c->owner);
    } else if (res == -ENOBUFS) {
        /* The ring ran dry: wait until buffers come back rather than spin. */
        if (!c->closing && !c->read_paused)
            rs_loop_buf_wait(loop, &c->buf_waiter);
    } else if (res != -ECANCELED) {
        c->read_eof = true;
        if (!c->closing)
            c->cb->on_error(c, c->owner, res);
    }
    if (final && res != -ENOBUFS && !c->closing)
        arm_recv(c); /* no-op when paused, at EOF, or re-armed already */
    check_closed(c);
}

static void arm_recv(struct rs_conn *c)
{
    if (c->reading || c->read_eof || c->read_paused || c->closing || c->fd < 0)
        return;
    struct io_uring_sqe *sqe = rs_loop_sqe(c->loop, &c->recv_io);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = rs_loop_buf_group(c->loop);
    c->reading = true;
    c->inflight++;
}

static void cancel_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct rs_conn *c = CONN_OF(io, cancel_io);
    c->inflight--;
    check_closed(c);
}

void rs_conn_read_start(struct rs_conn *c)
{
    c->read_paused = false;
    arm_recv(c);
}

void rs_conn_read_pause(struct rs_conn *c)
{
    if (c->read_paused)
        return;
    c->read_paused = true;
    rs_loop_buf_wait_cancel(c->loop, &c->buf_waiter);
    if (c->reading) {
        struct io_uring_sqe *sqe = rs_loop_sqe(c->loop, &c->cancel_io);
        io_uring_prep_cancel(sqe, &c->recv_io, 0);
        c->inflight++;
    }
}

/* ---- send ---- */

static void drop_queue(struct rs_conn *c)
{
    rs_buffer_clear(&c->out);
}

static void shutdown_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct rs_conn *c = CONN_OF(io, shutdown_io);
    c->inflight--;
    check_closed(c);
}

static void maybe_shutdown(struct rs_conn *c)
{
    if (!c->shutdown_wanted || c->shutdown_done || c->sending || rs_buffer_len(&c->out) > 0 ||
        c->closing)
        return;
    c->shutdown_done = true;
    struct io_uring_sqe *sqe = rs_loop_sqe(c->loop, &c->shutdown_io);
    io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
    c->inflight++;
}

static void send_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    struct rs_conn *c = CONN_OF(io, send_io);
    c->inflight--;
    c->sending = false;
    if (c->closing) {
        check_closed(c);
        return;
    }
    if (cqe->res < 0) {
        if (cqe->res == -EAGAIN || cqe->res == -EINTR) {
            flush(c);
            return;
        }
        c->cb->on_error(c, c->owner, cqe->res);
        check_closed(c);
        return;
    }
    c->tx_bytes += (uint64_t)cqe->res;
    rs_buffer_drain(&c->out, (size_t)cqe->res);
    flush(c);
    if (rs_buffer_len(&c->out) == 0 && !c->sending && !c->connecting) {
        rs_buffer_clear(&c->out); /* frees the slice array: idle connections hold nothing */
        free_ext(c);
    }
    maybe_shutdown(c);
    if (!c->closing && rs_buffer_len(&c->out) <= c->limit / 2)
        c->cb->on_send_drained(c, c->owner);
    check_closed(c);
}

static void flush(struct rs_conn *c)
{
    if (c->sending || rs_buffer_len(&c->out) == 0 || c->closing || c->connecting)
        return;
    struct send_scratch *s = &ext_of(c)->send;
    unsigned n = rs_buffer_iov(&c->out, s->iov, RS_CONN_MAX_IOV);
    memset(&s->msg, 0, sizeof s->msg);
    s->msg.msg_iov = s->iov;
    s->msg.msg_iovlen = n;
    struct io_uring_sqe *sqe = rs_loop_sqe(c->loop, &c->send_io);
    io_uring_prep_sendmsg(sqe, c->fd, &s->msg, MSG_NOSIGNAL);
    c->sending = true;
    c->inflight++;
}

void rs_conn_send_buf(struct rs_conn *c, uint16_t bid, uint32_t off, uint32_t len)
{
    if (c->closing || c->shutdown_wanted) {
        /* Nowhere to go: data racing a close. */
        rs_loop_buf_release(c->loop, bid);
        return;
    }
    /* The queue is bounded by the owner's backpressure (it pauses the source past the limit):
     * data already received is never dropped here. */
    rs_buffer_adopt_loop(&c->out, bid, off, len);
    flush(c);
}

void rs_conn_send(struct rs_conn *c, struct rs_buffer *data)
{
    if (c->closing || c->shutdown_wanted) {
        rs_buffer_clear(data);
        return;
    }
    rs_buffer_move(&c->out, data, rs_buffer_len(data));
    flush(c);
}

void rs_conn_shutdown_write(struct rs_conn *c)
{
    c->shutdown_wanted = true;
    maybe_shutdown(c);
}

/* ---- connect ---- */

static void connect_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    struct rs_conn *c = CONN_OF(io, connect_io);
    c->inflight--;
    c->connecting = false;
    if (!c->closing) {
        int res = cqe->res == -ECANCELED ? -ETIMEDOUT : cqe->res;
        c->cb->on_connected(c, c->owner, res);
        if (res == 0)
            flush(c); /* data queued while connecting */
    }
    check_closed(c);
}

static void timeout_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)cqe;
    struct rs_conn *c = CONN_OF(io, timeout_io);
    c->inflight--;
    check_closed(c);
}

int rs_conn_connect(struct rs_conn *c, const struct sockaddr *addr, socklen_t addr_len,
                    uint64_t timeout_ms)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    struct rs_conn_ext *x = ext_of(c);
    memcpy(&x->connect_addr, addr, addr_len);
    x->connect_ts.tv_sec = (long long)(timeout_ms / 1000);
    x->connect_ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
    struct io_uring_sqe *sqe = rs_loop_sqe(c->loop, &c->connect_io);
    io_uring_prep_connect(sqe, fd, (struct sockaddr *)&x->connect_addr, addr_len);
    sqe->flags |= IOSQE_IO_LINK;
    sqe = rs_loop_sqe(c->loop, &c->timeout_io);
    io_uring_prep_link_timeout(sqe, &x->connect_ts, 0);
    c->inflight += 2;
    c->connecting = true;
    return 0;
}

/* ---- lifecycle ---- */

void rs_conn_init(struct rs_conn *c, struct rs_loop *loop, int fd, size_t limit,
                  const struct rs_conn_callbacks *cb, void *owner)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    c->fd = fd;
    c->cb = cb;
    c->owner = owner;
    c->limit = limit ? limit : 1024 * 1024;
    c->recv_io.cb = recv_cb;
    c->send_io.cb = send_cb;
    c->connect_io.cb = connect_cb;
    c->timeout_io.cb = timeout_cb;
    c->shutdown_io.cb = shutdown_cb;
    c->cancel_io.cb = cancel_cb;
    c->buf_waiter.cb = on_buffers_back;
    rs_buffer_init(&c->out, loop);
    c->closed_call.cb = report_closed;
}

void rs_conn_close(struct rs_conn *c, bool reset)
{
    if (c->closing)
        return;
    c->closing = true;
    rs_loop_buf_wait_cancel(c->loop, &c->buf_waiter);
    if (!c->sending)
        drop_queue(c); /* an in-flight send still reads its buffers: drop them when it ends */
    if (c->fd >= 0) {
        if (reset) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        if (c->inflight > 0) {
            struct io_uring_sqe *sqe = rs_loop_sqe(c->loop, &c->cancel_io);
            io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
            c->inflight++;
        }
    }
    check_closed(c);
}

static void check_closed(struct rs_conn *c)
{
    if (!c->closing || c->closed_reported)
        return;
    if (!c->sending)
        drop_queue(c);
    if (c->inflight > 0)
        return;
    c->closed_reported = true;
    if (c->fd >= 0) {
        close(c->fd); /* only now: closing earlier could let the number be reused under us */
        c->fd = -1;
    }
    free_ext(c);
    rs_loop_defer(c->loop, &c->closed_call);
}

static void report_closed(struct rs_loop *loop, struct rs_deferred *d)
{
    (void)loop;
    struct rs_conn *c = CONN_OF(d, closed_call);
    c->cb->on_closed(c, c->owner);
}

static struct rs_conn_ext *ext_of(struct rs_conn *c)
{
    if (c->ext == NULL) {
        c->ext = calloc(1, sizeof(struct rs_conn_ext));
        if (c->ext == NULL)
            abort(); /* a few hundred bytes: nothing sensible to do without them */
    }
    return c->ext;
}
