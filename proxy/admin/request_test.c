/* The admin request parser: accepted forms, incremental input, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/admin/request.h"

#define LIMIT (64u * 1024u)

static enum rs_admin_parse parse(const char *s, struct rs_admin_request *req)
{
    return rs_admin_request_parse(s, strlen(s), LIMIT, req);
}

static int error_of(const char *s)
{
    struct rs_admin_request req;
    enum rs_admin_parse r = parse(s, &req);
    if (r == RS_ADMIN_PARSE_OK)
        rs_admin_request_free(&req);
    return r == RS_ADMIN_PARSE_ERROR ? req.error_status : 0;
}

static void simple_get(void **state)
{
    (void)state;
    struct rs_admin_request req;
    const char *s = "GET /ready HTTP/1.1\r\nHost: localhost:15000\r\nUser-Agent: t\r\n\r\n";
    assert_int_equal(parse(s, &req), RS_ADMIN_PARSE_OK);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/ready");
    assert_int_equal(req.version_minor, 1);
    assert_true(req.keep_alive);
    assert_int_equal(req.nparams, 0);
    assert_int_equal(req.consumed, strlen(s));
    rs_admin_request_free(&req);
}

static void query_is_decoded(void **state)
{
    (void)state;
    struct rs_admin_request req;
    const char *s = "GET /stats?filter=%5Ecluster%5C.a%2B&usedonly&format=json&&x=1%zz "
                    "HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(parse(s, &req), RS_ADMIN_PARSE_OK);
    assert_string_equal(req.path, "/stats");
    assert_int_equal(req.nparams, 4);
    assert_string_equal(rs_admin_request_param(&req, "filter"), "^cluster\\.a+");
    assert_string_equal(rs_admin_request_param(&req, "usedonly"), "");
    assert_string_equal(rs_admin_request_param(&req, "format"), "json");
    assert_string_equal(rs_admin_request_param(&req, "x"), "1%zz"); /* invalid escape kept */
    assert_null(rs_admin_request_param(&req, "missing"));
    rs_admin_request_free(&req);

    char out[16];
    assert_int_equal(rs_admin_percent_decode("a+b%20c%4", 9, out), 7);
    assert_string_equal(out, "a+b c%4");
}

static void incremental(void **state)
{
    (void)state;
    struct rs_admin_request req;
    const char *s = "POST /healthcheck/fail HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    size_t n = strlen(s);
    /* Every prefix is incomplete, never an error. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs_admin_request_parse(s, i, LIMIT, &req), RS_ADMIN_PARSE_INCOMPLETE);
    assert_int_equal(rs_admin_request_parse(s, n, LIMIT, &req), RS_ADMIN_PARSE_OK);
    assert_int_equal(req.content_length, 5);
    assert_int_equal(req.consumed, n);
    rs_admin_request_free(&req);
}

static void pipelined_and_leading_blank_lines(void **state)
{
    (void)state;
    struct rs_admin_request req;
    const char *first = "\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    char buf[256];
    strcpy(buf, first);
    strcat(buf, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(parse(buf, &req), RS_ADMIN_PARSE_OK);
    assert_string_equal(req.path, "/a");
    assert_int_equal(req.consumed, strlen(first));
    rs_admin_request_free(&req);
}

static void connection_semantics(void **state)
{
    (void)state;
    struct rs_admin_request req;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req), RS_ADMIN_PARSE_OK);
    assert_int_equal(req.version_minor, 0);
    assert_false(req.keep_alive); /* 1.0 closes by default, and needs no Host */
    rs_admin_request_free(&req);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req),
                     RS_ADMIN_PARSE_OK);
    assert_true(req.keep_alive);
    rs_admin_request_free(&req);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", &req),
                     RS_ADMIN_PARSE_OK);
    assert_false(req.keep_alive);
    rs_admin_request_free(&req);
}

static void refusals(void **state)
{
    (void)state;
    /* Garbage and malformed request lines. */
    assert_int_equal(error_of("hello\r\n\r\n"), 400);
    assert_int_equal(error_of("GET\r\n\r\n"), 400);
    assert_int_equal(error_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(error_of("GET ready HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / FTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(error_of("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(error_of("GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    /* Refused as soon as the bad bytes arrive, without waiting for the blank line. */
    assert_int_equal(error_of("\x01\x02\x03"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\nHost: h\n\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\r\r\n"), 400);
    assert_int_equal(error_of("hello world\r\n"), 400);
    /* Versions. */
    assert_int_equal(error_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
    assert_int_equal(error_of("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
    /* Headers. */
    assert_int_equal(error_of("GET / HTTP/1.1\r\n\r\n"), 400); /* no Host */
    assert_int_equal(error_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n"), 400);
    assert_int_equal(error_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n"), 400);
    assert_int_equal(
        error_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        400);
    assert_int_equal(error_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     501);
    assert_int_equal(error_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                              "Content-Length: 3\r\n\r\n"),
                     400);
    /* Sizes. */
    assert_int_equal(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n"), 413);
    assert_int_equal(
        error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        413);

    char *big = malloc(LIMIT + 100);
    strcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
    size_t n = strlen(big);
    memset(big + n, 'a', LIMIT + 50 - n);
    big[LIMIT + 50] = '\0';
    /* Unterminated head at the limit. */
    struct rs_admin_request req;
    assert_int_equal(rs_admin_request_parse(big, LIMIT, LIMIT, &req), RS_ADMIN_PARSE_ERROR);
    assert_int_equal(req.error_status, 431);
    assert_int_equal(rs_admin_request_parse(big, LIMIT - 1, LIMIT, &req),
                     RS_ADMIN_PARSE_INCOMPLETE);
    /* Terminated, but past the limit. */
    strcpy(big + LIMIT + 10, "\r\n\r\n");
    assert_int_equal(error_of(big), 431);
    free(big);

    /* Too many query parameters. */
    char many[1024] = "GET /stats?";
    for (int i = 0; i < 40; i++)
        strcat(many, "a=1&");
    strcat(many, " HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(error_of(many), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_get),           cmocka_unit_test(query_is_decoded),
        cmocka_unit_test(incremental),          cmocka_unit_test(pipelined_and_leading_blank_lines),
        cmocka_unit_test(connection_semantics), cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
