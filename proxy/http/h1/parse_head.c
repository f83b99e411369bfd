/* Request and response heads: start line, then the shared field parser, then framing. */
#include <string.h>

#include "proxy/http/h1/internal.h"

void rs_h1_head_init(struct rs_h1_head *head, struct rs_h1_header *storage, size_t cap)
{
    memset(head, 0, sizeof(*head));
    head->headers = storage;
    head->headers_cap = cap;
}

static void head_reset(struct rs_h1_head *head)
{
    struct rs_h1_header *storage = head->headers;
    size_t cap = head->headers_cap;
    rs_h1_head_init(head, storage, cap);
}

/* Only HTTP/1.0 and HTTP/1.1 are spoken here. Anything else on an HTTP/1 connection is answered
 * 400 "http1.codec_error", as Envoy's parser does (HCM, not the codec, decides about 1.0). */
static bool parse_version(const char *p, size_t len, int *minor)
{
    if (len != 8 || memcmp(p, "HTTP/1.", 7) != 0)
        return false;
    if (p[7] != '0' && p[7] != '1')
        return false;
    *minor = p[7] - '0';
    return true;
}

/* Skips empty lines before a start line (RFC 9112 2.2: a server should ignore at least one);
 * leaves a bare LF or CR for the line finder to refuse. */
static size_t skip_leading_crlf(const char *buf, size_t len)
{
    size_t pos = 0;
    while (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2;
    return pos;
}

static enum rs_h1_status parse_request_line(const char *buf, size_t pos, size_t eol,
                                            struct rs_h1_head *head, struct rs_h1_error *err)
{
    size_t i = pos;
    while (i < eol && rs_h1_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == pos || i == eol || buf[i] != ' ')
        return rs_h1_fail(err, 400, RS_H1_D_CODEC);
    head->method.p = buf + pos;
    head->method.len = i - pos;
    size_t t = ++i;
    while (i < eol && rs_h1_is_target_char((unsigned char)buf[i]))
        i++;
    /* Exactly one SP between the parts: extra whitespace or a control byte in the target is how
     * request-line smuggling starts. */
    if (i == t || i == eol || buf[i] != ' ')
        return rs_h1_fail(err, 400, RS_H1_D_CODEC);
    head->target.p = buf + t;
    head->target.len = i - t;
    i++;
    if (!parse_version(buf + i, eol - i, &head->version_minor))
        return rs_h1_fail(err, 400, RS_H1_D_CODEC);
    /* Methods are case-sensitive (RFC 9110 9.1). */
    head->connect = head->method.len == 7 && memcmp(head->method.p, "CONNECT", 7) == 0;
    return RS_H1_DONE;
}

static enum rs_h1_status parse_status_line(const char *buf, size_t pos, size_t eol,
                                           struct rs_h1_head *head, struct rs_h1_error *err)
{
    if (eol - pos < 12 || !parse_version(buf + pos, 8, &head->version_minor) || buf[pos + 8] != ' ')
        return rs_h1_fail(err, 502, RS_H1_D_CODEC);
    const char *s = buf + pos + 9;
    if (s[0] < '1' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
        return rs_h1_fail(err, 502, RS_H1_D_CODEC);
    head->status_code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    size_t i = pos + 12;
    /* reason-phrase is optional, but the SP before it is not (RFC 9112 4); a status line that ends
     * right after the code is accepted too, as most parsers do. */
    if (i < eol) {
        if (buf[i] != ' ')
            return rs_h1_fail(err, 502, RS_H1_D_CODEC);
        i++;
        for (size_t k = i; k < eol; k++) {
            if (!rs_h1_is_value_char((unsigned char)buf[k]))
                return rs_h1_fail(err, 502, RS_H1_D_CODEC);
        }
    }
    head->reason.p = buf + i;
    head->reason.len = eol - i;
    return RS_H1_DONE;
}

static enum rs_h1_status parse_head(const char *buf, size_t len, const struct rs_h1_limits *limits,
                                    struct rs_h1_head *head, size_t *consumed,
                                    struct rs_h1_error *err, bool is_response)
{
    struct rs_h1_limits l = rs_h1_limits_resolve(limits);
    int bad = is_response ? 502 : 400;
    head_reset(head);
    *consumed = 0;
    size_t pos = skip_leading_crlf(buf, len);
    size_t eol;
    enum rs_h1_status st = rs_h1_find_line(buf, len, pos, l.max_headers_bytes, &eol, bad, err);
    /* Empty lines before the start line are handed back as consumed even while waiting, so a
     * peer sending nothing but CRLFs cannot make each call rescan them. */
    if (st == RS_H1_NEED_MORE)
        *consumed = pos;
    if (st != RS_H1_DONE)
        return st;
    st = is_response ? parse_status_line(buf, pos, eol, head, err)
                     : parse_request_line(buf, pos, eol, head, err);
    if (st != RS_H1_DONE)
        return st;
    size_t max_count =
        l.max_headers_count < head->headers_cap ? l.max_headers_count : head->headers_cap;
    size_t end;
    st = rs_h1_parse_fields(buf, len, eol + 2, l.max_headers_bytes, max_count, head->headers,
                            &head->num_headers, &end, bad, err);
    if (st == RS_H1_NEED_MORE)
        *consumed = pos;
    if (st != RS_H1_DONE)
        return st;
    st = rs_h1_derive_framing(head, is_response, err);
    if (st != RS_H1_DONE)
        return st;
    *consumed = end;
    return RS_H1_DONE;
}

enum rs_h1_status rs_h1_parse_request_head(const char *buf, size_t len,
                                           const struct rs_h1_limits *limits,
                                           struct rs_h1_head *head, size_t *consumed,
                                           struct rs_h1_error *err)
{
    return parse_head(buf, len, limits, head, consumed, err, false);
}

enum rs_h1_status rs_h1_parse_response_head(const char *buf, size_t len,
                                            const struct rs_h1_limits *limits,
                                            struct rs_h1_head *head, size_t *consumed,
                                            struct rs_h1_error *err)
{
    return parse_head(buf, len, limits, head, consumed, err, true);
}

long rs_h1_head_find(const struct rs_h1_head *head, const char *name, size_t name_len)
{
    struct rs_h1_slice want = {name, name_len};
    for (size_t i = 0; i < head->num_headers; i++) {
        if (rs_h1_slice_eq_ci(head->headers[i].name, want))
            return (long)i;
    }
    return -1;
}

size_t rs_h1_head_hop_by_hop(const struct rs_h1_head *head, size_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < head->num_headers; i++) {
        if (!head->headers[i].hop_by_hop)
            continue;
        if (n < cap)
            out[n] = i;
        n++;
    }
    return n;
}
