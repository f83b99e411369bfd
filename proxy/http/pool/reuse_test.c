/* Keep-alive reuse: MRU order, idle connections dropped when the server ends them, idle timeout,
 * the per-host connection limit. */
#include "proxy/http/pool/pool_test_util.h"

static void reuses_released_connection(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    assert_int_equal(u.calls, 0); /* never answered from inside acquire */
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    assert_int_equal(u.err, 0);
    assert_false(rs_pooled_conn_reused(u.pc));
    assert_ptr_equal(rs_pooled_conn_host(u.pc), e->host);
    exchange(e, &u, sfd);
    int fd1 = rs_pooled_conn_conn(u.pc)->fd;
    uint16_t port1 = local_port(u.pc);
    rs_h1_pool_release(p, u.pc, true);

    struct user v;
    user_init(&v, e);
    rs_h1_pool_acquire(p, e->host, &v.req);
    assert_int_equal(v.calls, 0);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_int_equal(rs_pooled_conn_conn(v.pc)->fd, fd1);
    assert_int_equal(local_port(v.pc), port1);
    assert_true(rs_pooled_conn_reused(v.pc));
    assert_true(nothing_to_accept(e));
    exchange(e, &v, sfd); /* the same server socket answers */
    rs_h1_pool_release(p, v.pc, true);

    assert_int_equal(counter(e, "upstream_cx_total"), 1);
    assert_int_equal(atomic_load(&e->host->stats.cx_total), 1);
    assert_int_equal(atomic_load(&e->host->stats.cx_active), 1);
    assert_int_equal(rs_stats_gauge_value(e->store, e->cs.upstream_cx_active), 1);
    free_pool(e, p);
    assert_int_equal(atomic_load(&e->host->stats.cx_active), 0);
    assert_int_equal(rs_stats_gauge_value(e->store, e->cs.upstream_cx_active), 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_local"), 1);
    struct rs_stats_histogram_summary hs;
    rs_stats_histogram_value(e->store, e->cs.upstream_cx_connect_ms, &hs);
    assert_int_equal(hs.count, 1);
    rs_stats_histogram_value(e->store, e->cs.upstream_cx_length_ms, &hs);
    assert_int_equal(hs.count, 1);
    assert_true(counter(e, "upstream_cx_tx_bytes_total") > 0);
    assert_true(counter(e, "upstream_cx_rx_bytes_total") > 0);
    /* The server sees our close. */
    char c;
    assert_int_equal(recv(sfd, &c, 1, 0), 0);
    close(sfd);
}

static void most_recently_used_first(void **state)
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
    assert_ptr_not_equal(a.pc, b.pc);
    uint16_t port_b = local_port(b.pc);
    rs_h1_pool_release(p, a.pc, true);
    rs_h1_pool_release(p, b.pc, true);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 2);
    rs_h1_pool_acquire(p, e->host, &c.req);
    RUN_UNTIL(e, c.calls == 1);
    assert_int_equal(local_port(c.pc), port_b);
    rs_h1_pool_release(p, c.pc, false);
    assert_int_equal(counter(e, "upstream_cx_total"), 2);
    free_pool(e, p);
    close(s1);
    close(s2);
}

