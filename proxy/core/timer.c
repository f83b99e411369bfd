#include "proxy/core/timer.h"

#include <stddef.h>

#include "proxy/core/loop.h"
#include "proxy/core/timer_wheel.h"

static unsigned slot_of(uint64_t tick)
{
    return (unsigned)(tick & (RS_TIMER_SLOTS - 1));
}

static void link_timer(struct rs_timer_wheel *w, struct rs_timer *t)
{
    unsigned s = slot_of(t->deadline_ms / RS_TIMER_TICK_MS);
    t->prev = NULL;
    t->next = w->slots[s];
    if (t->next)
        t->next->prev = t;
    w->slots[s] = t;
    w->occupied[s / 64] |= 1ull << (s % 64);
}

static void unlink_timer(struct rs_timer_wheel *w, struct rs_timer *t)
{
    unsigned s = slot_of(t->deadline_ms / RS_TIMER_TICK_MS);
    if (t->prev)
        t->prev->next = t->next;
    else
        w->slots[s] = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (w->slots[s] == NULL)
        w->occupied[s / 64] &= ~(1ull << (s % 64));
    t->next = t->prev = NULL;
}

void rs_timer_init(struct rs_timer *timer, rs_timer_cb cb)
{
    timer->cb = cb;
    timer->deadline_ms = 0;
    timer->next = timer->prev = NULL;
    timer->armed = false;
}

void rs_timer_arm(struct rs_loop *loop, struct rs_timer *timer, uint64_t delay_ms)
{
    struct rs_timer_wheel *w = rs_loop_timer_wheel_(loop);
    if (timer->armed)
        rs_timer_cancel(loop, timer);
    /* Rounded up to a tick boundary: a slot's timers are then all due when its tick comes. */
    uint64_t due = rs_loop_now_ms(loop) + delay_ms;
    timer->deadline_ms = (due + RS_TIMER_TICK_MS - 1) / RS_TIMER_TICK_MS * RS_TIMER_TICK_MS;
    /* A deadline in an already-processed tick goes in the next tick's slot so it is not
     * forgotten for a whole revolution. */
    uint64_t min_deadline = (w->done_tick + 1) * RS_TIMER_TICK_MS;
    if (timer->deadline_ms < min_deadline)
        timer->deadline_ms = min_deadline;
    timer->armed = true;
    link_timer(w, timer);
    w->count++;
}

void rs_timer_cancel(struct rs_loop *loop, struct rs_timer *timer)
{
    if (!timer->armed)
        return;
    struct rs_timer_wheel *w = rs_loop_timer_wheel_(loop);
    unlink_timer(w, timer);
    timer->armed = false;
    w->count--;
}

void rs_timer_wheel_init(struct rs_timer_wheel *w, uint64_t now_ms)
{
    for (unsigned i = 0; i < RS_TIMER_SLOTS; i++)
        w->slots[i] = NULL;
    for (unsigned i = 0; i < RS_TIMER_SLOTS / 64; i++)
        w->occupied[i] = 0;
    w->done_tick = now_ms / RS_TIMER_TICK_MS;
    w->count = 0;
}

static void expire_slot(struct rs_loop *loop, struct rs_timer_wheel *w, unsigned s, uint64_t now_ms)
{
    /* Detach the whole slot first: callbacks may arm timers into this same slot. */
    struct rs_timer *list = w->slots[s];
    w->slots[s] = NULL;
    w->occupied[s / 64] &= ~(1ull << (s % 64));
    while (list) {
        struct rs_timer *t = list;
        list = t->next;
        if (list)
            list->prev = NULL;
        t->next = t->prev = NULL;
        if (t->deadline_ms <= now_ms) {
            t->armed = false;
            w->count--;
            t->cb(loop, t);
        } else {
            link_timer(w, t); /* a later revolution */
        }
    }
}

void rs_timer_wheel_expire(struct rs_loop *loop, struct rs_timer_wheel *w, uint64_t now_ms)
{
    uint64_t now_tick = now_ms / RS_TIMER_TICK_MS;
    if (now_tick <= w->done_tick)
        return;
    uint64_t from = w->done_tick + 1;
    /* After a long stall, one pass over every slot covers all ticks. */
    if (now_tick - from >= RS_TIMER_SLOTS)
        from = now_tick - RS_TIMER_SLOTS + 1;
    w->done_tick = now_tick;
    for (uint64_t tick = from; tick <= now_tick; tick++) {
        unsigned s = slot_of(tick);
        if (w->occupied[s / 64] & (1ull << (s % 64)))
            expire_slot(loop, w, s, now_ms);
    }
}

int64_t rs_timer_wheel_next_ms(const struct rs_timer_wheel *w, uint64_t now_ms)
{
    if (w->count == 0)
        return -1;
    /* The first non-empty slot after done_tick; its timers may belong to a later revolution, in
     * which case the loop wakes once early and finds nothing: cheap, and keeps this O(slots/64). */
    for (uint64_t i = 1; i <= RS_TIMER_SLOTS; i++) {
        uint64_t tick = w->done_tick + i;
        unsigned s = slot_of(tick);
        uint64_t word = w->occupied[s / 64] >> (s % 64);
        if (word == 0) {
            i += 63 - (s % 64); /* skip the rest of this word */
            continue;
        }
        if (word & 1) {
            uint64_t due = tick * RS_TIMER_TICK_MS;
            return due > now_ms ? (int64_t)(due - now_ms) : 0;
        }
        unsigned skip = (unsigned)__builtin_ctzll(word);
        i += skip - 1;
    }
    return RS_TIMER_SLOTS * RS_TIMER_TICK_MS;
}
