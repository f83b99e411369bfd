/* Head parser: what an accepted head yields (slices, framing, keep-alive, upgrade, hop-by-hop),
 * limits, and incremental use. */
#include <stdio.h>

#include "proxy/http/h1/test_util.h"

static void test_simple_request(void **state)
{
    (void)state;
    static const char m[] =
        "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Pad:   spaced  value \t\r\n"
        "Accept:*/*\r\n\r\nNEXT";
    struct parsed p;
    assert_int_equal(parse_req_n(&p, LIT(m), NULL), RS_H1_DONE);
    assert_int_equal(p.consumed, sizeof(m) - 1 - 4);
    assert_slice(p.head.method, "GET");
    assert_slice(p.head.target, "/a?b=c");
    assert_int_equal(p.head.version_minor, 1);
    assert_int_equal(p.head.num_headers, 3);
    assert_slice(p.head.headers[0].name, "Host");
    assert_slice(p.head.headers[0].value, "example.com");
    assert_slice(p.head.headers[1].name, "X-Pad");
    assert_slice(p.head.headers[1].value, "spaced  value");
    assert_slice(p.head.headers[2].name, "Accept");
    assert_slice(p.head.headers[2].value, "*/*");
    /* Zero-copy: slices point into the input. */
    assert_ptr_equal(p.head.method.p, m);
    assert_ptr_equal(p.head.headers[0].name.p, m + 21);
    assert_false(p.head.has_content_length);
    assert_false(p.head.chunked);
    assert_true(p.head.keep_alive);
    assert_false(p.head.upgrade);
    assert_false(p.head.expect_100_continue);
    assert_int_equal(rs_h1_request_body_kind(&p.head), RS_H1_BODY_NONE);
    assert_int_equal(rs_h1_head_find(&p.head, LIT("host")), 0);
    assert_int_equal(rs_h1_head_find(&p.head, LIT("ACCEPT")), 2);
    assert_int_equal(rs_h1_head_find(&p.head, LIT("missing")), -1);
}

static void test_need_more_every_prefix(void **state)
{
    (void)state;
    static const char m[] = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n";
    for (size_t n = 0; n < sizeof(m) - 1; n++) {
        struct parsed p;
        char *buf = dup_exact(m, n);
        assert_int_equal(parse_req_n(&p, buf, n, NULL), RS_H1_NEED_MORE);
        assert_int_equal(p.consumed, 0);
        free(buf);
    }
    struct parsed p;
    assert_int_equal(parse_req_n(&p, LIT(m), NULL), RS_H1_DONE);
    assert_int_equal(p.consumed, sizeof(m) - 1);
    assert_int_equal(rs_h1_request_body_kind(&p.head), RS_H1_BODY_LENGTH);
    assert_int_equal(p.head.content_length, 10);
}

static void test_leading_empty_lines(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse_req_n(&p, LIT("\r\n\r\nGET / HTTP/1.0\r\n\r\n"), NULL), RS_H1_DONE);
    assert_int_equal(p.consumed, 22);
    assert_slice(p.head.method, "GET");
    assert_int_equal(p.head.version_minor, 0);
    assert_int_equal(parse_req_n(&p, LIT("\r\n"), NULL), RS_H1_NEED_MORE);
    assert_int_equal(p.consumed, 2);
    assert_int_equal(parse_req_n(&p, LIT("\r\n\r\nGET / HT"), NULL), RS_H1_NEED_MORE);
    assert_int_equal(p.consumed, 4);
    assert_int_equal(parse_req_n(&p, LIT("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n"), NULL),
                     RS_H1_NEED_MORE);
    assert_int_equal(p.consumed, 4);
    assert_int_equal(parse_req_n(&p, LIT("\r"), NULL), RS_H1_NEED_MORE);
    assert_int_equal(p.consumed, 0);
    assert_int_equal(parse_req_n(&p, LIT("\n"), NULL), RS_H1_ERROR);
}

