/* Every refused head, with the status and Envoy details string it must produce. */
#include "proxy/http/h1/test_util.h"

struct bad_case {
    const char *name;
    const char *msg;
    size_t len;
    int status;
    const char *details;
};

#define CASE(n, m, s, d)                                                                           \
    {                                                                                              \
        n, m, sizeof(m) - 1, s, d                                                                  \
    }
#define CODEC "http1.codec_error"

static const struct bad_case request_cases[] = {
    CASE("cl+te", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
         "http1.content_length_and_chunked_not_allowed"),
    CASE("te+cl", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
         "http1.content_length_and_chunked_not_allowed"),
    CASE("te gzip + cl", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
         400, "http1.content_length_and_chunked_not_allowed"),
    CASE("cl differ", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
         CODEC),
    CASE("cl list differ", "POST / HTTP/1.1\r\nContent-Length: 5,6\r\n\r\n", 400, CODEC),
    CASE("cl list with space", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400, CODEC),
    CASE("cl negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, CODEC),
    CASE("cl plus", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400, CODEC),
    CASE("cl hex", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400, CODEC),
    CASE("cl empty", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400, CODEC),
    CASE("cl inner space", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, CODEC),
    CASE("cl overflow", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 400,
         CODEC),
    CASE("cl trailing comma", "POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", 400, CODEC),
    CASE("te gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
         "http1.invalid_transfer_encoding"),
    CASE("te gzip,chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
         "http1.invalid_transfer_encoding"),
    CASE("te chunked,chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
         501, "http1.invalid_transfer_encoding"),
    CASE("te twice",
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
         "http1.invalid_transfer_encoding"),
    CASE("te identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 501,
         "http1.invalid_transfer_encoding"),
    CASE("te xchunked", "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 501,
         "http1.invalid_transfer_encoding"),
    CASE("te empty", "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", 501,
         "http1.invalid_transfer_encoding"),
    CASE("te on connect", "CONNECT a:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
         "http1.invalid_transfer_encoding"),
    CASE("obs-fold", "GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", 400, CODEC),
    CASE("obs-fold tab", "GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n", 400, CODEC),
    CASE("leading space first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, CODEC),
    CASE("bare lf end", "GET / HTTP/1.1\nHost: a\n\n", 400, CODEC),
    CASE("bare lf field", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, CODEC),
    CASE("bare lf empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, CODEC),
    CASE("bare cr value", "GET / HTTP/1.1\r\nX-A: b\rc\r\n\r\n", 400, CODEC),
    CASE("bare cr name", "GET / HTTP/1.1\r\nX\r-A: b\r\n\r\n", 400, CODEC),
    CASE("bare cr request line", "GET /\r HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("bare cr empty line", "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n", 400, CODEC),
    CASE("nul value", "GET / HTTP/1.1\r\nX-A: b\0c\r\n\r\n", 400, "http1.invalid_characters"),
    CASE("ctl value",
         "GET / HTTP/1.1\r\nX-A: b\x01"
         "c\r\n\r\n",
         400, "http1.invalid_characters"),
    CASE("del value", "GET / HTTP/1.1\r\nX-A: b\x7f\r\n\r\n", 400, "http1.invalid_characters"),
    CASE("esc value", "GET / HTTP/1.1\r\nX-A: \x1b[0m\r\n\r\n", 400, "http1.invalid_characters"),
    CASE("nul name", "GET / HTTP/1.1\r\nX\0A: b\r\n\r\n", 400, CODEC),
    CASE("nul target", "GET /\0 HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("ctl target", "GET /\x01 HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("high byte target", "GET /\xff HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, CODEC),
    CASE("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, CODEC),
    CASE("te space before colon",
         "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n", 400, CODEC),
    CASE("no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400, CODEC),
    CASE("empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", 400, CODEC),
    CASE("bad name char", "GET / HTTP/1.1\r\nX(A): a\r\n\r\n", 400, CODEC),
    CASE("bad name slash", "GET / HTTP/1.1\r\nX/A: a\r\n\r\n", 400, CODEC),
    CASE("bad method char", "G(T / HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("empty method", " / HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("two spaces", "GET  / HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("tab separator", "GET\t/ HTTP/1.1\r\n\r\n", 400, CODEC),
    CASE("trailing space", "GET / HTTP/1.1 \r\n\r\n", 400, CODEC),
    CASE("no version", "GET /\r\n\r\n", 400, CODEC),
    CASE("http/0.9", "GET / HTTP/0.9\r\n\r\n", 400, CODEC),
    CASE("http/2.0", "GET / HTTP/2.0\r\n\r\n", 400, CODEC),
    CASE("http/1.2", "GET / HTTP/1.2\r\n\r\n", 400, CODEC),
    CASE("http/1.10", "GET / HTTP/1.10\r\n\r\n", 400, CODEC),
    CASE("lower http", "GET / http/1.1\r\n\r\n", 400, CODEC),
    CASE("garbage version", "GET / FOO\r\n\r\n", 400, CODEC),
    CASE("connection nominates xff",
         "GET / HTTP/1.1\r\nConnection: close, X-Forwarded-For\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
         400, "http1.connection_header_rejected"),
    CASE("connection nominates pseudo", "GET / HTTP/1.1\r\nConnection: :path\r\n\r\n", 400,
         "http1.connection_header_rejected"),
    CASE("connection ten options",
         "GET / HTTP/1.1\r\nConnection: a,b,c,d,e\r\nConnection: f,g,h,i,j\r\n\r\n", 400,
         "http1.connection_header_rejected"),
    CASE("binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, CODEC),
};

static const struct bad_case response_cases[] = {
    CASE("cl+te", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 502,
         "http1.content_length_and_chunked_not_allowed"),
    CASE("te gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 502,
         "http1.invalid_transfer_encoding"),
    CASE("cl differ", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 502,
         CODEC),
    CASE("obs-fold", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n", 502, CODEC),
    CASE("bare lf", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", 502, CODEC),
    CASE("bare cr", "HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n", 502, CODEC),
    CASE("nul value", "HTTP/1.1 200 OK\r\nX-A: \0\r\n\r\n", 502, "http1.invalid_characters"),
    CASE("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", 502, CODEC),
    CASE("te in 204", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", 502,
         "http1.transfer_encoding_not_allowed"),
    CASE("te in 1xx", "HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n", 502,
         "http1.transfer_encoding_not_allowed"),
    CASE("cl in 204", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", 502,
         "http1.content_length_not_allowed"),
    CASE("two digit status", "HTTP/1.1 20 OK\r\n\r\n", 502, CODEC),
    CASE("four digit status", "HTTP/1.1 2000 OK\r\n\r\n", 502, CODEC),
    CASE("status 099", "HTTP/1.1 099 X\r\n\r\n", 502, CODEC),
    CASE("no space after version", "HTTP/1.1  200 OK\r\n\r\n", 502, CODEC),
    CASE("http/2", "HTTP/2.0 200 OK\r\n\r\n", 502, CODEC),
    CASE("not http", "ICY 200 OK\r\n\r\n", 502, CODEC),
    CASE("ctl in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", 502, CODEC),
    CASE("too many", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 502,
         "http1.too_many_headers"),
};

static const struct rs_h1_limits small_count = {.max_headers_count = 3};

static void check_case(const struct bad_case *c, bool response, const struct rs_h1_limits *l)
{
    struct parsed p;
    char *buf = dup_exact(c->msg, c->len);
    if (response)
        parse_resp_n(&p, buf, c->len, l);
    else
        parse_req_n(&p, buf, c->len, l);
    free(buf);
    if (p.st != RS_H1_ERROR)
        fail_msg("%s: status %d, want error", c->name, p.st);
    if (p.err.status != c->status || strcmp(p.err.details, c->details) != 0)
        fail_msg("%s: got %d %s, want %d %s", c->name, p.err.status, p.err.details, c->status,
                 c->details);
    /* A refused head never becomes acceptable with more bytes; every prefix either waits for
     * more or fails the same way. */
    for (size_t n = 0; n < c->len; n++) {
        char *pre = dup_exact(c->msg, n);
        struct parsed q;
        if (response)
            parse_resp_n(&q, pre, n, l);
        else
            parse_req_n(&q, pre, n, l);
        free(pre);
        if (q.st == RS_H1_DONE)
            fail_msg("%s: prefix %zu accepted", c->name, n);
        if (q.st == RS_H1_ERROR && q.err.status != c->status)
            fail_msg("%s: prefix %zu failed with %d", c->name, n, q.err.status);
    }
}

static void test_request_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(request_cases) / sizeof(request_cases[0]); i++)
        check_case(&request_cases[i], false, NULL);
}

static void test_response_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(response_cases) / sizeof(response_cases[0]); i++)
        check_case(&response_cases[i], true, &small_count);
}

/* The accepted neighbours of the refused cases, so the refusals are not overly broad. */
static void test_accepted_neighbours(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse_req_n(&p,
                                 LIT("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: "
                                     "5\r\n\r\n"),
                                 NULL),
                     RS_H1_DONE);
    assert_true(p.head.has_content_length);
    assert_int_equal(p.head.content_length, 5);
    assert_int_equal(parse_req_n(&p, LIT("POST / HTTP/1.1\r\nContent-Length: 5,5\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_int_equal(p.head.content_length, 5);
    assert_int_equal(
        parse_req_n(&p, LIT("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n"),
                    NULL),
        RS_H1_DONE);
    assert_true(p.head.content_length == UINT64_MAX);
    assert_int_equal(parse_req_n(&p, LIT("POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n"), NULL),
                     RS_H1_DONE);
    assert_int_equal(p.head.content_length, 7);
    assert_int_equal(
        parse_req_n(&p, LIT("POST / HTTP/1.1\r\nTransfer-Encoding: ChUnKeD\r\n\r\n"), NULL),
        RS_H1_DONE);
    assert_true(p.head.chunked);
    assert_int_equal(
        parse_req_n(&p, LIT("POST / HTTP/1.1\r\nTransfer-Encoding:  chunked \t\r\n\r\n"), NULL),
        RS_H1_DONE);
    assert_true(p.head.chunked);
    /* obs-text in values is allowed (RFC 9110 5.5). */
    assert_int_equal(parse_req_n(&p, LIT("GET / HTTP/1.1\r\nX-A: caf\xc3\xa9\r\n\r\n"), NULL),
                     RS_H1_DONE);
    /* HTAB inside a value is allowed. */
    assert_int_equal(parse_req_n(&p, LIT("GET / HTTP/1.1\r\nX-A: a\tb\r\n\r\n"), NULL), RS_H1_DONE);
    assert_slice(p.head.headers[0].value, "a\tb");
    /* An empty value is allowed. */
    assert_int_equal(parse_req_n(&p, LIT("GET / HTTP/1.1\r\nX-A:\r\n\r\n"), NULL), RS_H1_DONE);
    assert_int_equal(p.head.headers[0].value.len, 0);
    /* Nine Connection options are fine; so is nominating X-Forwarded-For on an upgrade. */
    assert_int_equal(
        parse_req_n(&p, LIT("GET / HTTP/1.1\r\nConnection: a,b,c,d,e,f,g,h,i\r\n\r\n"), NULL),
        RS_H1_DONE);
    assert_int_equal(parse_req_n(&p,
                                 LIT("GET / HTTP/1.1\r\nConnection: upgrade, x-forwarded-for\r\n"
                                     "Upgrade: websocket\r\n\r\n"),
                                 NULL),
                     RS_H1_DONE);
    /* 1xx/204 with Content-Length: 0 is papered over, as Envoy does. */
    assert_int_equal(
        parse_resp_n(&p, LIT("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"), NULL),
        RS_H1_DONE);
    /* A status line without reason. */
    assert_int_equal(parse_resp_n(&p, LIT("HTTP/1.1 200\r\n\r\n"), NULL), RS_H1_DONE);
    assert_int_equal(p.head.status_code, 200);
    assert_int_equal(p.head.reason.len, 0);
    assert_int_equal(parse_resp_n(&p, LIT("HTTP/1.1 200 \r\n\r\n"), NULL), RS_H1_DONE);
    assert_int_equal(p.head.reason.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_cases),
        cmocka_unit_test(test_response_cases),
        cmocka_unit_test(test_accepted_neighbours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
