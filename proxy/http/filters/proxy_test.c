/* Requests that reach the upstream: the exact bytes sent, bodies both ways, trailers, connection
 * reuse, timeouts, bad responses and resets. */
#include "proxy/http/filters/router_test_util.h"

/* name, value pairs */
static const char *const GET_EXTRA[] = {
    "user-agent", "t",          "x-request-id", "rid-1",          "x-internal", "no",
    "connection", "keep-alive", "te",           "trailers, gzip", NULL};

static void get_rewrite_then_reuse(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/api/x?q=1", GET_EXTRA);
    send_headers(s, true);
    int fd = srv_accept(e);
    const char *req = srv_read_until(e, fd, "\r\n\r\n");
    assert_string_equal(req, "GET /v1/x?q=1 HTTP/1.1\r\n"
                             "host: backend.local\r\n"
                             "user-agent: t\r\n"
                             "x-request-id: rid-1\r\n"
                             "x-forwarded-proto: http\r\n"
                             "x-added: yes\r\n"
                             "x-config: c\r\n"
                             "x-envoy-expected-rq-timeout-ms: 15000\r\n"
                             "te: trailers\r\n"
                             "\r\n");
    srv_send(fd, "HTTP/1.1 100 Continue\r\n\r\n"
                 "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-up: 1\r\nx-secret: s\r\n\r\nhello");
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 0);
    assert_string_equal(resp_header(s, ":status"), "200");
    assert_string_equal(resp_header(s, "x-up"), "1");
    assert_string_equal(resp_header(s, "x-resp"), "r");
    assert_null(resp_header(s, "x-secret"));
    assert_non_null(resp_header(s, "x-envoy-upstream-service-time"));
    assert_int_equal(s->body_len, 5);
    assert_memory_equal(s->body, "hello", 5);
    assert_string_equal(s->si.upstream_cluster, "up");
    stream_free(s);
    assert_int_equal(counter(e, "upstream_rq_total"), 1);
    assert_int_equal(counter(e, "upstream_rq_200"), 1);
    assert_int_equal(counter(e, "upstream_rq_2xx"), 1);
    assert_int_equal(counter(e, "upstream_rq_completed"), 1);

    /* Same connection again: chunked response with trailers passes through. */
    s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    req = srv_read_until(e, fd, "\r\n\r\n");
    assert_non_null(strstr(req, "GET /plain HTTP/1.1\r\nhost: front.example\r\n"));
    assert_non_null(strstr(req, "\r\nx-client: 10.1.2.3:5555\r\n"));
    assert_true(srv_nothing_to_accept(e));
    srv_send(fd, "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n");
    RUN_UNTIL(e, s->done);
    assert_string_equal(resp_header(s, ":status"), "201");
    char want[64];
    snprintf(want, sizeof want, "at 127.0.0.1:%u", e->port);
    assert_string_equal(resp_header(s, "x-upstream"), want);
    assert_null(resp_header(s, "transfer-encoding"));
    assert_int_equal(s->body_len, 11);
    assert_memory_equal(s->body, "hello world", 11);
    assert_non_null(s->trailers);
    assert_non_null(rs_header_map_gets(s->trailers, "x-trailer"));
    stream_free(s);
    assert_int_equal(counter(e, "upstream_rq_201"), 1);
    assert_int_equal(counter(e, "upstream_rq_2xx"), 2);
    close(fd);
}

static void post_content_length(void **state)
{
    struct env *e = *state;
    const char *extra[] = {"content-length", "9", NULL};
    struct rs_http_stream *s = stream_new(e, "POST", "/plain", extra);
    send_headers(s, false);
    send_data(e, s, "abcd", false);
    int fd = srv_accept(e);
    send_data(e, s, "efghi", true); /* after the connection exists: written at once */
    const char *req = srv_read_until(e, fd, "abcdefghi");
    assert_non_null(strstr(req, "\r\ncontent-length: 9\r\n"));
    assert_null(strstr(req, "transfer-encoding"));
    srv_send(fd, "HTTP/1.1 204 No Content\r\n\r\n");
    RUN_UNTIL(e, s->done);
    assert_string_equal(resp_header(s, ":status"), "204");
    assert_int_equal(s->body_len, 0);
    stream_free(s);
    close(fd);
}

