#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/core/loop.h"
#include "proxy/core/timer.h"

struct fired {
    struct rs_timer timer;
    uint64_t armed_at;
    uint64_t fired_at;
    int count;
};

static void on_fire(struct rs_loop *loop, struct rs_timer *t)
{
    struct fired *f = (struct fired *)t;
    f->fired_at = rs_loop_now_ms(loop);
    f->count++;
}

static struct rs_loop *new_loop(void)
{
    char err[128];
    struct rs_loop_options opt = {.buf_count = 0, .name = "test"};
    struct rs_loop *loop = rs_loop_new(&opt, err, sizeof err);
    assert_non_null(loop);
    return loop;
}

static void run_until(struct rs_loop *loop, int *count, int want, uint64_t limit_ms)
{
    uint64_t start = rs_loop_now_ms(loop);
    while (*count < want && rs_loop_now_ms(loop) - start < limit_ms)
        assert_int_equal(rs_loop_run_once(loop, 50), 0);
}

static void fires_no_earlier_than_delay(void **state)
{
    (void)state;
    struct rs_loop *loop = new_loop();
    struct fired f = {0};
    rs_timer_init(&f.timer, on_fire);
    f.armed_at = rs_loop_now_ms(loop);
    rs_timer_arm(loop, &f.timer, 30);
    assert_true(rs_timer_armed(&f.timer));
    run_until(loop, &f.count, 1, 2000);
    assert_int_equal(f.count, 1);
    assert_false(rs_timer_armed(&f.timer));
    assert_true(f.fired_at - f.armed_at >= 30);
    assert_true(f.fired_at - f.armed_at < 500);
    rs_loop_free(loop);
}

static void cancelled_timer_never_fires(void **state)
{
    (void)state;
    struct rs_loop *loop = new_loop();
    struct fired a = {0}, b = {0};
    rs_timer_init(&a.timer, on_fire);
    rs_timer_init(&b.timer, on_fire);
    rs_timer_arm(loop, &a.timer, 10);
    rs_timer_arm(loop, &b.timer, 40);
    rs_timer_cancel(loop, &a.timer);
    run_until(loop, &b.count, 1, 2000);
    assert_int_equal(a.count, 0);
    assert_int_equal(b.count, 1);
    rs_loop_free(loop);
}

static void long_timer_survives_revolutions(void **state)
{
    (void)state;
    struct rs_loop *loop = new_loop();
    struct fired f = {0}, short_one = {0};
    rs_timer_init(&f.timer, on_fire);
    rs_timer_init(&short_one.timer, on_fire);
    /* 5 s is more than one revolution of the wheel (~4 s): it must not fire on the first pass. */
    f.armed_at = rs_loop_now_ms(loop);
    rs_timer_arm(loop, &f.timer, 5000);
    rs_timer_arm(loop, &short_one.timer, 5);
    run_until(loop, &f.count, 1, 8000);
    assert_int_equal(f.count, 1);
    assert_int_equal(short_one.count, 1);
    assert_true(f.fired_at - f.armed_at >= 5000);
    rs_loop_free(loop);
}

static void rearm_moves_deadline(void **state)
{
    (void)state;
    struct rs_loop *loop = new_loop();
    struct fired f = {0};
    rs_timer_init(&f.timer, on_fire);
    rs_timer_arm(loop, &f.timer, 10);
    f.armed_at = rs_loop_now_ms(loop);
    rs_timer_arm(loop, &f.timer, 100);
    run_until(loop, &f.count, 1, 2000);
    assert_int_equal(f.count, 1);
    assert_true(f.fired_at - f.armed_at >= 100);
    rs_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fires_no_earlier_than_delay),
        cmocka_unit_test(cancelled_timer_never_fires),
        cmocka_unit_test(long_timer_survives_revolutions),
        cmocka_unit_test(rearm_moves_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
