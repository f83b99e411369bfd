#include "proxy/net/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/core/log.h"
#include "proxy/stats/stats.h"

#define ACCEPT_RETRY_MS 100

static void arm_accept(struct rs_worker_listener *wl);

void rs_worker_active_add(struct rs_worker *w, struct rs_active *a)
{
    a->prev = NULL;
    a->next = w->active;
    if (w->active)
        w->active->prev = a;
    w->active = a;
    w->n_active++;
    atomic_store_explicit(&w->n_active_shared, w->n_active, memory_order_relaxed);
}

void rs_worker_active_remove(struct rs_worker *w, struct rs_active *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        w->active = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->prev = a->next = NULL;
    w->n_active--;
    atomic_store_explicit(&w->n_active_shared, w->n_active, memory_order_relaxed);
    if (w->stopping && w->n_active == 0)
        rs_loop_stop(w->loop);
}

/* With use_original_dst, the connection belongs to the listener bound (or not) to the original
 * destination: exact address first, then the wildcard address on the same port. */
static struct rs_listener *find_by_original_dst(struct rs_worker *w, const struct rs_address *dst)
{
    struct rs_listener *wildcard = NULL;
    for (unsigned i = 0; i < w->n_listeners; i++) {
        struct rs_listener *l = w->listeners[i];
        if (rs_address_equal(&l->addr, dst))
            return l;
        if (rs_address_is_any(&l->addr) && l->addr.sa.ss_family == dst->sa.ss_family &&
            rs_address_port(&l->addr) == rs_address_port(dst))
            wildcard = l;
    }
    return wildcard;
}

void rs_worker_dispatch(struct rs_worker *w, struct rs_accepted *a)
{
    const struct rs_listener *l = a->listener;
    rs_stats_inc(w->stats, l->stats.downstream_cx_total);
    a->chain = rs_listener_match_chain(l, &a->local, &a->peer);
    if (a->chain == NULL) {
        rs_stats_inc(w->stats, l->stats.no_filter_chain_match);
        rs_stats_inc(w->stats, l->stats.downstream_cx_destroy);
        close(a->fd);
        rs_snapshot_unref(a->snapshot, w->loop);
        return;
    }
    a->chain->filter.on_accept(w, a->chain->filter.config, a);
}

static void on_accepted(struct rs_worker_listener *wl, int fd)
{
    struct rs_worker *w = wl->worker;
    struct rs_accepted a;
    memset(&a, 0, sizeof a);
    a.fd = fd;
    a.listener = wl->listener;
    a.peer.len = sizeof a.peer.sa;
    if (getpeername(fd, (struct sockaddr *)&a.peer.sa, &a.peer.len) < 0) {
        close(fd); /* already reset by the peer */
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (wl->listener->original_dst_filter || wl->listener->use_original_dst) {
        rs_address_original_dst(fd, &a.local);
    } else {
        a.local.len = sizeof a.local.sa;
        getsockname(fd, (struct sockaddr *)&a.local.sa, &a.local.len);
    }
    if (wl->listener->use_original_dst) {
        struct rs_listener *target = find_by_original_dst(w, &a.local);
        if (target != NULL)
            a.listener = target;
    }
    if (w->draining) {
        close(fd);
        return;
    }
    a.snapshot = w->snapshot_slot ? rs_snapshot_acquire(w->snapshot_slot) : NULL;
    rs_worker_dispatch(w, &a);
}

static void accept_cb(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    struct rs_worker_listener *wl = (struct rs_worker_listener *)io;
    bool final = !(cqe->flags & IORING_CQE_F_MORE);
    if (final)
        wl->accepting = false;
    if (cqe->res >= 0) {
        if (wl->closed)
            close(cqe->res);
        else
            on_accepted(wl, cqe->res);
    } else if (cqe->res != -ECANCELED) {
        rs_stats_inc(wl->worker->stats, wl->listener->stats.downstream_cx_accept_error);
        if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOBUFS ||
            cqe->res == -ENOMEM) {
            /* Out of descriptors: pending connections wait in the backlog until some close. */
            RS_WARN("worker %u: accept on %s failed: %s; retrying in %d ms", wl->worker->id,
                    wl->listener->stat_name, strerror(-cqe->res), ACCEPT_RETRY_MS);
            if (final && !wl->closed) {
                rs_timer_arm(wl->worker->loop, &wl->retry_timer, ACCEPT_RETRY_MS);
                return;
            }
        }
    }
    if (final && !wl->closed)
        arm_accept(wl);
}

static void retry_accept(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct rs_worker_listener *wl =
        (struct rs_worker_listener *)((char *)t - offsetof(struct rs_worker_listener, retry_timer));
    arm_accept(wl);
}

