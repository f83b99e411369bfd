/* libFuzzer target for the HTTP/1.1 codec (proxy/http/h1): any bytes as what a connection has
 * buffered, parsed as pipelined requests or responses (heads and bodies), the way the connection
 * manager and the upstream codec will drive it.
 *
 * Input: byte 0 picks the split point used for the incremental checks, byte 1 picks the mode
 * (requests or responses, HEAD or GET as the request method for responses, small or default
 * limits, the body feed step); the rest is the wire data.
 *
 * Invariants (any violation aborts, so libFuzzer keeps the input):
 *  - consumed <= len; every slice of a DONE head lies inside the head; names are tokens, values
 *    have no CR/LF/NUL and no surrounding whitespace; counts within limits;
 *  - a head parsed from a prefix agrees with the whole: a prefix never fails differently and is
 *    never DONE differently, and the whole is DONE where a long enough prefix was;
 *  - a body decoded in one go and fed in small pieces through a connection-like buffer yields the
 *    same data, end and outcome; data slices point into the input;
 *  - a DONE head serialized again parses back to the same fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http/h1/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGES 16
#define MAX_HEADERS 128

static void die(const char *what)
{
    fprintf(stderr, "h1_fuzz: %s\n", what);
    abort();
}

static bool inside(struct rs_h1_slice s, const char *lo, const char *hi)
{
    return s.len == 0 || (s.p >= lo && s.p <= hi && (size_t)(hi - s.p) >= s.len);
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void check_fields(const struct rs_h1_header *h, size_t n, const char *lo, const char *hi)
{
    for (size_t i = 0; i < n; i++) {
        if (!inside(h[i].name, lo, hi) || !inside(h[i].value, lo, hi))
            die("field slice outside the input");
        if (h[i].name.len == 0)
            die("empty field name");
        for (size_t k = 0; k < h[i].name.len; k++) {
            if (!is_tchar((unsigned char)h[i].name.p[k]))
                die("non-token byte in a field name");
        }
        for (size_t k = 0; k < h[i].value.len; k++) {
            unsigned char c = (unsigned char)h[i].value.p[k];
            if (c == '\r' || c == '\n' || c == 0)
                die("CR, LF or NUL in a field value");
        }
        if (h[i].value.len &&
            (h[i].value.p[0] == ' ' || h[i].value.p[0] == '\t' ||
             h[i].value.p[h[i].value.len - 1] == ' ' || h[i].value.p[h[i].value.len - 1] == '\t'))
            die("untrimmed field value");
    }
}

static bool eq_ci(struct rs_h1_slice s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lit[i])
            return false;
    }
    return true;
}

/* An accepted head has unambiguous framing: at most one Transfer-Encoding, and it is "chunked"
 * and alone; every Content-Length field is a digit list agreeing with the derived length. */
static void check_framing_fields(const struct rs_h1_head *head)
{
    size_t te = 0, cl = 0;
    for (size_t i = 0; i < head->num_headers; i++) {
        const struct rs_h1_header *h = &head->headers[i];
        if (eq_ci(h->name, "transfer-encoding")) {
            te++;
            if (!eq_ci(h->value, "chunked"))
                die("a Transfer-Encoding other than chunked accepted");
        } else if (eq_ci(h->name, "content-length")) {
            cl++;
            uint64_t v = 0;
            for (size_t k = 0; k < h->value.len; k++) {
                char c = h->value.p[k];
                if (c == ',') {
                    if (v != head->content_length)
                        die("Content-Length list values differ");
                    v = 0;
                } else if (c < '0' || c > '9') {
                    die("non-digit Content-Length accepted");
                } else {
                    v = v * 10 + (uint64_t)(c - '0');
                }
            }
            if (v != head->content_length)
                die("Content-Length differs from the derived length");
        }
    }
    if (te > 1 || (te && cl) || (te != 0) != head->chunked || (cl != 0) != head->has_content_length)
        die("framing fields disagree with the derived framing");
}

