/* Connect failures and timeouts, cancellation, drain and free. */
#include "proxy/http/pool/pool_test_util.h"

static void connect_refused(void **state)
{
    struct env *e = *state;
    struct sockaddr_in addr;
    int fd = listener(1, &addr);
    close(fd); /* nothing listens on this port any more */
    struct rs_host *dead = rs_host_new((struct sockaddr *)&addr, sizeof addr, NULL, 1, NULL);
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, dead, &u.req);
    RUN_UNTIL(e, u.calls == 1);
    assert_int_equal(u.err, -ECONNREFUSED);
    assert_null(u.pc);
    assert_int_equal(counter(e, "upstream_cx_connect_fail"), 1);
    assert_int_equal(counter(e, "upstream_cx_connect_timeout"), 0);
    assert_int_equal(atomic_load(&dead->stats.cx_connect_fail), 1);
    free_pool(e, p);
    assert_int_equal(atomic_load(&dead->refs), 1); /* the pool let go of the host */
    rs_host_unref(dead);
}

/* A caller that acquires again from its failure callback (a retry) is answered on a later turn,
 * never in a loop inside the first answer; freeing the pool from a callback is allowed. */
struct retrier {
    struct user u;
    struct rs_h1_pool *pool;
    struct rs_host *host;
    int max_tries;
    bool free_on_last;
};

static void retry_on_ready(struct rs_h1_pool_request *req, struct rs_pooled_conn *pc, int err)
{
    struct retrier *r = (struct retrier *)((char *)req - offsetof(struct retrier, u.req));
    u_on_ready(req, pc, err);
    if (r->u.calls < r->max_tries)
        rs_h1_pool_acquire(r->pool, r->host, req);
    else if (r->free_on_last)
        rs_h1_pool_free(r->pool);
}

static void acquire_again_from_callback(void **state)
{
    struct env *e = *state;
    struct sockaddr_in addr;
    close(listener(1, &addr));
    struct rs_host *dead = rs_host_new((struct sockaddr *)&addr, sizeof addr, NULL, 1, NULL);
    struct retrier r = {.max_tries = 3, .free_on_last = true, .host = dead};
    user_init(&r.u, e);
    r.u.req.on_ready = retry_on_ready;
    r.pool = pool_with(e, 0, 0, 1000);
    rs_h1_pool_acquire(r.pool, dead, &r.u.req);
    int last = 0;
    for (int i = 0; i < 100 && r.u.calls < 3; i++) {
        rs_loop_run_once(e->loop, 5);
        assert_true(r.u.calls - last <= 1); /* one answer per turn at most */
        last = r.u.calls;
    }
    assert_int_equal(r.u.calls, 3);
    assert_int_equal(r.u.err, -ECONNREFUSED);
    turns(e, 10); /* the pool freed itself from the last callback */
    assert_int_equal(r.u.calls, 3);
    assert_int_equal(counter(e, "upstream_cx_connect_fail"), 3);
    assert_int_equal(atomic_load(&dead->refs), 1);
    rs_host_unref(dead);
}

static void connect_timeout(void **state)
{
    struct env *e = *state;
    struct hole hole;
    if (!hole_open(&hole)) {
        hole_close(&hole);
        skip(); /* the kernel accepted everything: no black hole to test against */
    }
    struct rs_host *h = rs_host_new((struct sockaddr *)&hole.addr, sizeof hole.addr, NULL, 1, NULL);
    struct rs_h1_pool *p = pool_with(e, 0, 0, 100);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, h, &u.req);
    RUN_UNTIL(e, u.calls == 1);
    assert_int_equal(u.err, -ETIMEDOUT);
    assert_int_equal(counter(e, "upstream_cx_connect_timeout"), 1);
    assert_int_equal(counter(e, "upstream_cx_connect_fail"), 1);
    assert_int_equal(atomic_load(&h->stats.cx_connect_fail), 1);
    free_pool(e, p);
    rs_host_unref(h);
    hole_close(&hole);
}

