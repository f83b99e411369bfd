#include "proxy/core/loop.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "proxy/core/log.h"
#include "proxy/core/qsbr.h"
#include "proxy/core/timer_wheel.h"

/* user_data of the CQE a MSG_RING wake-up posts on the target ring; real rs_io pointers are
 * aligned, so an odd value can never collide with one. */
#define RS_LOOP_WAKE_TAG 0x1u
#define RS_LOOP_CQE_BATCH 64

struct post {
    rs_post_cb cb;
    void *arg;
    struct post *next;
};

struct rs_loop {
    struct io_uring ring;
    bool stopping;
    uint64_t now_ms;
    const char *name;
    void *user;

    struct rs_timer_wheel timers;

    /* Provided buffer ring. */
    struct io_uring_buf_ring *br;
    size_t br_map_len;
    uint8_t *bufs;
    unsigned buf_count;
    unsigned buf_size;
    unsigned bufs_in_use;
    uint16_t *buf_refs; /* references per handed-out buffer (HTTP slices share buffers) */
    uint16_t bgid;
    struct rs_buf_waiter *waiters_head, *waiters_tail;
    struct rs_deferred *deferred_head, *deferred_tail;

    /* Cross-thread posts: a mutex-guarded list (posts are rare control messages, never data). */
    pthread_mutex_t posts_lock;
    struct post *posts_head, *posts_tail;
    _Atomic bool posts_pending; /* lets each turn check for posts without the lock */
    int wake_fd;
    struct rs_io wake_io;
    bool wake_armed;

    struct rs_qsbr_reader *qsbr_reader;
};

static void noop_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    (void)io;
    (void)cqe;
}
/* Completion of a MSG_RING on the sender's ring: nothing to do. Never written. */
static struct rs_io msg_ring_sent_io = {noop_cb};

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct rs_timer_wheel *rs_loop_timer_wheel_(struct rs_loop *loop)
{
    return &loop->timers;
}

static int init_ring(struct rs_loop *loop, unsigned entries)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    /* One thread submits and reaps: let the kernel skip cross-thread work and defer task work to
     * our own io_uring_enter, which batches completions. Older kernels refuse the flags: retry
     * without them. */
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    int rc = io_uring_queue_init_params(entries, &loop->ring, &p);
    if (rc == -EINVAL) {
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 4;
        rc = io_uring_queue_init_params(entries, &loop->ring, &p);
    }
    return rc;
}

static int init_buffers(struct rs_loop *loop, unsigned count, unsigned size)
{
    loop->buf_count = count;
    loop->buf_size = size;
    loop->bgid = 0;
    if (count == 0)
        return 0;
    if (count & (count - 1) || count > 32768)
        return -EINVAL;
    loop->br_map_len = count * sizeof(struct io_uring_buf);
    void *map =
        mmap(NULL, loop->br_map_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (map == MAP_FAILED)
        return -errno;
    loop->br = map;
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t bytes = ((size_t)count * size + 4095) & ~(size_t)4095;
    loop->bufs = aligned_alloc(4096, bytes);
    loop->buf_refs = calloc(count, sizeof *loop->buf_refs);
    if (loop->bufs == NULL || loop->buf_refs == NULL)
        return -ENOMEM;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (unsigned long)map;
    reg.ring_entries = count;
    reg.bgid = loop->bgid;
    int rc = io_uring_register_buf_ring(&loop->ring, &reg, 0);
    if (rc < 0)
        return rc;
    io_uring_buf_ring_init(loop->br);
    unsigned mask = io_uring_buf_ring_mask(count);
    for (unsigned i = 0; i < count; i++)
        io_uring_buf_ring_add(loop->br, loop->bufs + (size_t)i * size, size, (unsigned short)i,
                              mask, (int)i);
    io_uring_buf_ring_advance(loop->br, (int)count);
    return 0;
}

static void arm_wake(struct rs_loop *loop);

static void wake_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)io;
    if (!(cqe->flags & IORING_CQE_F_MORE))
        loop->wake_armed = false;
    uint64_t v;
    ssize_t n = read(loop->wake_fd, &v, sizeof v); /* clears the eventfd; EAGAIN is fine */
    (void)n;
    if (!loop->wake_armed && !loop->stopping)
        arm_wake(loop);
    /* The posts themselves are drained once per turn in run_posts. */
}

