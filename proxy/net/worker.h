/* A worker: one thread, one io_uring loop, its own accept sockets (one per listener), its own
 * connections and stats shard. Connections never leave their worker. The main thread talks to a
 * worker only through posts (rs_loop_post): start draining, stop. */
#ifndef RS_NET_WORKER_H
#define RS_NET_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "proxy/core/loop.h"
#include "proxy/core/snapshot.h"
#include "proxy/core/timer.h"
#include "proxy/net/listener.h"

struct rs_qsbr;
struct rs_stats_shard;

/* Anything long-lived on a worker (a proxied connection) links itself here so drain and stop can
 * reach it. close(now=false): finish gracefully if the protocol can; now=true: close at once. */
struct rs_active {
    void (*close)(struct rs_active *a, bool now);
    struct rs_active *prev, *next;
};

struct rs_worker_listener {
    struct rs_io accept_io;
    struct rs_timer retry_timer; /* re-arms accept after EMFILE/ENFILE instead of spinning */
    struct rs_worker *worker;
    struct rs_listener *listener;
    int fd;
    bool accepting;
    bool closed;
};

struct rs_worker {
    unsigned id;
    struct rs_loop *loop;         /* owned; created on the worker's own thread */
    struct rs_stats_shard *stats; /* owned by the stats store */
    struct rs_qsbr *qsbr;
    pthread_t thread;

    /* The published configuration; each accepted connection takes a reference on it. */
    struct rs_snapshot_slot *snapshot_slot;
    /* Listeners of the running config (borrowed: the config outlives the worker). */
    struct rs_listener **listeners;
    unsigned n_listeners;
    struct rs_worker_listener *wl; /* owned, one per listener */

    struct rs_active *active;
    unsigned n_active;
    _Atomic unsigned n_active_shared; /* n_active, readable by the main thread while draining */
    bool draining;
    bool stopping;
    struct rs_timer stop_timer;

    /* Set by the worker once its loop exists (start-up handshake). */
    pthread_mutex_t ready_lock;
    pthread_cond_t ready_cond;
    int ready; /* 0 pending, 1 running, -1 failed */
};

/* Starts the thread; returns once its loop runs (0) or failed (-1, reason logged). */
int rs_worker_start(struct rs_worker *w);
/* From the main thread (`from` is its loop: the wake-up is an IORING_OP_MSG_RING): stop accepting
 * and ask connections to finish. */
void rs_worker_post_drain(struct rs_worker *w, struct rs_loop *from);
/* From the main thread: close everything now, then end the thread. */
void rs_worker_post_stop(struct rs_worker *w, struct rs_loop *from);
void rs_worker_join(struct rs_worker *w);

void rs_worker_active_add(struct rs_worker *w, struct rs_active *a);
void rs_worker_active_remove(struct rs_worker *w, struct rs_active *a);

/* Hands an accepted connection to the listener's matching filter chain (also used after an
 * original-destination hand-off). Takes ownership of a->fd and of the reference a->snapshot. */
void rs_worker_dispatch(struct rs_worker *w, struct rs_accepted *a);

#endif
