/* Helpers shared by the codec's unit tests. */
#ifndef RS_HTTP_H1_TEST_UTIL_H
#define RS_HTTP_H1_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/http/h1/h1.h"

#define TEST_MAX_HEADERS 128

/* String literals may hold NULs: take their length from sizeof. */
#define LIT(s) (s), (sizeof(s) - 1)

static inline struct rs_h1_slice sl(const char *s)
{
    return (struct rs_h1_slice){s, strlen(s)};
}

static inline bool slice_is(struct rs_h1_slice s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define assert_slice(s, want)                                                                      \
    do {                                                                                           \
        if (!slice_is((s), (want)))                                                                \
            fail_msg("slice \"%.*s\" != \"%s\"", (int)(s).len, (s).p, (want));                     \
    } while (0)

struct parsed {
    struct rs_h1_head head;
    struct rs_h1_header storage[TEST_MAX_HEADERS];
    size_t consumed;
    struct rs_h1_error err;
    enum rs_h1_status st;
};

static inline enum rs_h1_status parse_req_n(struct parsed *p, const char *buf, size_t len,
                                            const struct rs_h1_limits *limits)
{
    rs_h1_head_init(&p->head, p->storage, TEST_MAX_HEADERS);
    memset(&p->err, 0, sizeof(p->err));
    p->st = rs_h1_parse_request_head(buf, len, limits, &p->head, &p->consumed, &p->err);
    return p->st;
}

static inline enum rs_h1_status parse_resp_n(struct parsed *p, const char *buf, size_t len,
                                             const struct rs_h1_limits *limits)
{
    rs_h1_head_init(&p->head, p->storage, TEST_MAX_HEADERS);
    memset(&p->err, 0, sizeof(p->err));
    p->st = rs_h1_parse_response_head(buf, len, limits, &p->head, &p->consumed, &p->err);
    return p->st;
}

/* Heap copy of exactly len bytes, so ASan catches reads past the end. */
static inline char *dup_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, s, len);
    return p;
}

/* Runs a body decoder over buf[0..len) in pieces of at most step bytes (0: all at once), the way
 * a connection would: unconsumed bytes are kept and presented again with the next piece. Appends
 * data to out (capacity out_cap) and returns the final status; *end is the message end offset on
 * DONE. */
static inline enum rs_h1_status decode_in_steps(struct rs_h1_body_decoder *d, const char *buf,
                                                size_t len, size_t step, char *out, size_t out_cap,
                                                size_t *out_len, size_t *end,
                                                struct rs_h1_error *err)
{
    size_t start = 0; /* first byte not consumed yet */
    size_t avail = step ? (step < len ? step : len) : len;
    *out_len = 0;
    for (;;) {
        size_t consumed;
        struct rs_h1_slice data;
        char *copy = dup_exact(buf + start, avail - start);
        enum rs_h1_status st = rs_h1_body_decode(d, copy, avail - start, &consumed, &data, err);
        if (data.len) {
            assert_true(data.p >= copy && data.p + data.len <= copy + (avail - start));
            assert_true(*out_len + data.len <= out_cap);
            memcpy(out + *out_len, data.p, data.len);
            *out_len += data.len;
        }
        free(copy);
        assert_true(consumed <= avail - start);
        start += consumed;
        if (st != RS_H1_NEED_MORE) {
            *end = start;
            return st;
        }
        if (data.len && start < avail)
            continue;
        if (avail == len)
            return RS_H1_NEED_MORE;
        avail = step && avail + step < len ? avail + step : len;
    }
}

#endif
