/* Body decoder: Content-Length, chunked (sizes, extensions, CRLF checks, trailers, limits) and
 * until-close, whole and in pieces. */
#include "proxy/http/h1/test_util.h"

static enum rs_h1_status run(enum rs_h1_body_kind kind, uint64_t cl, bool resp, const char *in,
                             size_t len, size_t step, char *out, size_t *out_len, size_t *end,
                             struct rs_h1_error *err, struct rs_h1_body_decoder *d,
                             struct rs_h1_header *tr, size_t trcap, const struct rs_h1_limits *l)
{
    rs_h1_body_decoder_init(d, kind, cl, resp, l, tr, trcap);
    return decode_in_steps(d, in, len, step, out, 4096, out_len, end, err);
}

static void test_content_length(void **state)
{
    (void)state;
    char out[4096];
    size_t out_len, end;
    struct rs_h1_error err;
    struct rs_h1_body_decoder d;
    for (size_t step = 0; step < 12; step++) {
        assert_int_equal(run(RS_H1_BODY_LENGTH, 11, false, LIT("hello worldGET /"), step, out,
                             &out_len, &end, &err, &d, NULL, 0, NULL),
                         RS_H1_DONE);
        assert_int_equal(out_len, 11);
        assert_memory_equal(out, "hello world", 11);
        assert_int_equal(end, 11);
        assert_true(rs_h1_body_done(&d));
    }
    /* Short: waits, and an EOF then is an error. */
    assert_int_equal(run(RS_H1_BODY_LENGTH, 20, false, LIT("hello"), 0, out, &out_len, &end, &err,
                         &d, NULL, 0, NULL),
                     RS_H1_NEED_MORE);
    assert_int_equal(rs_h1_body_eof(&d, &err), RS_H1_ERROR);
    assert_int_equal(err.status, 400);
    /* Zero length and none are done at once. */
    rs_h1_body_decoder_init(&d, RS_H1_BODY_LENGTH, 0, false, NULL, NULL, 0);
    assert_true(rs_h1_body_done(&d));
    rs_h1_body_decoder_init(&d, RS_H1_BODY_NONE, 0, false, NULL, NULL, 0);
    size_t consumed;
    struct rs_h1_slice data;
    assert_int_equal(rs_h1_body_decode(&d, LIT("xyz"), &consumed, &data, &err), RS_H1_DONE);
    assert_int_equal(consumed, 0);
    assert_int_equal(data.len, 0);
}

static void test_until_close(void **state)
{
    (void)state;
    char out[4096];
    size_t out_len, end;
    struct rs_h1_error err;
    struct rs_h1_body_decoder d;
    assert_int_equal(run(RS_H1_BODY_UNTIL_CLOSE, 0, true, LIT("abc\r\n0\r\n\r\n"), 3, out, &out_len,
                         &end, &err, &d, NULL, 0, NULL),
                     RS_H1_NEED_MORE);
    assert_int_equal(out_len, 10);
    assert_int_equal(rs_h1_body_eof(&d, &err), RS_H1_DONE);
    assert_true(rs_h1_body_done(&d));
}

static void test_chunked_basic(void **state)
{
    (void)state;
    static const char m[] = "5\r\nhello\r\n1;name=value;x\r\n \r\nA\r\n0123456789\r\n"
                            "0\r\n\r\nGET";
    char out[4096];
    size_t out_len, end;
    struct rs_h1_error err;
    struct rs_h1_body_decoder d;
    for (size_t step = 0; step < sizeof(m); step++) {
        assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, LIT(m), step, out, &out_len, &end, &err,
                             &d, NULL, 0, NULL),
                         RS_H1_DONE);
        assert_int_equal(out_len, 16);
        assert_memory_equal(out, "hello 0123456789", 16);
        assert_int_equal(end, sizeof(m) - 1 - 3);
        assert_int_equal(d.num_trailers, 0);
    }
}

