/* Incremental correctness: whole messages (head + body, pipelined) give the same result when the
 * bytes arrive split at every offset, the way a connection buffer grows. */
#include "proxy/http/h1/test_util.h"

struct result {
    int messages;
    char data[1024];
    size_t data_len;
    char targets[256];
    size_t targets_len;
    int trailers;
    enum rs_h1_status last;
    int err_status;
};

/* Drives head parser and body decoder over in[0..len) delivered in two reads: [0, split) and
 * [split, len). The connection keeps a contiguous buffer of unconsumed bytes. */
static void drive(const char *in, size_t len, size_t split, bool response, struct result *r)
{
    memset(r, 0, sizeof(*r));
    char *conn = malloc(len ? len : 1); /* unconsumed bytes, contiguous */
    size_t have = 0, fed = 0;
    size_t steps[2] = {split, len};
    bool in_body = false;
    struct parsed p;
    struct rs_h1_body_decoder d;
    struct rs_h1_header tr[8];
    for (int s = 0; s < 2; s++) {
        memcpy(conn + have, in + fed, steps[s] - fed);
        have += steps[s] - fed;
        fed = steps[s];
        for (;;) {
            if (!in_body) {
                enum rs_h1_status st = response ? parse_resp_n(&p, conn, have, NULL)
                                                : parse_req_n(&p, conn, have, NULL);
                if (st == RS_H1_ERROR) {
                    r->last = st;
                    r->err_status = p.err.status;
                    free(conn);
                    return;
                }
                if (st == RS_H1_NEED_MORE) {
                    /* Skipped empty lines may be dropped while waiting. */
                    memmove(conn, conn + p.consumed, have - p.consumed);
                    have -= p.consumed;
                    break;
                }
                r->messages++;
                struct rs_h1_slice t = response ? p.head.reason : p.head.target;
                memcpy(r->targets + r->targets_len, t.p, t.len);
                r->targets_len += t.len;
                r->targets[r->targets_len++] = '|';
                enum rs_h1_body_kind k = response ? rs_h1_response_body_kind(&p.head, sl("GET"))
                                                  : rs_h1_request_body_kind(&p.head);
                rs_h1_body_decoder_init(&d, k, p.head.content_length, response, NULL, tr, 8);
                memmove(conn, conn + p.consumed, have - p.consumed);
                have -= p.consumed;
                in_body = true;
            }
            size_t consumed;
            struct rs_h1_slice data;
            struct rs_h1_error err;
            enum rs_h1_status st = rs_h1_body_decode(&d, conn, have, &consumed, &data, &err);
            memcpy(r->data + r->data_len, data.p, data.len);
            r->data_len += data.len;
            memmove(conn, conn + consumed, have - consumed);
            have -= consumed;
            if (st == RS_H1_ERROR) {
                r->last = st;
                r->err_status = err.status;
                free(conn);
                return;
            }
            if (st == RS_H1_DONE) {
                r->trailers += (int)d.num_trailers;
                in_body = false;
                continue;
            }
            if (data.len && consumed > 0 && have > 0)
                continue;
            break;
        }
    }
    if (in_body && rs_h1_body_eof(&d, &(struct rs_h1_error){0}) == RS_H1_DONE)
        in_body = false;
    r->last = in_body ? RS_H1_NEED_MORE : RS_H1_DONE;
    free(conn);
}

static void check_all_splits(const char *in, size_t len, bool response, int want_messages,
                             const char *want_data, enum rs_h1_status want_last)
{
    struct result whole, part;
    drive(in, len, len, response, &whole);
    assert_int_equal(whole.messages, want_messages);
    assert_int_equal(whole.last, want_last);
    if (want_data) {
        assert_int_equal(whole.data_len, strlen(want_data));
        assert_memory_equal(whole.data, want_data, whole.data_len);
    }
    for (size_t split = 0; split <= len; split++) {
        drive(in, len, split, response, &part);
        if (part.messages != whole.messages || part.last != whole.last ||
            part.err_status != whole.err_status || part.data_len != whole.data_len ||
            memcmp(part.data, whole.data, whole.data_len) != 0 ||
            part.targets_len != whole.targets_len ||
            memcmp(part.targets, whole.targets, whole.targets_len) != 0 ||
            part.trailers != whole.trailers)
            fail_msg("split at %zu differs", split);
    }
}

#define CHECK(m, resp, n, data, last) check_all_splits(m, sizeof(m) - 1, resp, n, data, last)

static void test_requests(void **state)
{
    (void)state;
    CHECK("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", false, 1, "", RS_H1_DONE);
    CHECK("\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
          "hello",
          false, 2, "hello", RS_H1_DONE);
    CHECK("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n"
          "6\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET /d HTTP/1.1\r\n\r\n",
          false, 2, "hello world", RS_H1_DONE);
    CHECK("POST /e HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", false, 1, "ab", RS_H1_NEED_MORE);
    CHECK("GET /f HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHo st: x\r\n\r\n", false, 1, "",
          RS_H1_ERROR);
    CHECK("POST /h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", false, 1, "abc",
          RS_H1_ERROR);
}

static void test_responses(void **state)
{
    (void)state;
    CHECK("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", true, 2,
          "body", RS_H1_DONE);
    CHECK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n"
          "HTTP/1.1 204 No Content\r\n\r\n",
          true, 2, "wxyz", RS_H1_DONE);
    CHECK("HTTP/1.0 200 OK\r\n\r\nuntil close\r\n0\r\n\r\n", true, 1, "until close\r\n0\r\n\r\n",
          RS_H1_DONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
