/* Local replies: plain, empty, HEAD, gRPC trailers-only with each status mapping, grpc-message
 * encoding, and the upstream-reset reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/http/header_map.h"
#include "proxy/http/local_reply/local_reply.h"

static struct rs_header_map *request(const char *path, const char *content_type)
{
    struct rs_header_map *m = rs_header_map_new();
    assert_non_null(m);
    assert_int_equal(rs_header_map_add(m, ":method", 7, "POST", 4), 0);
    if (path != NULL)
        assert_int_equal(rs_header_map_add(m, ":path", 5, path, strlen(path)), 0);
    if (content_type != NULL)
        assert_int_equal(
            rs_header_map_add(m, "content-type", 12, content_type, strlen(content_type)), 0);
    return m;
}

static void assert_header(const struct rs_header_map *m, const char *name, const char *want)
{
    const struct rs_hstr *v = rs_header_map_gets(m, name);
    if (want == NULL) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_int_equal(v->len, strlen(want));
    assert_memory_equal(v->p, want, v->len);
}

static void plain_reply_with_body(void **state)
{
    (void)state;
    struct rs_local_reply r;
    assert_int_equal(rs_local_reply_build(503, RS_LOCAL_REPLY_BODY_NO_HEALTHY_UPSTREAM,
                                          RS_LOCAL_REPLY_DETAILS_NO_HEALTHY_UPSTREAM, NULL, false,
                                          &r),
                     0);
    assert_int_equal(rs_header_map_size(r.headers), 3);
    assert_header(r.headers, ":status", "503");
    assert_header(r.headers, "content-length", "19");
    assert_header(r.headers, "content-type", "text/plain");
    assert_string_equal(r.body, "no healthy upstream");
    assert_int_equal(r.body_len, 19);
    assert_false(r.end_stream_on_headers);
    assert_false(r.is_grpc);
    assert_string_equal(r.details, "no_healthy_upstream");
    rs_local_reply_free(&r);
    assert_null(r.headers);
}

static void empty_body_has_no_length_or_type(void **state)
{
    (void)state;
    struct rs_header_map *req = request("/", "text/html");
    struct rs_local_reply r;
    assert_int_equal(
        rs_local_reply_build(404, "", RS_LOCAL_REPLY_DETAILS_ROUTE_NOT_FOUND, req, false, &r), 0);
    assert_int_equal(rs_header_map_size(r.headers), 1);
    assert_header(r.headers, ":status", "404");
    assert_null(r.body);
    assert_true(r.end_stream_on_headers);
    rs_local_reply_free(&r);
    assert_int_equal(rs_local_reply_build(503, NULL, NULL, NULL, false, &r), 0);
    assert_int_equal(rs_header_map_size(r.headers), 1);
    rs_local_reply_free(&r);
    rs_header_map_free(req);
}

static void head_keeps_length_but_sends_no_body(void **state)
{
    (void)state;
    struct rs_local_reply r;
    assert_int_equal(rs_local_reply_build(504, RS_LOCAL_REPLY_BODY_UPSTREAM_TIMEOUT,
                                          RS_LOCAL_REPLY_DETAILS_RESPONSE_TIMEOUT, NULL, true, &r),
                     0);
    assert_header(r.headers, ":status", "504");
    assert_header(r.headers, "content-length", "24");
    assert_header(r.headers, "content-type", "text/plain");
    assert_null(r.body);
    assert_int_equal(r.body_len, 0);
    assert_true(r.end_stream_on_headers);
    rs_local_reply_free(&r);
}

static void grpc_request_detection(void **state)
{
    (void)state;
    static const struct {
        const char *path, *ct;
        bool grpc;
    } cases[] = {
        {"/svc/M", "application/grpc", true},
        {"/svc/M", "application/grpc+proto", true},
        {"/svc/M", "application/grpc-web", false},
        {"/svc/M", "application/grpc-web+proto", false},
        {"/svc/M", "Application/grpc", false},
        {"/svc/M", "application/json", false},
        {"/svc/M", NULL, false},
        {NULL, "application/grpc", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rs_header_map *req = request(cases[i].path, cases[i].ct);
        assert_int_equal(rs_local_reply_is_grpc_request(req), cases[i].grpc);
        rs_header_map_free(req);
    }
    assert_false(rs_local_reply_is_grpc_request(NULL));
}

static void grpc_status_mapping(void **state)
{
    (void)state;
    static const struct {
        uint32_t http;
        const char *grpc;
    } cases[] = {
        {400, "13"}, {401, "16"}, {403, "7"}, {404, "12"}, {429, "14"}, {502, "14"},
        {503, "14"}, {504, "14"}, {500, "2"}, {408, "2"},  {413, "2"},  {200, "2"},
    };
    struct rs_header_map *req = request("/svc/M", "application/grpc");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rs_local_reply r;
        assert_int_equal(rs_local_reply_build(cases[i].http, "x", NULL, req, false, &r), 0);
        assert_true(r.is_grpc);
        assert_true(r.end_stream_on_headers);
        assert_null(r.body);
        assert_header(r.headers, ":status", "200");
        assert_header(r.headers, "content-type", "application/grpc");
        assert_header(r.headers, "grpc-status", cases[i].grpc);
        assert_header(r.headers, "grpc-message", "x");
        assert_header(r.headers, "content-length", NULL);
        rs_local_reply_free(&r);
    }
    assert_int_equal(rs_local_reply_http_to_grpc_status(404), RS_LOCAL_REPLY_GRPC_UNIMPLEMENTED);
    assert_int_equal(rs_local_reply_http_to_grpc_status(503), RS_LOCAL_REPLY_GRPC_UNAVAILABLE);
    rs_header_map_free(req);
}

static void grpc_router_cases(void **state)
{
    (void)state;
    struct rs_header_map *req = request("/svc/M", "application/grpc+proto");
    struct rs_local_reply r;
    /* No route: 404 with an empty body -> UNIMPLEMENTED, no grpc-message. */
    assert_int_equal(
        rs_local_reply_build(404, "", RS_LOCAL_REPLY_DETAILS_ROUTE_NOT_FOUND, req, false, &r), 0);
    assert_header(r.headers, "grpc-status", "12");
    assert_header(r.headers, "grpc-message", NULL);
    assert_int_equal(rs_header_map_size(r.headers), 3);
    rs_local_reply_free(&r);
    /* No healthy upstream -> UNAVAILABLE with the body as message. */
    assert_int_equal(rs_local_reply_build(503, RS_LOCAL_REPLY_BODY_NO_HEALTHY_UPSTREAM,
                                          RS_LOCAL_REPLY_DETAILS_NO_HEALTHY_UPSTREAM, req, false,
                                          &r),
                     0);
    assert_header(r.headers, "grpc-status", "14");
    assert_header(r.headers, "grpc-message", "no healthy upstream");
    rs_local_reply_free(&r);
    /* The explicit status wins (HCM max_stream_duration: DEADLINE_EXCEEDED). */
    const char *b = RS_LOCAL_REPLY_BODY_DOWNSTREAM_DURATION_TIMEOUT;
    assert_int_equal(rs_local_reply_build_ex(408, b, strlen(b),
                                             RS_LOCAL_REPLY_DETAILS_MAX_DURATION_TIMEOUT, req,
                                             false, RS_LOCAL_REPLY_GRPC_DEADLINE_EXCEEDED, &r),
                     0);
    assert_header(r.headers, "grpc-status", "4");
    assert_header(r.headers, "grpc-message", "downstream duration timeout");
    rs_local_reply_free(&r);
    /* HEAD: no grpc-message. */
    assert_int_equal(rs_local_reply_build(503, "no healthy upstream", NULL, req, true, &r), 0);
    assert_header(r.headers, "grpc-status", "14");
    assert_header(r.headers, "grpc-message", NULL);
    rs_local_reply_free(&r);
    rs_header_map_free(req);
}