static void arm_wake(struct rs_loop *loop)
{
    struct io_uring_sqe *sqe = rs_loop_sqe(loop, &loop->wake_io);
    io_uring_prep_poll_multishot(sqe, loop->wake_fd, POLLIN);
    loop->wake_armed = true;
}

struct rs_loop *rs_loop_new(const struct rs_loop_options *opt, char *err, size_t err_len)
{
    struct rs_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    unsigned entries = opt && opt->entries ? opt->entries : 1024;
    unsigned buf_count = opt ? opt->buf_count : 1024;
    unsigned buf_size = opt && opt->buf_size ? opt->buf_size : 16384;
    loop->name = opt && opt->name ? opt->name : "loop";
    loop->wake_fd = -1;
    pthread_mutex_init(&loop->posts_lock, NULL);
    int rc = init_ring(loop, entries);
    if (rc < 0) {
        snprintf(err, err_len, "io_uring setup failed: %s", strerror(-rc));
        pthread_mutex_destroy(&loop->posts_lock);
        free(loop);
        return NULL;
    }
    loop->now_ms = monotonic_ms();
    rs_timer_wheel_init(&loop->timers, loop->now_ms);
    rc = init_buffers(loop, buf_count, buf_size);
    if (rc < 0) {
        snprintf(err, err_len, "io_uring buffer ring setup failed: %s", strerror(-rc));
        rs_loop_free(loop);
        return NULL;
    }
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wake_fd < 0) {
        snprintf(err, err_len, "eventfd: %s", strerror(errno));
        rs_loop_free(loop);
        return NULL;
    }
    loop->wake_io.cb = wake_cb;
    arm_wake(loop);
    if (opt && opt->qsbr) {
        loop->qsbr_reader = rs_qsbr_register(opt->qsbr);
        if (loop->qsbr_reader == NULL) {
            snprintf(err, err_len, "out of memory");
            rs_loop_free(loop);
            return NULL;
        }
    }
    return loop;
}

void rs_loop_free(struct rs_loop *loop)
{
    if (loop == NULL)
        return;
    if (loop->qsbr_reader)
        rs_qsbr_unregister(loop->qsbr_reader);
    /* Posts never run: their args are freed by nobody, so callers must not post to a loop that is
     * being destroyed (the process drains posts before stopping loops). */
    for (struct post *p = loop->posts_head, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    io_uring_queue_exit(&loop->ring);
    if (loop->br)
        munmap(loop->br, loop->br_map_len);
    free(loop->bufs);
    free(loop->buf_refs);
    if (loop->wake_fd >= 0)
        close(loop->wake_fd);
    pthread_mutex_destroy(&loop->posts_lock);
    free(loop);
}

struct io_uring_sqe *rs_loop_sqe(struct rs_loop *loop, struct rs_io *io)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
    while (sqe == NULL) {
        int rc = io_uring_submit(&loop->ring);
        if (rc < 0 && rc != -EBUSY && rc != -EAGAIN && rc != -EINTR) {
            RS_ERROR("%s: io_uring_submit failed: %s", loop->name, strerror(-rc));
            abort();
        }
        sqe = io_uring_get_sqe(&loop->ring);
    }
    io_uring_sqe_set_data(sqe, io);
    return sqe;
}

uint64_t rs_loop_now_ms(const struct rs_loop *loop)
{
    return loop->now_ms;
}
const char *rs_loop_name(const struct rs_loop *loop)
{
    return loop->name;
}
void rs_loop_stop(struct rs_loop *loop)
{
    loop->stopping = true;
}
bool rs_loop_stopping(const struct rs_loop *loop)
{
    return loop->stopping;
}
void rs_loop_set_user(struct rs_loop *loop, void *user)
{
    loop->user = user;
}
void *rs_loop_user(const struct rs_loop *loop)
{
    return loop->user;
}

