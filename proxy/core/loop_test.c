#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/core/loop.h"

static struct rs_loop *new_loop(unsigned bufs, unsigned size)
{
    char err[128];
    struct rs_loop_options opt = {.buf_count = bufs, .buf_size = size, .name = "test"};
    struct rs_loop *loop = rs_loop_new(&opt, err, sizeof err);
    if (loop == NULL)
        fail_msg("rs_loop_new: %s", err);
    return loop;
}

/* ---- multishot receive with provided buffers ---- */
struct reader {
    struct rs_io io;
    size_t bytes;
    int completions;
    int last_res;
    bool more;
};

static void on_recv(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    struct reader *r = (struct reader *)io;
    r->completions++;
    r->last_res = cqe->res;
    r->more = cqe->flags & IORING_CQE_F_MORE;
    if (cqe->res > 0) {
        assert_true(cqe->flags & IORING_CQE_F_BUFFER);
        uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        uint8_t *buf = rs_loop_buf_take(loop, bid);
        assert_int_equal(buf[0], 'x');
        r->bytes += (size_t)cqe->res;
        /* Two owners of one buffer: it returns to the ring only with the second release. */
        rs_loop_buf_ref(loop, bid);
        rs_loop_buf_release(loop, bid);
        assert_int_equal(rs_loop_bufs_in_use(loop), 1);
        rs_loop_buf_release(loop, bid);
    }
}

static void multishot_recv_uses_buffer_ring(void **state)
{
    (void)state;
    struct rs_loop *loop = new_loop(8, 4096);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct reader r = {.io = {on_recv}};
    struct io_uring_sqe *sqe = rs_loop_sqe(loop, &r.io);
    io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = rs_loop_buf_group(loop);
    char data[1000];
    memset(data, 'x', sizeof data);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(write(sv[1], data, sizeof data), (ssize_t)sizeof data);
        assert_int_equal(rs_loop_run_once(loop, 200), 0);
    }
    for (int i = 0; i < 10 && r.bytes < 20000; i++)
        rs_loop_run_once(loop, 50);
    assert_int_equal(r.bytes, 20000);
    assert_true(r.more);
    assert_int_equal(rs_loop_bufs_in_use(loop), 0);
    close(sv[1]);
    for (int i = 0; i < 10 && r.last_res != 0; i++)
        rs_loop_run_once(loop, 50);
    assert_int_equal(r.last_res, 0); /* EOF ends the multishot */
    assert_false(r.more);
    close(sv[0]);
    rs_loop_free(loop);
}

/* ---- cross-thread posts ---- */
struct post_target {
    struct rs_loop *loop;
    int received;
    pthread_mutex_t ready_lock;
    pthread_cond_t ready;
    bool is_ready;
};

static void on_post(struct rs_loop *loop, void *arg)
{
    struct post_target *t = arg;
    t->received++;
    if (t->received == 100)
        rs_loop_stop(loop);
}

static void *target_thread(void *arg)
{
    struct post_target *t = arg;
    t->loop = new_loop(0, 0);
    pthread_mutex_lock(&t->ready_lock);
    t->is_ready = true;
    pthread_cond_signal(&t->ready);
    pthread_mutex_unlock(&t->ready_lock);
    rs_loop_run(t->loop);
    return NULL;
}

static void wait_ready(struct post_target *t)
{
    pthread_mutex_lock(&t->ready_lock);
    while (!t->is_ready)
        pthread_cond_wait(&t->ready, &t->ready_lock);
    pthread_mutex_unlock(&t->ready_lock);
}

static void posts_wake_sleeping_loop_by_eventfd(void **state)
{
    (void)state;
    struct post_target t = {.ready_lock = PTHREAD_MUTEX_INITIALIZER,
                            .ready = PTHREAD_COND_INITIALIZER};
    pthread_t th;
    pthread_create(&th, NULL, target_thread, &t);
    wait_ready(&t);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(rs_loop_post(NULL, t.loop, on_post, &t), 0);
        if (i % 10 == 0)
            usleep(2000);
    }
    pthread_join(th, NULL);
    assert_int_equal(t.received, 100);
    rs_loop_free(t.loop);
}

static void posts_wake_sleeping_loop_by_msg_ring(void **state)
{
    (void)state;
    struct post_target t = {.ready_lock = PTHREAD_MUTEX_INITIALIZER,
                            .ready = PTHREAD_COND_INITIALIZER};
    struct rs_loop *from = new_loop(0, 0);
    pthread_t th;
    pthread_create(&th, NULL, target_thread, &t);
    wait_ready(&t);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(rs_loop_post(from, t.loop, on_post, &t), 0);
        rs_loop_run_once(from, 0); /* submits the MSG_RING */
        if (i % 10 == 0)
            usleep(2000);
    }
    pthread_join(th, NULL);
    assert_int_equal(t.received, 100);
    rs_loop_free(t.loop);
    rs_loop_free(from);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multishot_recv_uses_buffer_ring),
        cmocka_unit_test(posts_wake_sleeping_loop_by_eventfd),
        cmocka_unit_test(posts_wake_sleeping_loop_by_msg_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