static void test_chunked_trailers(void **state)
{
    (void)state;
    static const char m[] = "3\r\nabc\r\n0\r\nX-Checksum: 42\r\nX-Other:  v \r\n\r\n";
    char out[4096];
    size_t out_len, end;
    struct rs_h1_error err;
    struct rs_h1_body_decoder d;
    struct rs_h1_header tr[4];
    /* Trailers point into the buffer of the call that returned DONE, so decode in place here:
     * first `first` bytes, then all of them. */
    for (size_t first = 0; first <= sizeof(m) - 1; first++) {
        rs_h1_body_decoder_init(&d, RS_H1_BODY_CHUNKED, 0, false, NULL, tr, 4);
        size_t pos = 0, avail = first, consumed;
        struct rs_h1_slice data;
        enum rs_h1_status st;
        for (;;) {
            st = rs_h1_body_decode(&d, m + pos, avail - pos, &consumed, &data, &err);
            pos += consumed;
            if (st != RS_H1_NEED_MORE)
                break;
            if (data.len && pos < avail)
                continue;
            if (avail == sizeof(m) - 1)
                break;
            avail = sizeof(m) - 1;
        }
        assert_int_equal(st, RS_H1_DONE);
        assert_int_equal(pos, sizeof(m) - 1);
        assert_int_equal(d.num_trailers, 2);
        assert_ptr_equal(d.trailers[0].name.p, strstr(m, "X-Checksum"));
    }
    assert_int_equal(d.num_trailers, 2);
    assert_slice(d.trailers[0].name, "X-Checksum");
    assert_slice(d.trailers[0].value, "42");
    assert_slice(d.trailers[1].value, "v");
    /* Without storage, trailers are refused. */
    assert_int_equal(
        run(RS_H1_BODY_CHUNKED, 0, false, LIT(m), 0, out, &out_len, &end, &err, &d, NULL, 0, NULL),
        RS_H1_ERROR);
    assert_int_equal(err.status, 431);
    assert_string_equal(err.details, "http1.too_many_headers");
    /* Trailer limits: count and size. */
    struct rs_h1_limits l = {.max_headers_count = 1};
    assert_int_equal(
        run(RS_H1_BODY_CHUNKED, 0, false, LIT(m), 0, out, &out_len, &end, &err, &d, tr, 4, &l),
        RS_H1_ERROR);
    assert_int_equal(err.status, 431);
    struct rs_h1_limits small = {.max_headers_bytes = 16};
    assert_int_equal(
        run(RS_H1_BODY_CHUNKED, 0, false, LIT(m), 0, out, &out_len, &end, &err, &d, tr, 4, &small),
        RS_H1_ERROR);
    assert_int_equal(err.status, 431);
    assert_string_equal(err.details, "http1.headers_too_large");
    /* Trailers follow the field rules: obs-fold, bare LF, space before colon, NUL. */
    static const char *const bad[] = {
        "0\r\nA: b\r\n c\r\n\r\n", "0\r\nA: b\n\r\n", "0\r\nA : b\r\n\r\n",
        "0\r\nA: \x01\r\n\r\n",    "0\r\n\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, bad[i], strlen(bad[i]), 0, out, &out_len,
                             &end, &err, &d, tr, 4, NULL),
                         RS_H1_ERROR);
        assert_int_equal(err.status, 400);
        /* The response side reports 502. */
        assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, true, bad[i], strlen(bad[i]), 0, out, &out_len,
                             &end, &err, &d, tr, 4, NULL),
                         RS_H1_ERROR);
        assert_int_equal(err.status, 502);
    }
}

static void test_chunked_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\r\n",                          /* empty size */
        "g\r\n",                         /* not hex */
        "-1\r\n",                        /* sign */
        "+1\r\n",                        /* sign */
        "0x5\r\nhello\r\n0\r\n\r\n",     /* 0x prefix */
        "5 \r\nhello\r\n0\r\n\r\n",      /* trailing space without extension */
        " 5\r\nhello\r\n0\r\n\r\n",      /* leading space */
        "5\nhello\r\n0\r\n\r\n",         /* bare LF after size */
        "5\r\nhelloXX0\r\n\r\n",         /* no CRLF after data */
        "5\r\nhello\rX0\r\n\r\n",        /* CR then not LF */
        "5\r\nhello\n0\r\n\r\n",         /* LF only after data */
        "10000000000000000\r\n",         /* 17 hex digits: overflow */
        "5;a\x01\r\nhello\r\n0\r\n\r\n", /* control byte in extension */
        "5;a\rb\r\nhello\r\n0\r\n\r\n",  /* bare CR in extension */
    };
    char out[4096];
    size_t out_len, end;
    struct rs_h1_error err;
    struct rs_h1_body_decoder d;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (size_t step = 0; step < 4; step++) {
            enum rs_h1_status st = run(RS_H1_BODY_CHUNKED, 0, false, bad[i], strlen(bad[i]), step,
                                       out, &out_len, &end, &err, &d, NULL, 0, NULL);
            if (st != RS_H1_ERROR)
                fail_msg("case %zu step %zu: status %d", i, step, st);
            assert_int_equal(err.status, 400);
            assert_string_equal(err.details, "http1.codec_error");
        }
    }
    /* After an error the decoder stays failed. */
    size_t consumed;
    struct rs_h1_slice data;
    assert_int_equal(rs_h1_body_decode(&d, LIT("0\r\n\r\n"), &consumed, &data, &err), RS_H1_ERROR);
    /* 16 hex digits are the most that fit. */
    assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, LIT("ffffffffffffffff\r\nab"), 0, out,
                         &out_len, &end, &err, &d, NULL, 0, NULL),
                     RS_H1_NEED_MORE);
    assert_true(d.remaining == UINT64_MAX - 2);
    assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, LIT("1ffffffffffffffff\r\n"), 0, out,
                         &out_len, &end, &err, &d, NULL, 0, NULL),
                     RS_H1_ERROR);
    /* Leading zeros do not count towards overflow: the value is what matters. */
    assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, LIT("00000000000000001\r\na\r\n0\r\n\r\n"),
                         0, out, &out_len, &end, &err, &d, NULL, 0, NULL),
                     RS_H1_DONE);
    /* A chunk-size line longer than the limit. */
    struct rs_h1_limits l = {.max_chunk_line_bytes = 8};
    assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, LIT("1;aaaaaaaaaaaa\r\na\r\n0\r\n\r\n"), 0,
                         out, &out_len, &end, &err, &d, NULL, 0, &l),
                     RS_H1_ERROR);
    assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, LIT("1;aaaaaaaaaaaaaaa"), 0, out, &out_len,
                         &end, &err, &d, NULL, 0, &l),
                     RS_H1_ERROR);
    /* Truncated chunked body at EOF. */
    assert_int_equal(run(RS_H1_BODY_CHUNKED, 0, false, LIT("5\r\nhel"), 0, out, &out_len, &end,
                         &err, &d, NULL, 0, NULL),
                     RS_H1_NEED_MORE);
    assert_int_equal(rs_h1_body_eof(&d, &err), RS_H1_ERROR);
}