uint16_t rs_loop_buf_group(const struct rs_loop *loop)
{
    return loop->bgid;
}
unsigned rs_loop_buf_size(const struct rs_loop *loop)
{
    return loop->buf_size;
}
unsigned rs_loop_bufs_in_use(const struct rs_loop *loop)
{
    return loop->bufs_in_use;
}

uint8_t *rs_loop_buf_take(struct rs_loop *loop, uint16_t bid)
{
    loop->bufs_in_use++;
    loop->buf_refs[bid] = 1;
    return loop->bufs + (size_t)bid * loop->buf_size;
}

void rs_loop_buf_ref(struct rs_loop *loop, uint16_t bid)
{
    loop->buf_refs[bid]++;
}

uint8_t *rs_loop_buf(struct rs_loop *loop, uint16_t bid)
{
    return loop->bufs + (size_t)bid * loop->buf_size;
}

void rs_loop_buf_release(struct rs_loop *loop, uint16_t bid)
{
    if (--loop->buf_refs[bid] > 0)
        return;
    io_uring_buf_ring_add(loop->br, loop->bufs + (size_t)bid * loop->buf_size, loop->buf_size, bid,
                          io_uring_buf_ring_mask(loop->buf_count), 0);
    io_uring_buf_ring_advance(loop->br, 1);
    loop->bufs_in_use--;
}

void rs_loop_buf_wait(struct rs_loop *loop, struct rs_buf_waiter *w)
{
    if (w->queued)
        return;
    w->queued = true;
    w->next = NULL;
    w->prev = loop->waiters_tail;
    if (loop->waiters_tail)
        loop->waiters_tail->next = w;
    else
        loop->waiters_head = w;
    loop->waiters_tail = w;
}

void rs_loop_buf_wait_cancel(struct rs_loop *loop, struct rs_buf_waiter *w)
{
    if (!w->queued)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        loop->waiters_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        loop->waiters_tail = w->prev;
    w->next = w->prev = NULL;
    w->queued = false;
}

/* Wakes buffer waiters while at least a quarter of the buffers are free: re-arming every stalled
 * receive at once would just exhaust the ring again. */
static void run_buf_waiters(struct rs_loop *loop)
{
    while (loop->waiters_head && loop->bufs_in_use < loop->buf_count - loop->buf_count / 4) {
        struct rs_buf_waiter *w = loop->waiters_head;
        rs_loop_buf_wait_cancel(loop, w);
        w->cb(loop, w);
    }
}

