/* A single-producer single-consumer byte ring: one worker appends whole log lines, the writer
 * thread takes them out. The producer owns `tail`, the consumer owns `head`; each publishes its
 * index with a release store and reads the other's with an acquire load, so no lock is needed
 * and a line is either entirely in the ring or not at all. The indices live on separate cache
 * lines so the two threads do not bounce one line between them on every append. */
#ifndef RS_HTTP_ACCESS_LOG_RING_H
#define RS_HTTP_ACCESS_LOG_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rs_alog_ring {
    /* producer side */
    _Alignas(64) _Atomic(size_t) tail;
    _Atomic(uint64_t) lines;   /* lines accepted (written by the producer only) */
    _Atomic(uint64_t) dropped; /* lines refused because the ring was full (producer only) */
    _Atomic(bool) wake_sent;   /* set by the producer when it woke the consumer, cleared by it */
    /* consumer side */
    _Alignas(64) _Atomic(size_t) head;
    uint64_t lines_seen, dropped_seen; /* consumer's last published totals (for stat deltas) */
    /* fixed at creation */
    size_t cap; /* a power of two */
    char *data;
};

/* Producer: appends len bytes, or counts a drop when they do not fit. Returns the bytes now
 * buffered (0 when dropped). */
static inline size_t rs_alog_ring_push(struct rs_alog_ring *r, const char *p, size_t len)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (len == 0 || len > r->cap - (tail - head)) {
        if (len > 0)
            atomic_store_explicit(&r->dropped,
                                  atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
        return 0;
    }
    size_t off = tail & (r->cap - 1);
    size_t first = r->cap - off < len ? r->cap - off : len;
    memcpy(r->data + off, p, first);
    memcpy(r->data, p + first, len - first);
    atomic_store_explicit(&r->tail, tail + len, memory_order_release);
    atomic_store_explicit(&r->lines, atomic_load_explicit(&r->lines, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return tail + len - head;
}

#endif