static enum rs_h1_status parse(bool response, const char *buf, size_t len,
                               const struct rs_h1_limits *l, struct rs_h1_head *head,
                               struct rs_h1_header *storage, size_t *consumed,
                               struct rs_h1_error *err)
{
    rs_h1_head_init(head, storage, MAX_HEADERS);
    enum rs_h1_status st = response ? rs_h1_parse_response_head(buf, len, l, head, consumed, err)
                                    : rs_h1_parse_request_head(buf, len, l, head, consumed, err);
    if (*consumed > len)
        die("head consumed more than its input");
    if (st == RS_H1_ERROR && (!err->details || err->status < 400 || err->status > 599))
        die("error without status or details");
    if (st == RS_H1_NEED_MORE) {
        /* Only empty lines before the start line may be consumed while waiting. */
        for (size_t i = 0; i < *consumed; i += 2) {
            if (i + 1 >= *consumed || buf[i] != '\r' || buf[i + 1] != '\n')
                die("NEED_MORE consumed more than leading empty lines");
        }
    }
    if (st == RS_H1_DONE) {
        const char *hi = buf + *consumed;
        if (head->num_headers > l->max_headers_count && l->max_headers_count)
            die("more headers than the limit");
        check_fields(head->headers, head->num_headers, buf, hi);
        if (!inside(head->method, buf, hi) || !inside(head->target, buf, hi) ||
            !inside(head->reason, buf, hi))
            die("start-line slice outside the input");
        if (head->version_minor != 0 && head->version_minor != 1)
            die("bad version");
        if (head->chunked && head->has_content_length)
            die("both chunked and Content-Length accepted");
        check_framing_fields(head);
        if (l->max_headers_bytes && *consumed > l->max_headers_bytes)
            die("head larger than the limit accepted");
    }
    return st;
}

/* The same head, parsed from an exactly-sized copy of the first n bytes. */
static void check_prefix(bool response, const char *buf, size_t n, const struct rs_h1_limits *l,
                         enum rs_h1_status whole_st, size_t whole_consumed,
                         const struct rs_h1_head *whole, const struct rs_h1_error *whole_err)
{
    char *copy = malloc(n ? n : 1);
    if (!copy)
        die("out of memory");
    if (n)
        memcpy(copy, buf, n);
    struct rs_h1_header storage[MAX_HEADERS];
    struct rs_h1_head head;
    size_t consumed;
    struct rs_h1_error err = {0};
    enum rs_h1_status st = parse(response, copy, n, l, &head, storage, &consumed, &err);
    if (st == RS_H1_ERROR && (whole_st != RS_H1_ERROR || err.status != whole_err->status))
        die("a prefix fails where the whole does not");
    if (st == RS_H1_DONE && (whole_st != RS_H1_DONE || consumed != whole_consumed ||
                             head.num_headers != whole->num_headers))
        die("a prefix is done differently from the whole");
    if (whole_st == RS_H1_DONE && n >= whole_consumed && st != RS_H1_DONE)
        die("a prefix holding the whole head is not done");
    free(copy);
}

/* Serializes a parsed request head and parses it back. */
static void check_round_trip(const struct rs_h1_head *head, bool response,
                             const struct rs_h1_limits *l)
{
    struct rs_h1_buf out = {0};
    int rc =
        response
            ? rs_h1_serialize_response_head(&out, head->version_minor, head->status_code,
                                            head->reason, head->headers, head->num_headers)
            : rs_h1_serialize_request_head(&out, head->method, head->target, head->version_minor,
                                           head->headers, head->num_headers);
    if (rc != 0)
        die("a parsed head does not serialize");
    struct rs_h1_header storage[MAX_HEADERS];
    struct rs_h1_head again;
    size_t consumed;
    struct rs_h1_error err;
    /* The serializer normalizes "name:value" spacing, so allow for the growth. */
    struct rs_h1_limits roomy = *l;
    roomy.max_headers_bytes = out.len + 1;
    enum rs_h1_status st =
        parse(response, out.data, out.len, &roomy, &again, storage, &consumed, &err);
    if (st != RS_H1_DONE || consumed != out.len || again.num_headers != head->num_headers ||
        again.chunked != head->chunked || again.content_length != head->content_length ||
        again.keep_alive != head->keep_alive || again.upgrade != head->upgrade)
        die("a serialized head does not parse back the same");
    for (size_t i = 0; i < head->num_headers; i++) {
        if (again.headers[i].value.len != head->headers[i].value.len ||
            memcmp(again.headers[i].value.p, head->headers[i].value.p,
                   head->headers[i].value.len) != 0)
            die("a field value changed in a round trip");
    }
    free(out.data);
}

struct body_result {
    enum rs_h1_status st;
    int err_status;
    size_t end; /* offset where the body ended (DONE) */
    size_t data_len;
    uint64_t data_hash;
    size_t trailers;
};

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Decodes buf[0..len) fed step bytes at a time (0: all at once) through a contiguous buffer of
 * unconsumed bytes, like a connection. At EOF, rs_h1_body_eof. */