static void encoded(const char *in, size_t len, const char *want)
{
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_local_reply_percent_encode(in, len, &sb);
    assert_int_equal(sb.len, strlen(want));
    if (sb.len > 0)
        assert_memory_equal(sb.data, want, sb.len);
    rs_strbuf_free(&sb);
}

static void grpc_message_percent_encoding(void **state)
{
    (void)state;
    encoded("", 0, "");
    encoded("plain text: ok/[]{}!", 20, "plain text: ok/[]{}!");
    encoded("50%", 3, "50%25");
    encoded("a~b", 3, "a%7Eb"); /* Envoy escapes '~' too */
    encoded("\x7f", 1, "%7F");
    encoded("line\r\nnext\t", 11, "line%0D%0Anext%09");
    encoded("caf\xc3\xa9", 5, "caf%C3%A9");
    encoded("nul\0x", 5, "nul%00x");
    encoded(" ", 1, " ");

    struct rs_header_map *req = request("/svc/M", "application/grpc");
    struct rs_local_reply r;
    assert_int_equal(rs_local_reply_build(503, "100% down~", NULL, req, false, &r), 0);
    assert_header(r.headers, "grpc-message", "100%25 down%7E");
    rs_local_reply_free(&r);
    rs_header_map_free(req);
}

static void upstream_reset_reply(void **state)
{
    (void)state;
    struct rs_local_reply_reset rr;
    rs_local_reply_upstream_reset(RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE, true,
                                  "delayed connect error: 111", &rr);
    assert_int_equal(rr.status, 503);
    assert_string_equal(rr.flag, "UF");
    assert_string_equal(rr.body.data, "upstream connect error or disconnect/reset before headers. "
                                      "retried and the latest reset reason: remote connection "
                                      "failure, transport failure reason: delayed connect error: "
                                      "111");
    assert_string_equal(rr.details.data, "upstream_reset_before_response_started{remote_"
                                         "connection_failure|delayed_connect_error:_111}");
    rs_local_reply_reset_free(&rr);

    rs_local_reply_upstream_reset(RS_RETRY_RESET_CONNECTION_TERMINATION, false, NULL, &rr);
    assert_int_equal(rr.status, 503);
    assert_string_equal(rr.flag, "UC");
    assert_string_equal(rr.body.data, "upstream connect error or disconnect/reset before headers. "
                                      "reset reason: connection termination");
    assert_string_equal(rr.details.data,
                        "upstream_reset_before_response_started{connection_termination}");
    rs_local_reply_reset_free(&rr);

    rs_local_reply_upstream_reset(RS_RETRY_RESET_PROTOCOL_ERROR, false, "", &rr);
    assert_int_equal(rr.status, 502);
    assert_string_equal(rr.flag, "UPE");
    assert_string_equal(rr.details.data, "upstream_reset_before_response_started{protocol_error}");
    rs_local_reply_reset_free(&rr);

    static const struct {
        enum rs_retry_reset_reason r;
        const char *flag;
        const char *str;
    } cases[] = {
        {RS_RETRY_RESET_LOCAL_CONNECTION_FAILURE, "UF", "local connection failure"},
        {RS_RETRY_RESET_CONNECTION_TIMEOUT, "UF", "connection timeout"},
        {RS_RETRY_RESET_LOCAL_RESET, "LR", "local reset"},
        {RS_RETRY_RESET_LOCAL_REFUSED_STREAM, "LR", "local refused stream reset"},
        {RS_RETRY_RESET_REMOTE_RESET, "UR", "remote reset"},
        {RS_RETRY_RESET_REMOTE_REFUSED_STREAM, "UR", "remote refused stream reset"},
        {RS_RETRY_RESET_OVERFLOW, "UO", "overflow"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rs_local_reply_upstream_reset(cases[i].r, false, NULL, &rr);
        assert_int_equal(rr.status, 503);
        assert_string_equal(rr.flag, cases[i].flag);
        assert_string_equal(rs_local_reply_reset_reason_str(cases[i].r), cases[i].str);
        rs_local_reply_reset_free(&rr);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_reply_with_body),
        cmocka_unit_test(empty_body_has_no_length_or_type),
        cmocka_unit_test(head_keeps_length_but_sends_no_body),
        cmocka_unit_test(grpc_request_detection),
        cmocka_unit_test(grpc_status_mapping),
        cmocka_unit_test(grpc_router_cases),
        cmocka_unit_test(grpc_message_percent_encoding),
        cmocka_unit_test(upstream_reset_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
