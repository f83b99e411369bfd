/* A configuration snapshot: immutable once published, reference counted, and freed on the thread
 * that built it (the main thread), whichever thread drops the last reference.
 *
 * The main thread publishes the current snapshot through an atomic pointer. A worker reads that
 * pointer only within a loop turn and takes a reference for each connection it accepts, so a
 * connection keeps the configuration it started with across updates. Replacing the published
 * pointer drops the publisher's reference through QSBR (rs_snapshot_publish), so no worker can be
 * between reading the pointer and taking its reference when the count could reach zero. */
#ifndef RS_CORE_SNAPSHOT_H
#define RS_CORE_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

struct rs_loop;
struct rs_qsbr;

struct rs_snapshot {
    _Atomic uint64_t refs;
    uint64_t version;
    void *data; /* owned: freed with free_data on the owner loop */
    void (*free_data)(void *data);
    struct rs_loop *owner; /* the loop (thread) that frees it */
};

/* A new snapshot with one reference (the caller's). */
struct rs_snapshot *rs_snapshot_new(void *data, void (*free_data)(void *), struct rs_loop *owner,
                                    uint64_t version);
struct rs_snapshot *rs_snapshot_ref(struct rs_snapshot *s);
/* Drops a reference; the last one frees the snapshot on its owner loop. `from` is the calling
 * thread's loop (NULL on a thread without one). */
void rs_snapshot_unref(struct rs_snapshot *s, struct rs_loop *from);

/* The published pointer and its reader side. */
struct rs_snapshot_slot {
    _Atomic(struct rs_snapshot *) current;
};
/* Workers: the current snapshot with a new reference, or NULL if none is published. Call within
 * a loop turn (see qsbr.h). */
struct rs_snapshot *rs_snapshot_acquire(struct rs_snapshot_slot *slot);
/* Main thread: publishes s (taking over the caller's reference); the previous snapshot's
 * publisher reference is dropped once every worker has passed a quiescent state. */
void rs_snapshot_publish(struct rs_snapshot_slot *slot, struct rs_snapshot *s, struct rs_qsbr *q);
/* Main thread, at exit: unpublishes and drops the publisher's reference now (workers stopped). */
void rs_snapshot_clear(struct rs_snapshot_slot *slot);

#endif
