/* Retries through the router: a 503 retried with the body replayed, the retry limit, per-try
 * timeouts. */
#include "proxy/http/filters/router_test_util.h"

static void retry_503_then_200(void **state)
{
    struct env *e = *state;
    const char *extra[] = {"content-length", "4", NULL};
    struct rs_http_stream *s = stream_new(e, "POST", "/retry", extra);
    send_headers(s, false);
    send_data(e, s, "abcd", true);
    int fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\nabcd");
    srv_send(fd, "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    int fd2 = srv_accept(e); /* the failed attempt's connection is not reused */
    const char *req = srv_read_until(e, fd2, "\r\n\r\nabcd");
    assert_non_null(strstr(req, "POST /retry HTTP/1.1\r\n"));
    srv_send(fd2, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 0);
    assert_string_equal(resp_header(s, ":status"), "200");
    assert_int_equal(s->body_len, 2);
    assert_int_equal(s->si.upstream_request_attempt_count, 2);
    assert_int_equal(counter(e, "upstream_rq_retry"), 1);
    assert_int_equal(counter(e, "upstream_rq_retry_success"), 1);
    assert_int_equal(counter(e, "upstream_rq_503"), 1);
    assert_int_equal(counter(e, "upstream_rq_200"), 1);
    assert_int_equal(counter(e, "upstream_rq_total"), 2);
    stream_free(s);
    close(fd);
    close(fd2);
}

static void retry_limit_exceeded(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/retry", NULL);
    send_headers(s, true);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = srv_accept(e);
        srv_read_until(e, fds[i], "\r\n\r\n");
        srv_send(fds[i], "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy");
    }
    RUN_UNTIL(e, s->done);
    /* The last upstream answer goes downstream as it is. */
    assert_int_equal(s->local_status, 0);
    assert_string_equal(resp_header(s, ":status"), "503");
    assert_int_equal(s->body_len, 4);
    assert_true(s->si.response_flags & RS_RF_URX);
    assert_int_equal(counter(e, "upstream_rq_retry"), 2);
    assert_int_equal(counter(e, "upstream_rq_retry_limit_exceeded"), 1);
    assert_int_equal(counter(e, "upstream_rq_503"), 3);
    stream_free(s);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

static void per_try_timeout(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/pertry", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    const char *req = srv_read_until(e, fd, "\r\n\r\n");
    assert_non_null(strstr(req, "x-envoy-expected-rq-timeout-ms: 50\r\n"));
    int fd2 = srv_accept(e); /* the first attempt timed out: retried on a new connection */
    srv_read_until(e, fd2, "\r\n\r\n");
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 504);
    assert_string_equal(s->local_details, "upstream_per_try_timeout");
    assert_true(s->local_flags & RS_RF_UT);
    assert_int_equal(counter(e, "upstream_rq_per_try_timeout"), 2);
    assert_int_equal(counter(e, "upstream_rq_retry"), 1);
    stream_free(s);
    close(fd);
    close(fd2);
}

static void connect_failure_retried_by_header(void **state)
{
    struct env *e = *state;
    const char *extra[] = {"x-envoy-retry-on", "connect-failure", "x-envoy-max-retries", "1", NULL};
    struct rs_http_stream *s = stream_new(e, "GET", "/refused", extra);
    send_headers(s, true);
    RUN_UNTIL(e, s->done);
    /* x-envoy-retry-on enables one retry; both attempts are refused. */
    assert_int_equal(s->local_status, 503);
    assert_true(s->local_flags & RS_RF_UF);
    assert_int_equal(s->si.upstream_request_attempt_count, 2);
    assert_non_null(strstr(s->local_body, "retried and the latest reset reason"));
    stream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(retry_503_then_200, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_limit_exceeded, setup, teardown),
        cmocka_unit_test_setup_teardown(per_try_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_failure_retried_by_header, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