static void decode_body(enum rs_h1_body_kind kind, uint64_t cl, bool response,
                        const struct rs_h1_limits *l, const char *buf, size_t len, size_t step,
                        struct body_result *r)
{
    struct rs_h1_header trailers[8];
    struct rs_h1_body_decoder d;
    rs_h1_body_decoder_init(&d, kind, cl, response, l, trailers, 8);
    memset(r, 0, sizeof(*r));
    r->data_hash = 1469598103934665603ull;
    size_t start = 0, avail = step && step < len ? step : len;
    for (;;) {
        size_t n = avail - start;
        char *copy = malloc(n ? n : 1);
        if (!copy)
            die("out of memory");
        if (n)
            memcpy(copy, buf + start, n);
        size_t consumed;
        struct rs_h1_slice data;
        struct rs_h1_error err = {0};
        enum rs_h1_status st = rs_h1_body_decode(&d, copy, n, &consumed, &data, &err);
        if (consumed > n)
            die("body consumed more than its input");
        if (!inside(data, copy, copy + n))
            die("body data outside the input");
        if (data.len && data.p + data.len > copy + consumed)
            die("body data beyond what was consumed");
        r->data_len += data.len;
        r->data_hash = hash_bytes(r->data_hash, data.p, data.len);
        if (st == RS_H1_DONE) {
            check_fields(d.trailers, d.num_trailers, copy, copy + consumed);
            r->trailers = d.num_trailers;
        }
        free(copy);
        start += consumed;
        if (st == RS_H1_ERROR) {
            r->st = st;
            r->err_status = err.status;
            return;
        }
        if (st == RS_H1_DONE) {
            r->st = st;
            r->end = start;
            return;
        }
        if (data.len && start < avail)
            continue;
        if (avail == len) {
            struct rs_h1_error eof_err;
            r->st = rs_h1_body_eof(&d, &eof_err);
            if (r->st == RS_H1_DONE)
                r->end = len;
            else
                r->err_status = eof_err.status;
            return;
        }
        avail = step && avail + step < len ? avail + step : len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t split_sel = data[0], mode = data[1];
    const char *buf = (const char *)data + 2;
    size_t len = size - 2;
    bool response = mode & 1;
    struct rs_h1_slice req_method =
        (mode & 2) ? (struct rs_h1_slice){"HEAD", 4} : (struct rs_h1_slice){"GET", 3};
    struct rs_h1_limits l = {0};
    if (mode & 4) {
        l.max_headers_bytes = 256;
        l.max_headers_count = 4;
        l.max_chunk_line_bytes = 16;
    } else {
        l.max_headers_bytes = RS_H1_DEFAULT_MAX_HEADERS_BYTES;
        l.max_headers_count = RS_H1_DEFAULT_MAX_HEADERS_COUNT;
        l.max_chunk_line_bytes = RS_H1_DEFAULT_MAX_CHUNK_LINE_BYTES;
    }
    size_t step = (size_t)(mode >> 3) + 1; /* 1..32 */

    size_t pos = 0;
    for (int m = 0; m < MAX_MESSAGES && pos <= len; m++) {
        const char *p = buf + pos;
        size_t n = len - pos;
        struct rs_h1_header storage[MAX_HEADERS];
        struct rs_h1_head head;
        size_t consumed;
        struct rs_h1_error err = {0};
        enum rs_h1_status st = parse(response, p, n, &l, &head, storage, &consumed, &err);
        check_prefix(response, p, n * split_sel / 255, &l, st, consumed, &head, &err);
        if (st != RS_H1_DONE)
            return 0;
        if (m == 0)
            check_round_trip(&head, response, &l);
        enum rs_h1_body_kind kind =
            response ? rs_h1_response_body_kind(&head, req_method) : rs_h1_request_body_kind(&head);
        if (!response && kind == RS_H1_BODY_UNTIL_CLOSE)
            die("a request body read until close");
        if (kind == RS_H1_BODY_LENGTH && (!head.has_content_length || head.content_length == 0))
            die("length body without a length");
        if (kind == RS_H1_BODY_CHUNKED && !head.chunked)
            die("chunked body without Transfer-Encoding: chunked");
        p += consumed;
        n -= consumed;
        struct body_result whole, pieces;
        decode_body(kind, head.content_length, response, &l, p, n, 0, &whole);
        decode_body(kind, head.content_length, response, &l, p, n, step, &pieces);
        if (whole.st != pieces.st || whole.err_status != pieces.err_status ||
            whole.end != pieces.end || whole.data_len != pieces.data_len ||
            whole.data_hash != pieces.data_hash || whole.trailers != pieces.trailers)
            die("a body fed in pieces decodes differently");
        if (whole.st != RS_H1_DONE || kind == RS_H1_BODY_UNTIL_CLOSE)
            return 0;
        if (kind == RS_H1_BODY_LENGTH && whole.data_len != head.content_length)
            die("length body of the wrong size");
        pos += consumed + whole.end;
    }
    return 0;
}