static void server_closed_idle_is_dropped(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u, v;
    user_init(&u, e);
    user_init(&v, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    uint16_t port1 = local_port(u.pc);
    rs_h1_pool_release(p, u.pc, true);
    close(sfd); /* the server ends the idle connection */
    struct rs_h1_pool_counts n;
    for (int i = 0; i < 200; i++) {
        rs_h1_pool_counts(p, &n);
        if (n.idle == 0)
            break;
        rs_loop_run_once(e->loop, 5);
    }
    assert_int_equal(n.idle, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_remote"), 1);
    /* The next acquisition gets a new connection, not the dead one. */
    rs_h1_pool_acquire(p, e->host, &v.req);
    int s2 = accept_one(e);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_int_not_equal(local_port(v.pc), port1);
    assert_false(rs_pooled_conn_reused(v.pc));
    rs_h1_pool_release(p, v.pc, true);
    /* Stray bytes on an idle connection end it too (nothing could frame them). */
    assert_int_equal(send(s2, "x", 1, 0), 1);
    for (int i = 0; i < 200; i++) {
        rs_h1_pool_counts(p, &n);
        if (n.idle == 0)
            break;
        rs_loop_run_once(e->loop, 5);
    }
    assert_int_equal(n.idle, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_local"), 1);
    free_pool(e, p);
    close(s2);
}

/* The server's FIN is in the socket but the loop has not reaped it yet when the next dispatch
 * runs (dispatch comes first in a turn): the connection must still not be handed out. */
static void server_close_racing_reuse_is_caught(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 0, 1000);
    struct user u, v;
    user_init(&u, e);
    user_init(&v, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    exchange(e, &u, sfd);
    uint16_t port1 = local_port(u.pc);
    rs_h1_pool_release(p, u.pc, true);
    close(sfd);
    rs_h1_pool_acquire(p, e->host, &v.req); /* no loop turn between the close and this */
    int s2 = accept_one(e);
    RUN_UNTIL(e, v.calls == 1);
    assert_int_equal(v.err, 0);
    assert_int_not_equal(local_port(v.pc), port1);
    assert_false(rs_pooled_conn_reused(v.pc));
    assert_int_equal(v.eofs, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_remote"), 1);
    rs_h1_pool_release(p, v.pc, true);
    free_pool(e, p);
    close(s2);
}

static void idle_timeout_closes(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 60, 0, 1000);
    struct user u;
    user_init(&u, e);
    rs_h1_pool_acquire(p, e->host, &u.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, u.calls == 1);
    rs_h1_pool_release(p, u.pc, true);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 1);
    struct pollfd pfd = {.fd = sfd, .events = POLLIN};
    int closed = 0;
    for (int i = 0; i < 200 && !closed; i++) {
        rs_loop_run_once(e->loop, 5);
        closed = poll(&pfd, 1, 0) == 1;
    }
    assert_true(closed);
    char c;
    assert_int_equal(recv(sfd, &c, 1, 0), 0); /* a FIN, not data */
    assert_int_equal(counter(e, "upstream_cx_idle_timeout"), 1);
    assert_int_equal(counter(e, "upstream_cx_destroy_local"), 1);
    free_pool(e, p);
    close(sfd);
}

static void max_conns_per_host_queues(void **state)
{
    struct env *e = *state;
    struct rs_h1_pool *p = pool_with(e, 0, 1, 1000);
    struct user a, b;
    user_init(&a, e);
    user_init(&b, e);
    rs_h1_pool_acquire(p, e->host, &a.req);
    rs_h1_pool_acquire(p, e->host, &b.req);
    int sfd = accept_one(e);
    RUN_UNTIL(e, a.calls == 1);
    turns(e, 5);
    assert_int_equal(b.calls, 0); /* waits for the only connection */
    assert_true(nothing_to_accept(e));
    assert_true(counter(e, "upstream_cx_overflow") >= 1);
    exchange(e, &a, sfd);
    rs_h1_pool_release(p, a.pc, true);
    assert_int_equal(b.calls, 0);
    RUN_UNTIL(e, b.calls == 1);
    assert_int_equal(b.err, 0);
    assert_true(rs_pooled_conn_reused(b.pc));
    /* A server close seen by the user: not reusable whatever the caller says. */
    close(sfd);
    RUN_UNTIL(e, b.eofs == 1 || b.errors == 1);
    rs_h1_pool_release(p, b.pc, true);
    struct rs_h1_pool_counts n;
    rs_h1_pool_counts(p, &n);
    assert_int_equal(n.idle, 0);
    assert_int_equal(counter(e, "upstream_cx_destroy_remote"), 1);
    free_pool(e, p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reuses_released_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(most_recently_used_first, setup, teardown),
        cmocka_unit_test_setup_teardown(server_closed_idle_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(server_close_racing_reuse_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_timeout_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(max_conns_per_host_queues, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
