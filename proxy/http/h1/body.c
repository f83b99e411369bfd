/* Message body decoder: Content-Length, chunked (RFC 9112 7.1) and read-until-close.
 *
 * Data is never copied: each call yields a slice of the caller's buffer. Chunk framing is small,
 * so an incomplete chunk-size line or trailer section is simply left unconsumed for the caller to
 * present again with more bytes; only the CRLF after chunk data is tracked byte by byte, because
 * the data before it has already been handed out. */
#include <string.h>

#include "proxy/http/h1/internal.h"

enum {
    S_LENGTH,
    S_UNTIL_CLOSE,
    S_CHUNK_SIZE,
    S_CHUNK_DATA,
    S_CHUNK_CR, /* expecting the CR after chunk data */
    S_CHUNK_LF, /* expecting the LF after chunk data */
    S_TRAILERS,
    S_DONE,
    S_ERROR,
};

void rs_h1_body_decoder_init(struct rs_h1_body_decoder *d, enum rs_h1_body_kind kind,
                             uint64_t content_length, bool is_response,
                             const struct rs_h1_limits *limits,
                             struct rs_h1_header *trailer_storage, size_t trailer_cap)
{
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    d->is_response = is_response;
    d->limits = rs_h1_limits_resolve(limits);
    d->trailers = trailer_storage;
    d->trailers_cap = trailer_storage ? trailer_cap : 0;
    switch (kind) {
    case RS_H1_BODY_LENGTH:
        d->remaining = content_length;
        d->state = content_length ? S_LENGTH : S_DONE;
        break;
    case RS_H1_BODY_CHUNKED:
        d->state = S_CHUNK_SIZE;
        break;
    case RS_H1_BODY_UNTIL_CLOSE:
        d->state = S_UNTIL_CLOSE;
        break;
    default:
        d->state = S_DONE;
        break;
    }
}

bool rs_h1_body_done(const struct rs_h1_body_decoder *d)
{
    return d->state == S_DONE;
}

/* Limits are offsets from pos; a configured SIZE_MAX must not wrap around. */
static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static enum rs_h1_status fail(struct rs_h1_body_decoder *d, struct rs_h1_error *err, int req_status,
                              const char *details)
{
    d->state = S_ERROR;
    return rs_h1_fail(err, d->is_response ? 502 : req_status, details);
}

/* chunk-size [ chunk-ext ] from buf[0..n) (the line without its CRLF). Extensions are checked
 * for stray bytes and otherwise ignored, as Envoy does. */
static bool parse_chunk_size(const char *p, size_t n, uint64_t *size)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < n && (rs_h1_char_class[(unsigned char)p[i]] & RS_H1_C_HEX)) {
        /* 16 hex digits fill 64 bits: one more would overflow. */
        if (v >> 60)
            return false;
        unsigned char c = (unsigned char)p[i];
        unsigned d = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
        v = (v << 4) | d;
        i++;
    }
    if (i == 0)
        return false;
    if (i < n) {
        /* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) */
        while (i < n && rs_h1_is_ows((unsigned char)p[i]))
            i++;
        if (i == n || p[i] != ';')
            return false;
        for (; i < n; i++) {
            if (!rs_h1_is_value_char((unsigned char)p[i]))
                return false;
        }
    }
    *size = v;
    return true;
}