static void test_chunked_extensions_and_case(void **state)
{
    (void)state;
    static const char m[] = "a ; ext=\"quoted value\"\r\n0123456789\r\nB\r\nabcdefghijk\r\n"
                            "0;last\r\n\r\n";
    char out[4096];
    size_t out_len, end;
    struct rs_h1_error err;
    struct rs_h1_body_decoder d;
    assert_int_equal(
        run(RS_H1_BODY_CHUNKED, 0, false, LIT(m), 1, out, &out_len, &end, &err, &d, NULL, 0, NULL),
        RS_H1_DONE);
    assert_int_equal(out_len, 21);
    assert_memory_equal(out, "0123456789abcdefghijk", 21);
}

/* Limits as large as size_t goes must not wrap when added to an offset. */
static void test_huge_limits(void **state)
{
    (void)state;
    static const char m[] = "3\r\nabc\r\n0\r\nX: 1\r\n\r\n";
    struct rs_h1_limits l = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    struct rs_h1_header tr[2];
    struct rs_h1_body_decoder d;
    rs_h1_body_decoder_init(&d, RS_H1_BODY_CHUNKED, 0, false, &l, tr, 2);
    size_t consumed;
    struct rs_h1_slice data;
    struct rs_h1_error err;
    assert_int_equal(rs_h1_body_decode(&d, LIT(m), &consumed, &data, &err), RS_H1_NEED_MORE);
    assert_int_equal(data.len, 3);
    assert_int_equal(
        rs_h1_body_decode(&d, m + consumed, sizeof(m) - 1 - consumed, &consumed, &data, &err),
        RS_H1_DONE);
    assert_int_equal(d.num_trailers, 1);
}

/* Data slices point into the input; NEED_MORE leaves partial framing unconsumed. */
static void test_zero_copy_contract(void **state)
{
    (void)state;
    static const char m[] = "4\r\nwxyz\r\n1";
    struct rs_h1_body_decoder d;
    struct rs_h1_error err;
    size_t consumed;
    struct rs_h1_slice data;
    rs_h1_body_decoder_init(&d, RS_H1_BODY_CHUNKED, 0, false, NULL, NULL, 0);
    assert_int_equal(rs_h1_body_decode(&d, LIT(m), &consumed, &data, &err), RS_H1_NEED_MORE);
    assert_ptr_equal(data.p, m + 3);
    assert_int_equal(data.len, 4);
    assert_int_equal(consumed, 7);
    assert_int_equal(rs_h1_body_decode(&d, m + 7, sizeof(m) - 1 - 7, &consumed, &data, &err),
                     RS_H1_NEED_MORE);
    assert_int_equal(data.len, 0);
    assert_int_equal(consumed, 2); /* the CRLF; "1" waits for the rest of its line */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length), cmocka_unit_test(test_until_close),
        cmocka_unit_test(test_chunked_basic),  cmocka_unit_test(test_chunked_trailers),
        cmocka_unit_test(test_chunked_bad),    cmocka_unit_test(test_chunked_extensions_and_case),
        cmocka_unit_test(test_huge_limits),    cmocka_unit_test(test_zero_copy_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
