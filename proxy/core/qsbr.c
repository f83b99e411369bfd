#include "proxy/core/qsbr.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* A reader's `seen` is the global epoch it last observed at a quiescent point; 0 means offline
 * (sleeping in the kernel, holding no pointers). */
struct rs_qsbr_reader {
    _Atomic uint64_t seen;
    struct rs_qsbr *q;
    struct rs_qsbr_reader *next;
};

struct retired {
    void *ptr;
    void (*free_fn)(void *);
    uint64_t epoch;
    struct retired *next;
};

struct rs_qsbr {
    _Atomic uint64_t epoch;
    pthread_mutex_t readers_lock; /* registration and reclaim only, never readers' fast path */
    struct rs_qsbr_reader *readers;
    struct retired *retired; /* owned by the reclaiming thread */
    unsigned n_retired;
};

struct rs_qsbr *rs_qsbr_new(void)
{
    struct rs_qsbr *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    atomic_init(&q->epoch, 1);
    pthread_mutex_init(&q->readers_lock, NULL);
    return q;
}

void rs_qsbr_free(struct rs_qsbr *q)
{
    if (q == NULL)
        return;
    for (struct retired *r = q->retired, *next; r; r = next) {
        next = r->next;
        r->free_fn(r->ptr);
        free(r);
    }
    for (struct rs_qsbr_reader *r = q->readers, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    pthread_mutex_destroy(&q->readers_lock);
    free(q);
}

struct rs_qsbr_reader *rs_qsbr_register(struct rs_qsbr *q)
{
    struct rs_qsbr_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->q = q;
    atomic_init(&r->seen, atomic_load(&q->epoch));
    pthread_mutex_lock(&q->readers_lock);
    r->next = q->readers;
    q->readers = r;
    pthread_mutex_unlock(&q->readers_lock);
    return r;
}

void rs_qsbr_unregister(struct rs_qsbr_reader *r)
{
    struct rs_qsbr *q = r->q;
    pthread_mutex_lock(&q->readers_lock);
    for (struct rs_qsbr_reader **p = &q->readers; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    pthread_mutex_unlock(&q->readers_lock);
    free(r);
}

void rs_qsbr_quiescent(struct rs_qsbr_reader *r)
{
    atomic_store(&r->seen, atomic_load(&r->q->epoch));
}

void rs_qsbr_offline(struct rs_qsbr_reader *r)
{
    atomic_store(&r->seen, 0);
}

void rs_qsbr_online(struct rs_qsbr_reader *r)
{
    rs_qsbr_quiescent(r);
}

void rs_qsbr_retire(struct rs_qsbr *q, void *ptr, void (*free_fn)(void *ptr))
{
    struct retired *r = malloc(sizeof *r);
    if (r == NULL)
        abort();
    r->ptr = ptr;
    r->free_fn = free_fn;
    /* Readers that observe this new epoch did so after the pointer was unpublished. */
    r->epoch = atomic_fetch_add(&q->epoch, 1) + 1;
    r->next = q->retired;
    q->retired = r;
    q->n_retired++;
}

unsigned rs_qsbr_reclaim(struct rs_qsbr *q)
{
    uint64_t min_seen = UINT64_MAX;
    pthread_mutex_lock(&q->readers_lock);
    for (struct rs_qsbr_reader *r = q->readers; r; r = r->next) {
        uint64_t seen = atomic_load(&r->seen);
        if (seen != 0 && seen < min_seen)
            min_seen = seen;
    }
    pthread_mutex_unlock(&q->readers_lock);
    for (struct retired **p = &q->retired; *p;) {
        struct retired *r = *p;
        if (r->epoch <= min_seen) {
            *p = r->next;
            r->free_fn(r->ptr);
            free(r);
            q->n_retired--;
        } else {
            p = &r->next;
        }
    }
    return q->n_retired;
}
