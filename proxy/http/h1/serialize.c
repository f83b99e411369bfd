/* Serializer for heads and chunked framing. Everything a peer will parse is validated first, so
 * no caller-supplied string (a header value from a filter, a reason phrase) can inject a line
 * break and with it a second message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http/h1/internal.h"

static int reserve(struct rs_h1_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -ENOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Callers reserve first, so appends cannot fail. */
static void put(struct rs_h1_buf *b, const void *p, size_t n)
{
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static bool valid_token(struct rs_h1_slice s)
{
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!rs_h1_is_tchar((unsigned char)s.p[i]))
            return false;
    }
    return true;
}

/* Field values and reason phrases: the bytes the parser accepts (no CR, LF, NUL or other
 * control bytes but HTAB). Surrounding whitespace is allowed; receivers trim it. */
static bool valid_text(struct rs_h1_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (!rs_h1_is_value_char((unsigned char)s.p[i]))
            return false;
    }
    return true;
}

static bool valid_target(struct rs_h1_slice s)
{
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!rs_h1_is_target_char((unsigned char)s.p[i]))
            return false;
    }
    return true;
}

/* Validates fields and returns the bytes they need ("name: value\r\n" each), or SIZE_MAX. */
static size_t fields_size(const struct rs_h1_header *h, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!valid_token(h[i].name) || !valid_text(h[i].value))
            return SIZE_MAX;
        size_t one = h[i].name.len + h[i].value.len + 4;
        if (one < h[i].name.len || total > SIZE_MAX - 1 - one)
            return SIZE_MAX;
        total += one;
    }
    return total;
}

static void put_fields(struct rs_h1_buf *b, const struct rs_h1_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put(b, h[i].name.p, h[i].name.len);
        put(b, ": ", 2);
        put(b, h[i].value.p, h[i].value.len);
        put(b, "\r\n", 2);
    }
}

int rs_h1_serialize_request_head(struct rs_h1_buf *out, struct rs_h1_slice method,
                                 struct rs_h1_slice target, int version_minor,
                                 const struct rs_h1_header *headers, size_t num_headers)
{
    if (!valid_token(method) || !valid_target(target) || (version_minor != 0 && version_minor != 1))
        return -EINVAL;
    size_t fields = fields_size(headers, num_headers);
    if (fields == SIZE_MAX)
        return -EINVAL;
    /* "M T HTTP/1.x\r\n" ... "\r\n" */
    size_t line = method.len + target.len + 12;
    if (line < method.len || fields > SIZE_MAX - line - 2)
        return -ENOMEM;
    if (reserve(out, line + fields + 2) != 0)
        return -ENOMEM;
    put(out, method.p, method.len);
    put(out, " ", 1);
    put(out, target.p, target.len);
    put(out, version_minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);
    put_fields(out, headers, num_headers);
    put(out, "\r\n", 2);
    return 0;
}

int rs_h1_serialize_response_head(struct rs_h1_buf *out, int version_minor, int status,
                                  struct rs_h1_slice reason, const struct rs_h1_header *headers,
                                  size_t num_headers)
{
    if (status < 100 || status > 999 || (version_minor != 0 && version_minor != 1))
        return -EINVAL;
    if (!reason.len) {
        reason.p = rs_h1_reason_phrase(status);
        reason.len = strlen(reason.p);
    }
    if (!valid_text(reason))
        return -EINVAL;
    size_t fields = fields_size(headers, num_headers);
    if (fields == SIZE_MAX)
        return -EINVAL;
    size_t line = reason.len + 15; /* "HTTP/1.x NNN " reason "\r\n" */
    if (line < reason.len || fields > SIZE_MAX - line - 2)
        return -ENOMEM;
    if (reserve(out, line + fields + 2) != 0)
        return -ENOMEM;
    /* "HTTP/1.x NNN " by hand: once per response, and the status is already range-checked. */
    char start[13] = {'H',
                      'T',
                      'T',
                      'P',
                      '/',
                      '1',
                      '.',
                      (char)('0' + (version_minor ? 1 : 0)),
                      ' ',
                      (char)('0' + status / 100 % 10),
                      (char)('0' + status / 10 % 10),
                      (char)('0' + status % 10),
                      ' '};
    put(out, start, 13);
    put(out, reason.p, reason.len);
    put(out, "\r\n", 2);
    put_fields(out, headers, num_headers);
    put(out, "\r\n", 2);
    return 0;
}

size_t rs_h1_chunk_header(char *out, size_t size)
{
    if (!size)
        return 0;
    int n = snprintf(out, RS_H1_CHUNK_HEADER_MAX, "%zx\r\n", size);
    return n > 0 ? (size_t)n : 0;
}

int rs_h1_serialize_chunk_header(struct rs_h1_buf *out, size_t size)
{
    if (!size)
        return -EINVAL;
    if (reserve(out, RS_H1_CHUNK_HEADER_MAX) != 0)
        return -ENOMEM;
    out->len += rs_h1_chunk_header(out->data + out->len, size);
    return 0;
}

int rs_h1_serialize_chunk_end(struct rs_h1_buf *out)
{
    if (reserve(out, 2) != 0)
        return -ENOMEM;
    put(out, "\r\n", 2);
    return 0;
}

int rs_h1_serialize_last_chunk(struct rs_h1_buf *out, const struct rs_h1_header *trailers,
                               size_t num_trailers)
{
    size_t fields = fields_size(trailers, num_trailers);
    if (fields == SIZE_MAX)
        return -EINVAL;
    if (fields > SIZE_MAX - 5 || reserve(out, fields + 5) != 0)
        return -ENOMEM;
    put(out, "0\r\n", 3);
    put_fields(out, trailers, num_trailers);
    put(out, "\r\n", 2);
    return 0;
}

const char *rs_h1_reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 305:
        return "Use Proxy";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Entity";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