static void arm_accept(struct rs_worker_listener *wl)
{
    if (wl->accepting || wl->closed || wl->fd < 0)
        return;
    struct io_uring_sqe *sqe = rs_loop_sqe(wl->worker->loop, &wl->accept_io);
    io_uring_prep_multishot_accept(sqe, wl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    wl->accepting = true;
}

static void stop_accepting(struct rs_worker *w)
{
    for (unsigned i = 0; i < w->n_listeners; i++) {
        struct rs_worker_listener *wl = &w->wl[i];
        if (wl->closed)
            continue;
        wl->closed = true;
        rs_timer_cancel(w->loop, &wl->retry_timer);
        if (wl->fd >= 0) {
            /* shutdown() wakes the multishot accept with an error; the listener's socket itself
             * is closed by the main thread, which owns it. */
            shutdown(wl->fd, SHUT_RDWR);
        }
    }
}

static void drain_cb(struct rs_loop *loop, void *arg)
{
    (void)loop;
    struct rs_worker *w = arg;
    if (w->draining)
        return;
    w->draining = true;
    stop_accepting(w);
    for (struct rs_active *a = w->active, *next; a; a = next) {
        next = a->next;
        a->close(a, false);
    }
}

static void stop_cb(struct rs_loop *loop, void *arg)
{
    struct rs_worker *w = arg;
    w->draining = true;
    w->stopping = true;
    stop_accepting(w);
    for (struct rs_active *a = w->active, *next; a; a = next) {
        next = a->next;
        a->close(a, true);
    }
    if (w->n_active == 0)
        rs_loop_stop(loop);
}

static void signal_ready(struct rs_worker *w, int state)
{
    pthread_mutex_lock(&w->ready_lock);
    w->ready = state;
    pthread_cond_signal(&w->ready_cond);
    pthread_mutex_unlock(&w->ready_lock);
}

static void release_chain(struct rs_worker *w, const struct rs_filter_chain *c)
{
    if (c != NULL && c->filter.on_worker_stop != NULL)
        c->filter.on_worker_stop(w, c->filter.config);
}

/* Filters keep per-worker state (upstream pools): released on this thread before the loop goes. */
static void release_filters(struct rs_worker *w)
{
    for (unsigned i = 0; i < w->n_listeners; i++) {
        const struct rs_listener *l = w->listeners[i];
        for (unsigned j = 0; j < l->n_chains; j++)
            release_chain(w, &l->chains[j]);
        release_chain(w, l->default_chain);
    }
}

static void *worker_main(void *arg)
{
    struct rs_worker *w = arg;
    char name[32], err[256];
    snprintf(name, sizeof name, "worker %u", w->id);
    struct rs_loop_options opt = {.qsbr = w->qsbr, .name = name};
    /* 256 x 16 KiB per worker: enough in flight to fill a fast link (measured: more buffers only
     * spread the working set over more cache and memory, and lowered throughput), and an idle
     * worker's receive memory stays at 4 MiB. */
    opt.buf_count = 256;
    w->loop = rs_loop_new(&opt, err, sizeof err);
    if (w->loop == NULL) {
        RS_ERROR("worker %u: %s", w->id, err);
        signal_ready(w, -1);
        return NULL;
    }
    rs_loop_set_user(w->loop, w);
    w->wl = calloc(w->n_listeners ? w->n_listeners : 1, sizeof *w->wl);
    if (w->wl == NULL) {
        RS_ERROR("worker %u: out of memory", w->id);
        rs_loop_free(w->loop);
        w->loop = NULL;
        signal_ready(w, -1);
        return NULL;
    }
    for (unsigned i = 0; i < w->n_listeners; i++) {
        struct rs_worker_listener *wl = &w->wl[i];
        wl->accept_io.cb = accept_cb;
        wl->worker = w;
        wl->listener = w->listeners[i];
        wl->fd = w->listeners[i]->fds ? w->listeners[i]->fds[w->id] : -1;
        rs_timer_init(&wl->retry_timer, retry_accept);
        arm_accept(wl);
    }
    signal_ready(w, 1);
    rs_loop_run(w->loop);
    /* Let cancelled operations complete before the loop goes away. */
    for (int i = 0; i < 50 && rs_loop_run_once(w->loop, 10) == 0 && w->n_active > 0; i++)
        ;
    release_filters(w);
    /* Closing pooled upstream connections takes a few turns (cancel, then close). */
    for (int i = 0; i < 20; i++)
        rs_loop_run_once(w->loop, 2);
    free(w->wl);
    w->wl = NULL;
    rs_loop_free(w->loop);
    w->loop = NULL;
    return NULL;
}

int rs_worker_start(struct rs_worker *w)
{
    pthread_mutex_init(&w->ready_lock, NULL);
    pthread_cond_init(&w->ready_cond, NULL);
    w->ready = 0;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        RS_ERROR("worker %u: cannot start thread: %s", w->id, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&w->ready_lock);
    while (w->ready == 0)
        pthread_cond_wait(&w->ready_cond, &w->ready_lock);
    int state = w->ready;
    pthread_mutex_unlock(&w->ready_lock);
    if (state < 0) {
        pthread_join(w->thread, NULL);
        return -1;
    }
    return 0;
}

void rs_worker_post_drain(struct rs_worker *w, struct rs_loop *from)
{
    rs_loop_post(from, w->loop, drain_cb, w);
}

void rs_worker_post_stop(struct rs_worker *w, struct rs_loop *from)
{
    rs_loop_post(from, w->loop, stop_cb, w);
}

void rs_worker_join(struct rs_worker *w)
{
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->ready_lock);
    pthread_cond_destroy(&w->ready_cond);
}
