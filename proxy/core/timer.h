/* Timers on a loop: a hashed timing wheel per loop, so arming and cancelling are O(1) and a loop
 * with 10k idle connections (each with an idle timer) pays nothing per turn for them. The loop
 * sleeps at most until the nearest non-empty slot. Resolution: RS_TIMER_TICK_MS. */
#ifndef RS_CORE_TIMER_H
#define RS_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define RS_TIMER_TICK_MS 4u

struct rs_loop;
struct rs_timer;
typedef void (*rs_timer_cb)(struct rs_loop *loop, struct rs_timer *timer);

/* Embedded in its owner; zero-initialised or rs_timer_init'ed before first use. */
struct rs_timer {
    rs_timer_cb cb;
    uint64_t deadline_ms;
    struct rs_timer *next, *prev;
    bool armed;
};

void rs_timer_init(struct rs_timer *timer, rs_timer_cb cb);
/* Fires cb once, no earlier than delay_ms from now (re-arming moves it). */
void rs_timer_arm(struct rs_loop *loop, struct rs_timer *timer, uint64_t delay_ms);
void rs_timer_cancel(struct rs_loop *loop, struct rs_timer *timer);
static inline bool rs_timer_armed(const struct rs_timer *timer)
{
    return timer->armed;
}

#endif
