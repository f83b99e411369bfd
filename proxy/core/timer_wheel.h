/* Internal to proxy/core: the per-loop timing wheel behind timer.h. */
#ifndef RS_CORE_TIMER_WHEEL_H
#define RS_CORE_TIMER_WHEEL_H

#include <stdint.h>

#include "proxy/core/timer.h"

#define RS_TIMER_SLOTS 1024u /* one revolution = 1024 ticks of RS_TIMER_TICK_MS (~4 s) */

struct rs_timer_wheel {
    struct rs_timer *slots[RS_TIMER_SLOTS];
    uint64_t occupied[RS_TIMER_SLOTS / 64]; /* bit per non-empty slot: finds the next one fast */
    uint64_t done_tick;                     /* every slot up to this tick has been processed */
    unsigned count;
};

void rs_timer_wheel_init(struct rs_timer_wheel *w, uint64_t now_ms);
/* Fires every timer whose deadline is <= now_ms. */
void rs_timer_wheel_expire(struct rs_loop *loop, struct rs_timer_wheel *w, uint64_t now_ms);
/* Milliseconds until the loop should wake for timers; -1 if none is armed. */
int64_t rs_timer_wheel_next_ms(const struct rs_timer_wheel *w, uint64_t now_ms);

/* Supplied by loop.c. */
struct rs_timer_wheel *rs_loop_timer_wheel_(struct rs_loop *loop);

#endif