static void cancel_before_ready_keeps_connection(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 5000);
    struct user u, v;
    user_init(&u, e);
    user_init(&v, e);
    /* Cancelled before the dispatch even ran: no connection at all. */
    rs_h1_pool_acquire(p, e->host, &v.req);
    rs_h1_pool_cancel(&v.req);
    turns(e, 5);
    assert_int_equal(v.calls, 0);
    assert_true(nothing_to_accept(e));
    assert_int_equal(counter(e, "upstream_cx_total"), 0);

    /* Cancelled while its connection is being made (a loopback connect completes within the turn
     * that submits it, so hold it in a full accept queue). */
    struct hole hole;
    if (!hole_open(&hole)) {
        hole_close(&hole);
        rs_h1_pool_free(p);
        turns(e, 5);
        skip();
    }
    struct rs_host *h = rs_host_new((struct sockaddr *)&hole.addr, sizeof hole.addr, NULL, 1, NULL);
    rs_h1_pool_acquire(p, h, &u.req);
    turns(e, 3);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.connecting, 1);
    rs_h1_pool_cancel(&u.req);
    /* Make room in the queue (keep accepting: the fillers' SYNs are retransmitted too) until our
     * retransmitted SYN gets through. The accepted sockets stay open: a close would end it. */
    int accepted[16], n_acc = 0;
    for (int i = 0; i < 1000; i++) {
        int a;
        while (n_acc < 16 && (a = accept4(hole.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
            accepted[n_acc++] = a;
        rs_h1_pool_counts(p, &n);
        if (n.idle == 1)
            break;
        rs_loop_run_once(e->loop, 5);
    }
    assert_int_equal(n.idle, 1); /* not wasted: it idles in the pool */
    assert_int_equal(u.calls, 0);
    rs_h1_pool_cancel(&u.req); /* harmless once done */
    /* And the idle one serves the next request. */
    rs_h1_pool_acquire(p, h, &v.req);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_true(rs_pooled_conn_reused(v.pc) == false); /* first use of that connection */
    rs_h1_pool_release(p, v.pc, true);
    assert_int_equal(counter(e, "upstream_cx_total"), 1);
    free_pool(e, p);
    rs_host_unref(h);
    hole_close(&hole);
    for (int i = 0; i < n_acc; i++)
        close(accepted[i]);
}

static void drain_closes_idle_and_released(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user a, b, c;
    user_init(&a, e);
    user_init(&b, e);
    user_init(&c, e);
    rs_h1_pool_acquire(p, e->host, &a.req);
    rs_h1_pool_acquire(p, e->host, &b.req);
    int s1 = accept_one(e), s2 = accept_one(e);
    RUN_UNTIL(e, a.calls == 1 && b.calls == 1);
    rs_h1_pool_release(p, a.pc, true);
    rs_h1_pool_drain(p);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 0);
    assert_int_equal(n.in_use, 1);
    rs_h1_pool_release(p, b.pc, true); /* reusable, but the pool is draining */
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 0);
    assert_int_equal(n.in_use, 0);
    rs_h1_pool_acquire(p, e->host, &c.req);
    assert_int_equal(c.calls, 0);
    RUN_UNTIL(e, c.calls == 1);
    assert_int_equal(c.err, -ESHUTDOWN);
    turns(e, 5);
    char ch;
    assert_int_equal(recv(s1, &ch, 1, MSG_DONTWAIT), 0);
    assert_int_equal(recv(s2, &ch, 1, MSG_DONTWAIT), 0);
    assert_int_equal(counter(e, "upstream_cx_destroy"), 2);
    free_pool(e, p);
    close(s1);
    close(s2);
}

static void free_with_pending_and_lent(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user a, b;
    user_init(&a, e);
    user_init(&b, e);
    rs_h1_pool_acquire(p, e->host, &a.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, a.calls == 1);
    struct hole hole;
    bool have_hole = hole_open(&hole);
    struct rs_host *h = NULL;
    struct user c;
    user_init(&c, e);
    if (have_hole) {
        h = rs_host_new((struct sockaddr *)&hole.addr, sizeof hole.addr, NULL, 1, NULL);
        rs_h1_pool_acquire(p, h, &c.req);
        turns(e, 3);
        struct rs_h1_pool_counts n;
        rs_h1_pool_counts(p, &n);
        assert_int_equal(n.connecting, 1); /* abandoned by free */
    }
    rs_h1_pool_acquire(p, e->host, &b.req); /* not dispatched yet */
    rs_h1_pool_free(p);
    turns(e, 10);
    assert_int_equal(b.calls, 0); /* dropped silently */
    assert_int_equal(c.calls, 0);
    if (h) {
        assert_int_equal(atomic_load(&h->refs), 1);
        assert_int_equal(atomic_load(&h->stats.cx_active), 0);
        rs_host_unref(h);
    }
    hole_close(&hole);
    /* The lent connection still works, and closes on release. */
    exchange(e, &a, sfd);
    rs_h1_pool_release(p, a.pc, true);
    turns(e, 10);
    char ch;
    assert_int_equal(recv(sfd, &ch, 1, MSG_DONTWAIT), 0);
    close(sfd);
    int extra;
    while ((extra = accept4(e->lfd, NULL, NULL, 0)) >= 0)
        close(extra);
    assert_int_equal(atomic_load(&e->host->refs), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(acquire_again_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_before_ready_keeps_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(drain_closes_idle_and_released, setup, teardown),
        cmocka_unit_test_setup_teardown(free_with_pending_and_lent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