static void post_chunked(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "POST", "/plain", NULL);
    send_headers(s, false);
    send_data(e, s, "abc", false);
    send_data(e, s, "de", true);
    int fd = srv_accept(e);
    const char *req = srv_read_until(e, fd, "0\r\n\r\n");
    assert_non_null(
        strstr(req, "transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    /* A response read until close: the connection is not reused. */
    srv_send(fd, "HTTP/1.1 200 OK\r\n\r\npartial");
    shutdown(fd, SHUT_WR);
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->resets, 0);
    assert_int_equal(s->body_len, 7);
    stream_free(s);
    close(fd);
}

static void upstream_timeout(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/short", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    const char *req = srv_read_until(e, fd, "\r\n\r\n");
    assert_non_null(strstr(req, "x-envoy-expected-rq-timeout-ms: 100\r\n"));
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 504);
    assert_string_equal(s->local_body, "upstream request timeout");
    assert_string_equal(s->local_details, "upstream_response_timeout");
    assert_int_equal(s->local_flags, RS_RF_UT);
    assert_int_equal(counter(e, "upstream_rq_timeout"), 1);
    assert_int_equal(counter(e, "upstream_rq_504"), 1);
    stream_free(s);
    close(fd);
}

static void timeout_header_and_suppressed(void **state)
{
    struct env *e = *state;
    const char *extra[] = {"x-envoy-upstream-rq-timeout-ms", "50", NULL};
    struct rs_http_stream *s = stream_new(e, "GET", "/plain", extra);
    send_headers(s, true);
    int fd = srv_accept(e);
    const char *req = srv_read_until(e, fd, "\r\n\r\n");
    assert_non_null(strstr(req, "x-envoy-expected-rq-timeout-ms: 50\r\n"));
    assert_null(strstr(req, "x-envoy-upstream-rq-timeout-ms"));
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 504);
    stream_free(s);
    close(fd);
}

static void invalid_response_502(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\n");
    srv_send(fd, "HTTP/1.1 abc\r\n\r\n");
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 502);
    assert_int_equal(s->local_flags, RS_RF_UPE);
    assert_non_null(strstr(s->local_details, "protocol_error"));
    stream_free(s);
    close(fd);
}

static void upstream_closes_before_response(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\n");
    close(fd);
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->local_status, 503);
    assert_int_equal(s->local_flags, RS_RF_UC);
    stream_free(s);
}

static void upstream_reset_mid_body(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\n");
    srv_send(fd, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
    RUN_UNTIL(e, s->body_len == 3);
    close(fd);
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->resets, 1);
    assert_true(s->si.response_flags & RS_RF_UC);
    stream_free(s);
}