int rs_loop_post(struct rs_loop *from, struct rs_loop *target, rs_post_cb cb, void *arg)
{
    struct post *p = malloc(sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->cb = cb;
    p->arg = arg;
    p->next = NULL;
    pthread_mutex_lock(&target->posts_lock);
    bool was_empty = target->posts_head == NULL;
    if (target->posts_tail)
        target->posts_tail->next = p;
    else
        target->posts_head = p;
    target->posts_tail = p;
    atomic_store(&target->posts_pending, true);
    pthread_mutex_unlock(&target->posts_lock);
    if (!was_empty)
        return 0; /* a wake-up is already on its way */
    if (from != NULL && from != target) {
        struct io_uring_sqe *sqe = rs_loop_sqe(from, &msg_ring_sent_io);
        io_uring_prep_msg_ring(sqe, target->ring.ring_fd, 0, RS_LOOP_WAKE_TAG, 0);
        /* Submitted now rather than at the end of the sender's turn: the sender may be about to
         * block (joining the target's thread, say), and posts are rare. */
        io_uring_submit(&from->ring);
        return 0;
    }
    uint64_t one = 1;
    ssize_t n = write(target->wake_fd, &one, sizeof one);
    (void)n; /* EAGAIN means the counter is already non-zero: the target will wake anyway */
    return 0;
}

static void run_posts(struct rs_loop *loop)
{
    pthread_mutex_lock(&loop->posts_lock);
    struct post *p = loop->posts_head;
    loop->posts_head = loop->posts_tail = NULL;
    atomic_store(&loop->posts_pending, false);
    pthread_mutex_unlock(&loop->posts_lock);
    while (p) {
        struct post *next = p->next;
        p->cb(loop, p->arg);
        free(p);
        p = next;
    }
}

void rs_loop_defer(struct rs_loop *loop, struct rs_deferred *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    if (loop->deferred_tail)
        loop->deferred_tail->next = d;
    else
        loop->deferred_head = d;
    loop->deferred_tail = d;
}

static void run_deferred(struct rs_loop *loop)
{
    /* Calls may defer more: keep going until the queue is empty. */
    while (loop->deferred_head) {
        struct rs_deferred *d = loop->deferred_head;
        loop->deferred_head = d->next;
        if (loop->deferred_head == NULL)
            loop->deferred_tail = NULL;
        d->queued = false;
        d->next = NULL;
        d->cb(loop, d);
    }
}

static bool has_posts(struct rs_loop *loop)
{
    return atomic_load(&loop->posts_pending);
}

int rs_loop_run_once(struct rs_loop *loop, int timeout_ms)
{
    loop->now_ms = monotonic_ms();
    rs_timer_wheel_expire(loop, &loop->timers, loop->now_ms);
    run_buf_waiters(loop);
    run_deferred(loop);

    int64_t wait_ms = rs_timer_wheel_next_ms(&loop->timers, loop->now_ms);
    if (timeout_ms >= 0 && (wait_ms < 0 || wait_ms > timeout_ms))
        wait_ms = timeout_ms;
    if (loop->stopping)
        wait_ms = 0;

    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts;
    if (wait_ms >= 0) {
        ts.tv_sec = wait_ms / 1000;
        ts.tv_nsec = (wait_ms % 1000) * 1000000;
    }
    if (loop->qsbr_reader)
        rs_qsbr_offline(loop->qsbr_reader);
    int rc;
    if (wait_ms == 0) {
        /* With DEFER_TASKRUN, completions are only posted when we ask for events: a plain submit
         * would never reap anything. */
        rc = io_uring_submit_and_get_events(&loop->ring);
    } else {
        rc = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, wait_ms > 0 ? &ts : NULL, NULL);
    }
    if (loop->qsbr_reader)
        rs_qsbr_online(loop->qsbr_reader);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
        return rc;
    loop->now_ms = monotonic_ms();

    /* Copy each batch out and advance before dispatching, so callbacks may submit freely. */
    for (;;) {
        struct io_uring_cqe *batch[RS_LOOP_CQE_BATCH];
        struct io_uring_cqe copies[RS_LOOP_CQE_BATCH];
        unsigned n = io_uring_peek_batch_cqe(&loop->ring, batch, RS_LOOP_CQE_BATCH);
        if (n == 0)
            break;
        for (unsigned i = 0; i < n; i++)
            copies[i] = *batch[i];
        io_uring_cq_advance(&loop->ring, n);
        for (unsigned i = 0; i < n; i++) {
            uint64_t ud = copies[i].user_data;
            if (ud == RS_LOOP_WAKE_TAG)
                continue; /* posts are drained below */
            struct rs_io *io = (struct rs_io *)(uintptr_t)ud;
            io->cb(loop, io, &copies[i]);
        }
        run_deferred(loop);
    }
    if (has_posts(loop))
        run_posts(loop);
    run_deferred(loop);
    if (loop->qsbr_reader)
        rs_qsbr_quiescent(loop->qsbr_reader);
    return 0;
}

int rs_loop_run(struct rs_loop *loop)
{
    while (!loop->stopping) {
        int rc = rs_loop_run_once(loop, -1);
        if (rc < 0) {
            RS_ERROR("%s: io_uring wait failed: %s", loop->name, strerror(-rc));
            return rc;
        }
    }
    return 0;
}
