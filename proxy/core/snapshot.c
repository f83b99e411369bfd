#include "proxy/core/snapshot.h"

#include <stdlib.h>

#include "proxy/core/log.h"
#include "proxy/core/loop.h"
#include "proxy/core/qsbr.h"

struct rs_snapshot *rs_snapshot_new(void *data, void (*free_data)(void *), struct rs_loop *owner,
                                    uint64_t version)
{
    struct rs_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    atomic_init(&s->refs, 1);
    s->data = data;
    s->free_data = free_data;
    s->owner = owner;
    s->version = version;
    return s;
}

struct rs_snapshot *rs_snapshot_ref(struct rs_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

static void free_on_owner(struct rs_loop *loop, void *arg)
{
    (void)loop;
    struct rs_snapshot *s = arg;
    if (s->free_data)
        s->free_data(s->data);
    free(s);
}

void rs_snapshot_unref(struct rs_snapshot *s, struct rs_loop *from)
{
    if (s == NULL)
        return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (from == s->owner || s->owner == NULL) {
        free_on_owner(from, s);
        return;
    }
    if (rs_loop_post(from, s->owner, free_on_owner, s) < 0) {
        /* Out of memory for the post: leaking one snapshot beats freeing it on the wrong
         * thread. */
        RS_ERROR("snapshot %llu: cannot hand back to its owner for freeing",
                 (unsigned long long)s->version);
    }
}

struct rs_snapshot *rs_snapshot_acquire(struct rs_snapshot_slot *slot)
{
    struct rs_snapshot *s = atomic_load_explicit(&slot->current, memory_order_acquire);
    return s ? rs_snapshot_ref(s) : NULL;
}

static void drop_publisher_ref(void *p)
{
    struct rs_snapshot *s = p;
    rs_snapshot_unref(s, s->owner);
}

void rs_snapshot_publish(struct rs_snapshot_slot *slot, struct rs_snapshot *s, struct rs_qsbr *q)
{
    struct rs_snapshot *old = atomic_exchange_explicit(&slot->current, s, memory_order_acq_rel);
    if (old != NULL)
        rs_qsbr_retire(q, old, drop_publisher_ref);
}

void rs_snapshot_clear(struct rs_snapshot_slot *slot)
{
    struct rs_snapshot *old = atomic_exchange(&slot->current, NULL);
    if (old != NULL)
        rs_snapshot_unref(old, old->owner);
}