static void downstream_reset_mid_response(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\n");
    srv_send(fd, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
    RUN_UNTIL(e, s->body_len == 3);
    s->filter->ops->on_reset(s->filter, RS_RESET_DOWNSTREAM_CLOSED);
    stream_free(s);
    /* The half-used connection was closed, not pooled: the next request connects anew. */
    char c;
    RUN_UNTIL(e, recv(fd, &c, 1, MSG_DONTWAIT) == 0);
    close(fd);
    s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\n");
    srv_send(fd, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    RUN_UNTIL(e, s->done);
    stream_free(s);
    close(fd);
}

static void flow_control(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/plain", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\n");
    s->over_limit = true;
    srv_send(fd, "HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc");
    RUN_UNTIL(e, s->body_len == 3);
    srv_send(fd, "def");
    turns(e, 10);
    assert_int_equal(s->body_len, 3); /* reads paused while the downstream is over its limit */
    s->over_limit = false;            /* the router notices by itself (no drain callback needed) */
    RUN_UNTIL(e, s->done);
    assert_int_equal(s->body_len, 6);
    stream_free(s);
    close(fd);
}

static void mirror(void **state)
{
    struct env *e = *state;
    const char *extra[] = {"content-length", "3", NULL};
    struct rs_http_stream *s = stream_new(e, "POST", "/mirror", extra);
    send_headers(s, false);
    send_data(e, s, "xyz", true);
    int fds[2] = {srv_accept(e), srv_accept(e)};
    int shadow = -1, main_fd = -1;
    for (int i = 0; i < 2; i++) {
        const char *req = srv_read_until(e, fds[i], "\r\n\r\nxyz");
        if (strstr(req, "\r\nhost: front.example-shadow\r\n") != NULL)
            shadow = fds[i];
        else if (strstr(req, "\r\nhost: front.example\r\n") != NULL)
            main_fd = fds[i];
    }
    assert_true(shadow >= 0 && main_fd >= 0);
    srv_send(main_fd, "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nmain");
    RUN_UNTIL(e, s->done);
    assert_memory_equal(s->body, "main", 4);
    stream_free(s); /* the shadow outlives the stream */
    srv_send(shadow, "HTTP/1.1 500 Oops\r\ncontent-length: 6\r\n\r\nshadow");
    turns(e, 10);
    assert_int_equal(counter(e, "upstream_rq_total"), 2);
    assert_int_equal(counter(e, "upstream_rq_200"), 1);
    /* Both connections went back to the pool: two more requests reuse them. */
    struct rs_http_stream *a = stream_new(e, "GET", "/plain", NULL);
    struct rs_http_stream *b = stream_new(e, "GET", "/plain", NULL);
    send_headers(a, true);
    send_headers(b, true);
    srv_read_until(e, shadow, "\r\n\r\n");
    srv_read_until(e, main_fd, "\r\n\r\n");
    assert_true(srv_nothing_to_accept(e));
    stream_free(a);
    stream_free(b);
    close(fds[0]);
    close(fds[1]);
}

static void weighted_and_cluster_header(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "GET", "/weighted", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    const char *req = srv_read_until(e, fd, "\r\n\r\n");
    assert_non_null(strstr(req, "\r\nhost: w.local\r\n"));
    assert_non_null(strstr(req, "\r\nx-weight: up\r\n"));
    srv_send(fd, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    RUN_UNTIL(e, s->done);
    stream_free(s);

    const char *extra[] = {"x-cluster", "up", NULL};
    s = stream_new(e, "GET", "/byheader", extra);
    send_headers(s, true);
    req = srv_read_until(e, fd, "\r\n\r\n"); /* same connection, reused */
    assert_non_null(strstr(req, "GET /byheader HTTP/1.1\r\n"));
    srv_send(fd, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    RUN_UNTIL(e, s->done);
    stream_free(s);
    /* connection: close: the pool closed it rather than keeping it. */
    char c;
    RUN_UNTIL(e, recv(fd, &c, 1, MSG_DONTWAIT) == 0);
    close(fd);

    const char *unknown[] = {"x-cluster", "nope", NULL};
    s = stream_new(e, "GET", "/byheader", unknown);
    send_headers(s, true);
    assert_int_equal(s->local_status, 503);
    assert_int_equal(s->local_flags, RS_RF_NC);
    stream_free(s);
}

static void head_request(void **state)
{
    struct env *e = *state;
    struct rs_http_stream *s = stream_new(e, "HEAD", "/plain", NULL);
    send_headers(s, true);
    int fd = srv_accept(e);
    srv_read_until(e, fd, "\r\n\r\n");
    /* The content-length describes the body a GET would get: none follows. */
    srv_send(fd, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n");
    RUN_UNTIL(e, s->done);
    assert_string_equal(resp_header(s, "content-length"), "100");
    assert_int_equal(s->body_len, 0);
    stream_free(s);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_rewrite_then_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(post_content_length, setup, teardown),
        cmocka_unit_test_setup_teardown(post_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(upstream_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(timeout_header_and_suppressed, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_response_502, setup, teardown),
        cmocka_unit_test_setup_teardown(upstream_closes_before_response, setup, teardown),
        cmocka_unit_test_setup_teardown(upstream_reset_mid_body, setup, teardown),
        cmocka_unit_test_setup_teardown(downstream_reset_mid_response, setup, teardown),
        cmocka_unit_test_setup_teardown(flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(weighted_and_cluster_header, setup, teardown),
        cmocka_unit_test_setup_teardown(head_request, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
