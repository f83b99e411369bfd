/* One io_uring event loop, owned by exactly one thread (a worker or the main thread).
 *
 * Every submission carries a pointer to an `rs_io` embedded in the object that owns the operation;
 * the completion calls `io->cb`. The owner must keep that memory alive until every operation it
 * submitted has completed (cancelled operations still complete, with -ECANCELED): owners count
 * their in-flight operations and free themselves only at zero.
 *
 * The loop submits everything queued during a turn with one io_uring_enter, and sleeps at most
 * until the nearest timer. */
#ifndef RS_CORE_LOOP_H
#define RS_CORE_LOOP_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rs_loop;
struct rs_io;
struct rs_qsbr;

typedef void (*rs_io_cb)(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe);

struct rs_io {
    rs_io_cb cb;
};

struct rs_loop_options {
    unsigned entries;     /* submission queue size (default 1024) */
    unsigned buf_count;   /* provided receive buffers, a power of two (default 1024, 0 = none) */
    unsigned buf_size;    /* bytes per provided buffer (default 16 KiB) */
    struct rs_qsbr *qsbr; /* if set, the loop reports quiescent states to it (see qsbr.h) */
    const char *name;     /* thread name for logs ("main", "worker 0", ...) */
};

/* Creates a loop for the calling thread. Returns NULL with a reason in err on failure. */
struct rs_loop *rs_loop_new(const struct rs_loop_options *opt, char *err, size_t err_len);
void rs_loop_free(struct rs_loop *loop);

/* Returns a zeroed SQE whose user_data points at io; submits queued SQEs first if the ring is full.
 * Never returns NULL. */
struct io_uring_sqe *rs_loop_sqe(struct rs_loop *loop, struct rs_io *io);

/* Runs until rs_loop_stop; returns 0, or -errno if io_uring itself failed. */
int rs_loop_run(struct rs_loop *loop);
/* Runs one turn: submit, wait at most timeout_ms (-1 = until the next timer), dispatch. */
int rs_loop_run_once(struct rs_loop *loop, int timeout_ms);
void rs_loop_stop(struct rs_loop *loop);
bool rs_loop_stopping(const struct rs_loop *loop);

/* Monotonic milliseconds, sampled once per turn (cheap to call often). */
uint64_t rs_loop_now_ms(const struct rs_loop *loop);
const char *rs_loop_name(const struct rs_loop *loop);

/* ---- provided receive buffers (one buffer ring per loop) ----
 * Multishot receives pick buffers from this ring (IOSQE_BUFFER_SELECT with rs_loop_buf_group);
 * a completion with IORING_CQE_F_BUFFER names buffer id `cqe->flags >> IORING_CQE_BUFFER_SHIFT`.
 * The receiver owns that buffer until it calls rs_loop_buf_release (typically after the bytes
 * were sent on). An idle connection holds none. */
uint16_t rs_loop_buf_group(const struct rs_loop *loop);
unsigned rs_loop_buf_size(const struct rs_loop *loop);
/* Call once for each buffer a completion hands out: accounts it as in use. */
uint8_t *rs_loop_buf_take(struct rs_loop *loop, uint16_t bid);
/* One more owner for a handed-out buffer (several slices of one received buffer can travel
 * separately, e.g. the end of an HTTP head and the start of its body): each owner releases. */
void rs_loop_buf_ref(struct rs_loop *loop, uint16_t bid);
/* The memory of buffer bid (no accounting). */
uint8_t *rs_loop_buf(struct rs_loop *loop, uint16_t bid);
/* Drops one reference; the buffer goes back to the kernel's ring with the last one. */
void rs_loop_buf_release(struct rs_loop *loop, uint16_t bid);
/* Buffers currently handed out to receivers (for stats and tests). */
unsigned rs_loop_bufs_in_use(const struct rs_loop *loop);

/* Called when buffers were exhausted (a multishot receive ended with -ENOBUFS) and some came back:
 * owners of stalled receives register a waiter and re-arm from its callback. */
struct rs_buf_waiter {
    void (*cb)(struct rs_loop *loop, struct rs_buf_waiter *w);
    struct rs_buf_waiter *next, *prev;
    bool queued;
};
void rs_loop_buf_wait(struct rs_loop *loop, struct rs_buf_waiter *w);
void rs_loop_buf_wait_cancel(struct rs_loop *loop, struct rs_buf_waiter *w);

/* ---- deferred calls ----
 * Runs cb later on this loop's thread, after the completions of the current turn, so that an
 * object can announce its own end (and be freed by its owner) without being freed under a caller
 * that is still using it. Embedded in its owner; queuing an already queued one is a no-op. */
struct rs_deferred {
    void (*cb)(struct rs_loop *loop, struct rs_deferred *d);
    struct rs_deferred *next;
    bool queued;
};
void rs_loop_defer(struct rs_loop *loop, struct rs_deferred *d);

/* ---- cross-thread messages ----
 * Runs cb(target_loop, arg) on target's thread. Safe from any thread. `from` is the caller's own
 * loop when it has one (the wake-up then goes through IORING_OP_MSG_RING), or NULL (an eventfd
 * write wakes the target). Returns 0 or -errno; on error cb will not run and arg stays the
 * caller's. */
typedef void (*rs_post_cb)(struct rs_loop *target, void *arg);
int rs_loop_post(struct rs_loop *from, struct rs_loop *target, rs_post_cb cb, void *arg);

/* Opaque pointer for the owner of the loop (the worker or the server object). */
void rs_loop_set_user(struct rs_loop *loop, void *user);
void *rs_loop_user(const struct rs_loop *loop);

#endif