static enum rs_h1_status decode_chunked(struct rs_h1_body_decoder *d, const char *buf, size_t len,
                                        size_t *consumed, struct rs_h1_slice *data,
                                        struct rs_h1_error *err)
{
    size_t pos = 0;
    for (;;) {
        switch (d->state) {
        case S_CHUNK_SIZE: {
            size_t eol;
            struct rs_h1_error line_err;
            enum rs_h1_status st = rs_h1_find_line(
                buf, len, pos, sat_add(pos, d->limits.max_chunk_line_bytes), &eol, 400, &line_err);
            if (st == RS_H1_NEED_MORE) {
                *consumed = pos;
                return RS_H1_NEED_MORE;
            }
            if (st == RS_H1_ERROR)
                return fail(d, err, 400, RS_H1_D_CODEC);
            uint64_t size;
            if (!parse_chunk_size(buf + pos, eol - pos, &size))
                return fail(d, err, 400, RS_H1_D_CODEC);
            pos = eol + 2;
            if (size == 0) {
                d->state = S_TRAILERS;
            } else {
                d->remaining = size;
                d->state = S_CHUNK_DATA;
            }
            break;
        }
        case S_CHUNK_DATA: {
            if (pos == len) {
                *consumed = pos;
                return RS_H1_NEED_MORE;
            }
            size_t take = len - pos;
            if (take > d->remaining)
                take = (size_t)d->remaining;
            data->p = buf + pos;
            data->len = take;
            d->remaining -= take;
            pos += take;
            if (d->remaining == 0)
                d->state = S_CHUNK_CR;
            *consumed = pos;
            return RS_H1_NEED_MORE;
        }
        case S_CHUNK_CR:
        case S_CHUNK_LF:
            if (pos == len) {
                *consumed = pos;
                return RS_H1_NEED_MORE;
            }
            /* The CRLF after chunk data is mandatory: anything else means the sender and we
             * disagree about the chunk's size. */
            if (buf[pos] != (d->state == S_CHUNK_CR ? '\r' : '\n'))
                return fail(d, err, 400, RS_H1_D_CODEC);
            pos++;
            d->state = d->state == S_CHUNK_CR ? S_CHUNK_LF : S_CHUNK_SIZE;
            break;
        case S_TRAILERS: {
            size_t end;
            size_t n = 0;
            size_t max_count = d->limits.max_headers_count < d->trailers_cap
                                   ? d->limits.max_headers_count
                                   : d->trailers_cap;
            /* Trailers obey the same field rules and size limits as a head. Without storage,
             * max_count is 0 and any trailer field is refused as too many. */
            enum rs_h1_status st = rs_h1_parse_fields(
                buf, len, pos, sat_add(pos, d->limits.max_headers_bytes), max_count, d->trailers,
                &n, &end, d->is_response ? 502 : 400, err);
            if (st == RS_H1_NEED_MORE) {
                *consumed = pos;
                return RS_H1_NEED_MORE;
            }
            if (st == RS_H1_ERROR) {
                d->state = S_ERROR;
                return RS_H1_ERROR;
            }
            d->num_trailers = n;
            d->state = S_DONE;
            *consumed = end;
            return RS_H1_DONE;
        }
        default:
            return fail(d, err, 400, RS_H1_D_CODEC);
        }
    }
}

enum rs_h1_status rs_h1_body_decode(struct rs_h1_body_decoder *d, const char *buf, size_t len,
                                    size_t *consumed, struct rs_h1_slice *data,
                                    struct rs_h1_error *err)
{
    *consumed = 0;
    data->p = buf;
    data->len = 0;
    switch (d->state) {
    case S_DONE:
        return RS_H1_DONE;
    case S_ERROR:
        return rs_h1_fail(err, d->is_response ? 502 : 400, RS_H1_D_CODEC);
    case S_UNTIL_CLOSE:
        data->len = len;
        *consumed = len;
        return RS_H1_NEED_MORE;
    case S_LENGTH: {
        size_t take = len;
        if (take > d->remaining)
            take = (size_t)d->remaining;
        data->len = take;
        *consumed = take;
        d->remaining -= take;
        if (d->remaining == 0) {
            d->state = S_DONE;
            return RS_H1_DONE;
        }
        return RS_H1_NEED_MORE;
    }
    default:
        return decode_chunked(d, buf, len, consumed, data, err);
    }
}

enum rs_h1_status rs_h1_body_eof(struct rs_h1_body_decoder *d, struct rs_h1_error *err)
{
    if (d->state == S_UNTIL_CLOSE)
        d->state = S_DONE;
    if (d->state == S_DONE)
        return RS_H1_DONE;
    /* A Content-Length or chunked body cut short: the message is incomplete. */
    d->state = S_ERROR;
    return rs_h1_fail(err, d->is_response ? 502 : 400, RS_H1_D_CODEC);
}