static void test_pipelined(void **state)
{
    (void)state;
    static const char m[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                            "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                            "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *p0 = m;
    size_t left = sizeof(m) - 1;
    struct parsed p;
    assert_int_equal(parse_req_n(&p, p0, left, NULL), RS_H1_DONE);
    assert_slice(p.head.target, "/1");
    p0 += p.consumed;
    left -= p.consumed;
    assert_int_equal(parse_req_n(&p, p0, left, NULL), RS_H1_DONE);
    assert_slice(p.head.target, "/2");
    p0 += p.consumed;
    left -= p.consumed;
    struct rs_h1_body_decoder d;
    rs_h1_body_decoder_init(&d, rs_h1_request_body_kind(&p.head), p.head.content_length, false,
                            NULL, NULL, 0);
    size_t consumed;
    struct rs_h1_slice data;
    struct rs_h1_error err;
    assert_int_equal(rs_h1_body_decode(&d, p0, left, &consumed, &data, &err), RS_H1_DONE);
    assert_int_equal(consumed, 3);
    assert_slice(data, "abc");
    p0 += consumed;
    left -= consumed;
    assert_int_equal(parse_req_n(&p, p0, left, NULL), RS_H1_DONE);
    assert_slice(p.head.target, "/3");
    assert_int_equal(p.consumed, left);
}

struct ka_case {
    const char *version;
    const char *connection; /* NULL: no Connection field */
    bool keep_alive;
};

static void test_keep_alive_matrix(void **state)
{
    (void)state;
    static const struct ka_case cases[] = {
        {"1.1", NULL, true},
        {"1.1", "close", false},
        {"1.1", "Close", false},
        {"1.1", "keep-alive", true},
        {"1.1", "foo, close", false},
        {"1.1", "keep-alive, close", false},
        {"1.0", NULL, false},
        {"1.0", "keep-alive", true},
        {"1.0", "Keep-Alive", true},
        {"1.0", "close", false},
        {"1.0", "x, keep-alive ,y", true},
        {"1.0", "keep-alive, close", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[256];
        int n;
        if (cases[i].connection)
            n = snprintf(buf, sizeof(buf), "GET / HTTP/%s\r\nConnection: %s\r\n\r\n",
                         cases[i].version, cases[i].connection);
        else
            n = snprintf(buf, sizeof(buf), "GET / HTTP/%s\r\n\r\n", cases[i].version);
        struct parsed p;
        assert_int_equal(parse_req_n(&p, buf, (size_t)n, NULL), RS_H1_DONE);
        if (p.head.keep_alive != cases[i].keep_alive)
            fail_msg("case %zu: keep_alive %d", i, p.head.keep_alive);
        /* Responses follow the same rules. */
        if (cases[i].connection)
            n = snprintf(buf, sizeof(buf), "HTTP/%s 200 OK\r\nConnection: %s\r\n\r\n",
                         cases[i].version, cases[i].connection);
        else
            n = snprintf(buf, sizeof(buf), "HTTP/%s 200 OK\r\n\r\n", cases[i].version);
        assert_int_equal(parse_resp_n(&p, buf, (size_t)n, NULL), RS_H1_DONE);
        if (p.head.keep_alive != cases[i].keep_alive)
            fail_msg("response case %zu: keep_alive %d", i, p.head.keep_alive);
    }
}

static void test_chunked_http10_closes(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse_req_n(&p,
                                 LIT("POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n"),
                                 NULL),
                     RS_H1_DONE);
    assert_true(p.head.chunked);
    assert_false(p.head.keep_alive);
    assert_int_equal(rs_h1_request_body_kind(&p.head), RS_H1_BODY_CHUNKED);
}

static void test_upgrade(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse_req_n(&p,
                                 LIT("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, "
                                     "Upgrade\r\nUpgrade: websocket\r\n\r\n"),
                                 NULL),
                     RS_H1_DONE);
    assert_true(p.head.upgrade);
    assert_slice(p.head.upgrade_protocol, "websocket");
    assert_true(p.head.headers[1].hop_by_hop);
    assert_true(p.head.headers[2].hop_by_hop);
    assert_false(p.head.headers[0].hop_by_hop);
    /* Upgrade field without the Connection option is not an upgrade. */
    assert_int_equal(parse_req_n(&p, LIT("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_false(p.head.upgrade);
    assert_true(p.head.headers[0].hop_by_hop);
    /* Connection: upgrade without an Upgrade field is not an upgrade either. */
    assert_int_equal(parse_req_n(&p, LIT("GET /ws HTTP/1.1\r\nConnection: upgrade\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_false(p.head.upgrade);
    /* 101 response. */
    assert_int_equal(parse_resp_n(&p,
                                  LIT("HTTP/1.1 101 Switching Protocols\r\nConnection: "
                                      "Upgrade\r\nUpgrade: websocket\r\n\r\n"),
                                  NULL),
                     RS_H1_DONE);
    assert_true(p.head.upgrade);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("GET")), RS_H1_BODY_NONE);
    /* CONNECT */
    assert_int_equal(parse_req_n(&p, LIT("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_true(p.head.connect);
    assert_slice(p.head.target, "example.com:443");
    assert_int_equal(parse_req_n(&p, LIT("connect example.com:443 HTTP/1.1\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_false(p.head.connect);
}

static void test_expect_continue(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse_req_n(&p,
                                 LIT("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n"
                                     "Content-Length: 5\r\n\r\n"),
                                 NULL),
                     RS_H1_DONE);
    assert_true(p.head.expect_100_continue);
    assert_int_equal(parse_req_n(&p, LIT("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_false(p.head.expect_100_continue);
    assert_int_equal(parse_req_n(&p, LIT("POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_false(p.head.expect_100_continue);
}

static void test_hop_by_hop(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(
        parse_req_n(&p,
                    LIT("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Foo, x-bar\r\nKeep-Alive: "
                        "300\r\nProxy-Connection: x\r\nTE: trailers\r\nX-Foo: 1\r\nX-Bar: 2\r\n"
                        "X-Baz: 3\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\n\r\n"),
                    NULL),
        RS_H1_DONE);
    assert_true(p.head.te_trailers);
    static const bool want[] = {false, true, true, true, true, true, true, false, true, true};
    assert_int_equal(p.head.num_headers, 10);
    for (size_t i = 0; i < 10; i++) {
        if (p.head.headers[i].hop_by_hop != want[i])
            fail_msg("header %zu hop_by_hop %d", i, p.head.headers[i].hop_by_hop);
    }
    size_t idx[4];
    assert_int_equal(rs_h1_head_hop_by_hop(&p.head, idx, 4), 8);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 3);
    assert_int_equal(idx[3], 4);
    assert_int_equal(rs_h1_head_hop_by_hop(&p.head, NULL, 0), 8);
}

static void test_count_limit(void **state)
{
    (void)state;
    char buf[8192];
    for (int count = 99; count <= 101; count++) {
        size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
        for (int i = 0; i < count; i++)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "h%d: v\r\n", i);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
        struct parsed p;
        enum rs_h1_status st = parse_req_n(&p, buf, n, NULL);
        if (count <= 100) {
            assert_int_equal(st, RS_H1_DONE);
            assert_int_equal(p.head.num_headers, (size_t)count);
        } else {
            assert_int_equal(st, RS_H1_ERROR);
            assert_int_equal(p.err.status, 431);
            assert_string_equal(p.err.details, "http1.too_many_headers");
        }
    }
    /* A configured limit; and the storage size caps it too. */
    struct rs_h1_limits l = {.max_headers_count = 2};
    struct parsed p;
    assert_int_equal(parse_req_n(&p, LIT("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"), &l),
                     RS_H1_DONE);
    assert_int_equal(parse_req_n(&p, LIT("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), &l),
                     RS_H1_ERROR);
    assert_int_equal(p.err.status, 431);
    struct rs_h1_header one[1];
    struct rs_h1_head h;
    size_t consumed;
    struct rs_h1_error err;
    rs_h1_head_init(&h, one, 1);
    assert_int_equal(rs_h1_parse_request_head(LIT("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"), NULL,
                                              &h, &consumed, &err),
                     RS_H1_ERROR);
    assert_int_equal(err.status, 431);
}

static void test_size_limit(void **state)
{
    (void)state;
    /* Default 60 KiB: a head of exactly 60 KiB passes, one more byte fails with 431. */
    size_t limit = 60 * 1024;
    char *buf = malloc(limit + 2);
    assert_non_null(buf);
    static const char start[] = "GET / HTTP/1.1\r\nX-Big: ";
    for (size_t total = limit; total <= limit + 1; total++) {
        memcpy(buf, start, sizeof(start) - 1);
        memset(buf + sizeof(start) - 1, 'a', total - (sizeof(start) - 1) - 4);
        memcpy(buf + total - 4, "\r\n\r\n", 4);
        struct parsed p;
        enum rs_h1_status st = parse_req_n(&p, buf, total, NULL);
        if (total == limit) {
            assert_int_equal(st, RS_H1_DONE);
            assert_int_equal(p.consumed, limit);
        } else {
            assert_int_equal(st, RS_H1_ERROR);
            assert_int_equal(p.err.status, 431);
            assert_string_equal(p.err.details, "http1.headers_too_large");
        }
    }
    /* An incomplete head past the limit fails without waiting for its end. */
    memset(buf + sizeof(start) - 1, 'a', limit + 1 - (sizeof(start) - 1));
    struct parsed q;
    assert_int_equal(parse_req_n(&q, buf, limit, NULL), RS_H1_NEED_MORE);
    assert_int_equal(parse_req_n(&q, buf, limit + 1, NULL), RS_H1_ERROR);
    assert_int_equal(q.err.status, 431);
    free(buf);
    /* An oversize request line alone. */
    struct rs_h1_limits l = {.max_headers_bytes = 64};
    char line[200];
    int n = snprintf(line, sizeof(line), "GET /%0100d HTTP/1.1\r\n\r\n", 0);
    struct parsed p;
    assert_int_equal(parse_req_n(&p, line, (size_t)n, &l), RS_H1_ERROR);
    assert_int_equal(p.err.status, 431);
    assert_int_equal(parse_req_n(&p, line, 70, &l), RS_H1_ERROR);
    assert_int_equal(parse_req_n(&p, line, 60, &l), RS_H1_NEED_MORE);
    /* Response heads over the limit are a bad upstream response. */
    assert_int_equal(
        parse_resp_n(&p,
                     LIT("HTTP/1.1 200 OK\r\nX-Long: "
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"),
                     &l),
        RS_H1_ERROR);
    assert_int_equal(p.err.status, 502);
    assert_string_equal(p.err.details, "http1.headers_too_large");
}

static void test_response_body_kinds(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse_resp_n(&p, LIT("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_int_equal(p.head.status_code, 200);
    assert_slice(p.head.reason, "OK");
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("GET")), RS_H1_BODY_LENGTH);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("HEAD")), RS_H1_BODY_NONE);
    assert_int_equal(parse_resp_n(&p, LIT("HTTP/1.1 200 OK\r\n\r\n"), NULL), RS_H1_DONE);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("GET")), RS_H1_BODY_UNTIL_CLOSE);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("CONNECT")), RS_H1_BODY_NONE);
    assert_int_equal(parse_resp_n(&p,
                                  LIT("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: "
                                      "chunked\r\n\r\n"),
                                  NULL),
                     RS_H1_DONE);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("GET")), RS_H1_BODY_CHUNKED);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("CONNECT")), RS_H1_BODY_CHUNKED);
    assert_int_equal(
        parse_resp_n(&p, LIT("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"), NULL),
        RS_H1_DONE);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("GET")), RS_H1_BODY_NONE);
    assert_int_equal(parse_resp_n(&p, LIT("HTTP/1.1 204 No Content\r\n\r\n"), NULL), RS_H1_DONE);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("GET")), RS_H1_BODY_NONE);
    assert_int_equal(parse_resp_n(&p, LIT("HTTP/1.1 100 Continue\r\n\r\n"), NULL), RS_H1_DONE);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("POST")), RS_H1_BODY_NONE);
    assert_int_equal(parse_resp_n(&p, LIT("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_int_equal(p.head.version_minor, 0);
    assert_int_equal(rs_h1_response_body_kind(&p.head, sl("GET")), RS_H1_BODY_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_request),
        cmocka_unit_test(test_need_more_every_prefix),
        cmocka_unit_test(test_leading_empty_lines),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_keep_alive_matrix),
        cmocka_unit_test(test_chunked_http10_closes),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_hop_by_hop),
        cmocka_unit_test(test_count_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_response_body_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
