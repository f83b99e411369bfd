/* rs_conn against real sockets: a relay from one socketpair to another, as tcp_proxy uses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/core/loop.h"
#include "proxy/net/conn.h"

struct relay {
    struct rs_conn in, out;
    bool in_eof, paused, closed_in, closed_out;
    int pauses;
};

static void on_data(struct rs_conn *c, void *owner, uint16_t bid, uint32_t len)
{
    (void)c;
    struct relay *r = owner;
    rs_conn_send_buf(&r->out, bid, 0, len);
    if (rs_conn_over_limit(&r->out) && !r->paused) {
        r->paused = true;
        r->pauses++;
        rs_conn_read_pause(&r->in);
    }
}
static void on_eof(struct rs_conn *c, void *owner)
{
    (void)c;
    struct relay *r = owner;
    r->in_eof = true;
    rs_conn_shutdown_write(&r->out);
}
static void on_error(struct rs_conn *c, void *owner, int res)
{
    (void)c;
    (void)owner;
    fail_msg("unexpected error %d", res);
}
static void on_connected(struct rs_conn *c, void *owner, int res)
{
    (void)c;
    (void)owner;
    (void)res;
}
static void on_drained(struct rs_conn *c, void *owner)
{
    (void)c;
    struct relay *r = owner;
    if (r->paused) {
        r->paused = false;
        rs_conn_read_start(&r->in);
    }
}
static void on_closed(struct rs_conn *c, void *owner)
{
    struct relay *r = owner;
    if (c == &r->in)
        r->closed_in = true;
    else
        r->closed_out = true;
}

static const struct rs_conn_callbacks cbs = {on_data,      on_eof,     on_error,
                                             on_connected, on_drained, on_closed};

static void relays_with_backpressure_and_half_close(void **state)
{
    (void)state;
    char err[128];
    struct rs_loop_options opt = {.buf_count = 64, .buf_size = 4096, .name = "t"};
    struct rs_loop *loop = rs_loop_new(&opt, err, sizeof err);
    assert_non_null(loop);
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    int small = 8192;
    setsockopt(b[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(b[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct relay r;
    memset(&r, 0, sizeof r);
    rs_conn_init(&r.in, loop, a[1], 16384, &cbs, &r);
    rs_conn_init(&r.out, loop, b[0], 16384, &cbs, &r);
    rs_conn_read_start(&r.in);
    fcntl(a[0], F_SETFL, O_NONBLOCK);
    fcntl(b[1], F_SETFL, O_NONBLOCK);

    /* Write 1 MiB while nobody reads the far end: the relay must pause, not buffer it all. */
    size_t total = 1 << 20, written = 0, received = 0;
    unsigned char chunk[4096], got[8192];
    uint32_t sum_in = 0, sum_out = 0;
    for (unsigned i = 0; i < sizeof chunk; i++)
        chunk[i] = (unsigned char)(i * 7);
    for (int turn = 0; turn < 20000 && received < total; turn++) {
        if (written < total) {
            ssize_t n = write(a[0], chunk, sizeof chunk);
            if (n > 0) {
                for (ssize_t i = 0; i < n; i++)
                    sum_in += chunk[i];
                written += (size_t)n;
            }
            if (written == total)
                shutdown(a[0], SHUT_WR);
        }
        rs_loop_run_once(loop, 0);
        /* A pause takes effect once the armed multishot receive is cancelled, so what the kernel
         * already had buffered still arrives: bounded by the socket buffer, far below 1 MiB. */
        assert_true(rs_conn_queued(&r.out) <= 16384 + 256 * 1024);
        if (turn > 200) { /* start reading only after backpressure had a chance to kick in */
            ssize_t n = read(b[1], got, sizeof got);
            for (ssize_t i = 0; i < n; i++)
                sum_out += got[i];
            if (n > 0)
                received += (size_t)n;
        }
    }
    assert_int_equal(received, total);
    assert_int_equal(sum_in, sum_out);
    assert_true(r.pauses > 0);
    /* The half-close travels: the far end sees EOF. */
    for (int i = 0; i < 100 && !r.in_eof; i++)
        rs_loop_run_once(loop, 10);
    assert_true(r.in_eof);
    ssize_t n = -1;
    for (int i = 0; i < 100; i++) {
        rs_loop_run_once(loop, 10);
        n = read(b[1], got, sizeof got);
        if (n == 0)
            break;
    }
    assert_int_equal(n, 0);
    rs_conn_close(&r.in, false);
    rs_conn_close(&r.out, false);
    for (int i = 0; i < 100 && !(r.closed_in && r.closed_out); i++)
        rs_loop_run_once(loop, 10);
    assert_true(r.closed_in && r.closed_out);
    assert_int_equal(rs_loop_bufs_in_use(loop), 0);
    close(a[0]);
    close(b[1]);
    rs_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relays_with_backpressure_and_half_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
