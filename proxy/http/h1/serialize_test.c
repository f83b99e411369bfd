/* Serializer: exact bytes, refusal of anything that would break framing, and round trips through
 * the parser. */
#include <errno.h>

#include "proxy/http/h1/test_util.h"

#define assert_buf(b, s)                                                                           \
    do {                                                                                           \
        assert_int_equal((b).len, strlen(s));                                                      \
        assert_memory_equal((b).data, (s), (b).len);                                               \
    } while (0)

static void test_request_head(void **state)
{
    (void)state;
    struct rs_h1_buf b = {0};
    struct rs_h1_header h[] = {{sl("Host"), sl("example.com"), false},
                               {sl("content-length"), sl("3"), false}};
    assert_int_equal(rs_h1_serialize_request_head(&b, sl("POST"), sl("/x?y"), 1, h, 2), 0);
    assert_buf(b, "POST /x?y HTTP/1.1\r\nHost: example.com\r\ncontent-length: 3\r\n\r\n");
    assert_int_equal(rs_h1_serialize_request_head(&b, sl("GET"), sl("/"), 0, NULL, 0), 0);
    assert_buf(b, "POST /x?y HTTP/1.1\r\nHost: example.com\r\ncontent-length: 3\r\n\r\n"
                  "GET / HTTP/1.0\r\n\r\n");
    free(b.data);
}

static void test_response_head(void **state)
{
    (void)state;
    struct rs_h1_buf b = {0};
    struct rs_h1_header h[] = {{sl("server"), sl("ringside"), false}};
    assert_int_equal(rs_h1_serialize_response_head(&b, 1, 404, sl(""), h, 1), 0);
    assert_buf(b, "HTTP/1.1 404 Not Found\r\nserver: ringside\r\n\r\n");
    b.len = 0;
    assert_int_equal(rs_h1_serialize_response_head(&b, 1, 200, sl("Fine"), NULL, 0), 0);
    assert_buf(b, "HTTP/1.1 200 Fine\r\n\r\n");
    b.len = 0;
    assert_int_equal(rs_h1_serialize_response_head(&b, 0, 799, sl(""), NULL, 0), 0);
    assert_buf(b, "HTTP/1.0 799 Unknown\r\n\r\n");
    assert_string_equal(rs_h1_reason_phrase(431), "Request Header Fields Too Large");
    assert_string_equal(rs_h1_reason_phrase(503), "Service Unavailable");
    free(b.data);
}

static void test_refuses_injection(void **state)
{
    (void)state;
    struct rs_h1_buf b = {0};
    struct rs_h1_header bad_values[][1] = {
        {{sl("X"), sl("a\r\nInjected: 1"), false}},
        {{sl("X"), sl("a\nb"), false}},
        {{sl("X"), {"a\0b", 3}, false}},
        {{sl("X Y"), sl("v"), false}},
        {{sl(""), sl("v"), false}},
        {{sl("X:"), sl("v"), false}},
    };
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        assert_int_equal(rs_h1_serialize_request_head(&b, sl("GET"), sl("/"), 1, bad_values[i], 1),
                         -EINVAL);
        assert_int_equal(rs_h1_serialize_response_head(&b, 1, 200, sl(""), bad_values[i], 1),
                         -EINVAL);
        assert_int_equal(rs_h1_serialize_last_chunk(&b, bad_values[i], 1), -EINVAL);
        assert_int_equal(b.len, 0);
    }
    assert_int_equal(rs_h1_serialize_request_head(&b, sl("G T"), sl("/"), 1, NULL, 0), -EINVAL);
    assert_int_equal(rs_h1_serialize_request_head(&b, sl("GET"), sl("/ x"), 1, NULL, 0), -EINVAL);
    assert_int_equal(rs_h1_serialize_request_head(&b, sl("GET"), sl(""), 1, NULL, 0), -EINVAL);
    assert_int_equal(rs_h1_serialize_request_head(&b, sl("GET"), sl("/"), 2, NULL, 0), -EINVAL);
    assert_int_equal(rs_h1_serialize_response_head(&b, 1, 200, sl("O\r\nK"), NULL, 0), -EINVAL);
    assert_int_equal(rs_h1_serialize_response_head(&b, 1, 99, sl(""), NULL, 0), -EINVAL);
    assert_int_equal(rs_h1_serialize_response_head(&b, 1, 1000, sl(""), NULL, 0), -EINVAL);
    assert_int_equal(b.len, 0);
    free(b.data);
}

