#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proxy/core/buffer.h"
#include "proxy/core/loop.h"

static struct rs_loop *loop;

static int setup(void **state)
{
    (void)state;
    char err[128];
    struct rs_loop_options opt = {.buf_count = 8, .buf_size = 64, .name = "t"};
    loop = rs_loop_new(&opt, err, sizeof err);
    return loop ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rs_loop_free(loop);
    return 0;
}

/* Pretends buffer bid was received with `text` in it (as a multishot receive would hand it). */
static void receive(uint16_t bid, const char *text)
{
    uint8_t *p = rs_loop_buf_take(loop, bid);
    memcpy(p, text, strlen(text));
}

static void slices_share_a_received_buffer(void **state)
{
    (void)state;
    receive(0, "HEADbody");
    struct rs_buffer head, body;
    rs_buffer_init(&head, loop);
    rs_buffer_init(&body, loop);
    assert_int_equal(rs_buffer_add_loop(&head, 0, 0, 4), 0);
    assert_int_equal(rs_buffer_add_loop(&body, 0, 4, 4), 0);
    rs_loop_buf_release(loop, 0); /* the receiver's own reference */
    assert_int_equal(rs_loop_bufs_in_use(loop), 1);
    rs_buffer_clear(&head);
    assert_int_equal(rs_loop_bufs_in_use(loop), 1); /* body still holds it */
    char out[8];
    assert_int_equal(rs_buffer_copy_out(&body, 0, out, sizeof out), 4);
    assert_memory_equal(out, "body", 4);
    rs_buffer_clear(&body);
    assert_int_equal(rs_loop_bufs_in_use(loop), 0);
}

static void move_splits_and_drain(void **state)
{
    (void)state;
    receive(1, "0123456789");
    struct rs_buffer a, b;
    rs_buffer_init(&a, loop);
    rs_buffer_init(&b, loop);
    rs_buffer_add_loop(&a, 1, 0, 10);
    rs_loop_buf_release(loop, 1);
    rs_buffer_add_copy(&a, "abcdef", 6);
    assert_int_equal(rs_buffer_len(&a), 16);
    /* 12 bytes: the whole loop slice and a copied part of the heap slice. */
    assert_int_equal(rs_buffer_move(&b, &a, 12), 12);
    assert_int_equal(rs_buffer_len(&a), 4);
    assert_int_equal(rs_buffer_len(&b), 12);
    char out[16];
    assert_int_equal(rs_buffer_copy_out(&b, 0, out, 12), 12);
    assert_memory_equal(out, "0123456789ab", 12);
    assert_int_equal(rs_buffer_copy_out(&a, 0, out, 16), 4);
    assert_memory_equal(out, "cdef", 4);
    /* Splitting a loop slice keeps both halves valid with one reference each. */
    rs_buffer_clear(&a);
    rs_buffer_init(&a, loop);
    assert_int_equal(rs_buffer_move(&a, &b, 3), 3);
    rs_buffer_drain(&b, 2);
    assert_int_equal(rs_buffer_copy_out(&b, 0, out, 16), 7);
    assert_memory_equal(out, "56789ab", 7);
    struct iovec iov[4];
    assert_int_equal(rs_buffer_iov(&b, iov, 4), 2);
    assert_int_equal(iov[0].iov_len, 5);
    rs_buffer_clear(&a);
    assert_int_equal(rs_loop_bufs_in_use(loop), 1);
    rs_buffer_clear(&b);
    assert_int_equal(rs_loop_bufs_in_use(loop), 0);
}

static void many_slices_grow_the_ring(void **state)
{
    (void)state;
    struct rs_buffer a;
    rs_buffer_init(&a, loop);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rs_buffer_add_copy(&a, "x", 1), 0);
    assert_int_equal(rs_buffer_len(&a), 1000);
    rs_buffer_drain(&a, 999);
    assert_int_equal(rs_buffer_len(&a), 1);
    rs_buffer_clear(&a);
    assert_int_equal(rs_buffer_len(&a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slices_share_a_received_buffer),
        cmocka_unit_test(move_splits_and_drain),
        cmocka_unit_test(many_slices_grow_the_ring),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
