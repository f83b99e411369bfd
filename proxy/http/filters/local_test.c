/* Router answers that never reach an upstream (or fail before one answers): no route, direct
 * response, redirect, unknown cluster, no healthy host, connection refused. */
#include "proxy/http/filters/router_test_util.h"

static void no_route_404(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/nowhere", NULL);
    assert_int_equal(send_headers(s, true), RS_FILTER_STOP);
    assert_int_equal(s->local_status, 404);
    assert_string_equal(s->local_details, "route_not_found");
    assert_int_equal(s->local_flags, RS_RF_NR);
    stream_free(s);
}

static void direct_response(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/direct", NULL);
    send_headers(s, false);
    send_data(e, s, "ignored", true); /* a body after a local answer goes nowhere */
    assert_true(s->done);
    assert_string_equal(resp_header(s, ":status"), "200");
    assert_string_equal(resp_header(s, "content-type"), "text/plain");
    assert_string_equal(resp_header(s, "x-direct"), "d");
    assert_int_equal(s->body_len, 5);
    assert_memory_equal(s->body, "hello", 5);
    assert_string_equal(s->si.response_code_details, "direct_response");
    stream_free(s);
}

static void redirect(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/redir/a?x=1", NULL);
    send_headers(s, true);
    assert_true(s->done);
    assert_int_equal(s->local_status, 0);
    assert_string_equal(resp_header(s, ":status"), "302");
    assert_string_equal(resp_header(s, "location"), "http://example.com/redir/a?x=1");
    assert_string_equal(s->si.response_code_details, "direct_response");
    stream_free(s);
}

static void cluster_not_found(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/nocluster", NULL);
    send_headers(s, true);
    assert_int_equal(s->local_status, 503);
    assert_int_equal(s->local_flags, RS_RF_NC);
    stream_free(s);
}

static void no_healthy_host(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/empty", NULL);
    send_headers(s, true);
    assert_int_equal(s->local_status, 503);
    assert_string_equal(s->local_body, "no healthy upstream");
    assert_string_equal(s->local_details, "no_healthy_upstream");
    assert_int_equal(s->local_flags, RS_RF_UH);
    rs_stat_id id = rs_stats_find(e->store, "cluster.empty.upstream_cx_none_healthy", NULL);
    assert_int_equal(rs_stats_counter_value(e->store, id), 1);
    stream_free(s);
}

static void connect_refused(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "POST", "/refused", NULL);
    send_headers(s, false);
    send_data(e, s, "body", true); /* queued while connecting, dropped with the failure */
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 503);
    assert_int_equal(s->local_flags, RS_RF_UF);
    assert_non_null(strstr(s->local_details, "upstream_reset_before_response_started{"));
    assert_non_null(strstr(s->local_details, "connection_failure"));
    assert_non_null(strstr(s->local_body, "upstream connect error or disconnect/reset"));
    rs_stat_id id = rs_stats_find(e->store, "cluster.refused.upstream_rq_503", NULL);
    assert_int_equal(rs_stats_counter_value(e->store, id), 1);
    id = rs_stats_find(e->store, "cluster.refused.upstream_rq_total", NULL);
    assert_int_equal(rs_stats_counter_value(e->store, id), 0); /* never bound to a connection */
    stream_free(s);
}

static void downstream_reset_while_connecting(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    s->filter->ops->on_reset(s->filter, RS_RESET_DOWNSTREAM_CLOSED);
    stream_free(s);
    /* A connection already being made may go on and idle in the pool; teardown checks that every
     * socket is closed in the end. */
    turns(e, 5);
    int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
    turns(e, 5);
    if (fd >= 0)
        close(fd);
    turns(e, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_route_404, setup, teardown),
        cmocka_unit_test_setup_teardown(direct_response, setup, teardown),
        cmocka_unit_test_setup_teardown(redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(cluster_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(no_healthy_host, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(downstream_reset_while_connecting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