static void test_chunks(void **state)
{
    (void)state;
    struct rs_h1_buf b = {0};
    assert_int_equal(rs_h1_serialize_chunk_header(&b, 26), 0);
    assert_buf(b, "1a\r\n");
    assert_int_equal(rs_h1_serialize_chunk_end(&b), 0);
    assert_int_equal(rs_h1_serialize_chunk_header(&b, 0), -EINVAL);
    assert_buf(b, "1a\r\n\r\n");
    b.len = 0;
    assert_int_equal(rs_h1_serialize_last_chunk(&b, NULL, 0), 0);
    assert_buf(b, "0\r\n\r\n");
    b.len = 0;
    struct rs_h1_header t[] = {{sl("x-sum"), sl("9"), false}};
    assert_int_equal(rs_h1_serialize_last_chunk(&b, t, 1), 0);
    assert_buf(b, "0\r\nx-sum: 9\r\n\r\n");
    char hdr[RS_H1_CHUNK_HEADER_MAX];
    assert_int_equal(rs_h1_chunk_header(hdr, SIZE_MAX), 18);
    assert_memory_equal(hdr, "ffffffffffffffff\r\n", 18);
    assert_int_equal(rs_h1_chunk_header(hdr, 0), 0);
    free(b.data);
}

/* Serialize, parse back, compare; then a chunked body made by the helpers decodes to the data. */
static void test_round_trip(void **state)
{
    (void)state;
    struct rs_h1_buf b = {0};
    struct rs_h1_header h[] = {{sl("Host"), sl("a.example"), false},
                               {sl("Transfer-Encoding"), sl("chunked"), false},
                               {sl("X-Empty"), sl(""), false},
                               {sl("X-Utf8"), sl("caf\xc3\xa9"), false}};
    assert_int_equal(rs_h1_serialize_request_head(&b, sl("PUT"), sl("/r"), 1, h, 4), 0);
    size_t head_len = b.len;
    static const char *const pieces[] = {"hello", " ", "world, this is a longer chunk"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(rs_h1_serialize_chunk_header(&b, strlen(pieces[i])), 0);
        size_t n = strlen(pieces[i]);
        b.data = realloc(b.data, b.len + n + 64);
        b.cap = b.len + n + 64;
        memcpy(b.data + b.len, pieces[i], n);
        b.len += n;
        assert_int_equal(rs_h1_serialize_chunk_end(&b), 0);
    }
    struct rs_h1_header t[] = {{sl("X-T"), sl("1"), false}};
    assert_int_equal(rs_h1_serialize_last_chunk(&b, t, 1), 0);

    struct parsed p;
    assert_int_equal(parse_req_n(&p, b.data, b.len, NULL), RS_H1_DONE);
    assert_int_equal(p.consumed, head_len);
    assert_slice(p.head.method, "PUT");
    assert_slice(p.head.target, "/r");
    assert_int_equal(p.head.num_headers, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(slice_is(p.head.headers[i].name, "") ||
                    p.head.headers[i].name.len == h[i].name.len);
        assert_memory_equal(p.head.headers[i].value.p, h[i].value.p, h[i].value.len);
    }
    assert_true(p.head.chunked);
    struct rs_h1_body_decoder d;
    struct rs_h1_header tr[2];
    rs_h1_body_decoder_init(&d, rs_h1_request_body_kind(&p.head), 0, false, NULL, tr, 2);
    char out[256];
    size_t out_len, end;
    struct rs_h1_error err;
    assert_int_equal(decode_in_steps(&d, b.data + head_len, b.len - head_len, 3, out, sizeof(out),
                                     &out_len, &end, &err),
                     RS_H1_DONE);
    assert_int_equal(end, b.len - head_len);
    assert_int_equal(out_len, strlen("hello world, this is a longer chunk"));
    assert_memory_equal(out, "hello world, this is a longer chunk", out_len);
    assert_int_equal(d.num_trailers, 1);

    b.len = 0;
    struct rs_h1_header rh[] = {{sl("content-length"), sl("0"), false}};
    assert_int_equal(rs_h1_serialize_response_head(&b, 1, 201, sl(""), rh, 1), 0);
    assert_int_equal(parse_resp_n(&p, b.data, b.len, NULL), RS_H1_DONE);
    assert_int_equal(p.head.status_code, 201);
    assert_slice(p.head.reason, "Created");
    assert_true(p.head.has_content_length);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_head),      cmocka_unit_test(test_response_head),
        cmocka_unit_test(test_refuses_injection), cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
