/* HTTP/1.1 request parsing for the admin server (RFC 9112 syntax, strictly). The parser is
 * restartable from scratch: the server calls it again on the whole buffer after each receive,
 * which costs nothing at admin request sizes and keeps no state between calls. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/admin/request.h"

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '#';
}
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}
static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t rs_admin_percent_decode(const char *src, size_t len, char *dst)
{
    size_t out = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (src[i] == '%' && i + 2 < len && (hi = hexval(src[i + 1])) >= 0 &&
            (lo = hexval(src[i + 2])) >= 0) {
            dst[out++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[out++] = src[i];
        }
    }
    dst[out] = '\0';
    return out;
}

struct head {
    const char *p; /* the head, from the request line to the blank line, CRLFs included */
    size_t len;
};

/* Checks the bytes of an unfinished head so garbage is refused at once rather than after the
 * client has sent 64 KiB: every line must end in CRLF and hold no control characters. */
static int check_partial(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r') {
            if (i + 1 < len && p[i + 1] != '\n')
                return 400;
        } else if (c == '\n') {
            if (i == 0 || p[i - 1] != '\r')
                return 400;
        } else if (!is_value_char(c)) {
            return 400;
        }
    }
    return 0;
}

/* "METHOD SP target SP HTTP/1.x"; copies method and path into *scratch (advanced). */
static int parse_request_line(const char *line, size_t len, struct rs_admin_request *req,
                              char **scratch, const char **query, size_t *query_len)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i > 32 || i >= len || line[i] != ' ')
        return 400;
    size_t method_len = i++;
    size_t target_start = i;
    while (i < len && is_target_char((unsigned char)line[i]))
        i++;
    if (i == target_start || i >= len || line[i] != ' ' || line[target_start] != '/')
        return 400;
    size_t target_len = i - target_start;
    const char *version = line + i + 1;
    size_t version_len = len - i - 1;
    if (version_len != 8 || memcmp(version, "HTTP/", 5) != 0 || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return 400;
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
        return 505;
    req->version_minor = version[7] - '0';

    char *s = *scratch;
    memcpy(s, line, method_len);
    s[method_len] = '\0';
    req->method = s;
    s += method_len + 1;
    const char *target = line + target_start;
    const char *q = memchr(target, '?', target_len);
    size_t path_len = q ? (size_t)(q - target) : target_len;
    memcpy(s, target, path_len);
    s[path_len] = '\0';
    req->path = s;
    s += path_len + 1;
    *scratch = s;
    *query = q ? q + 1 : NULL;
    *query_len = q ? target_len - path_len - 1 : 0;
    return 0;
}

static int parse_query(const char *q, size_t len, struct rs_admin_request *req, char **scratch)
{
    char *s = *scratch;
    while (len > 0) {
        const char *amp = memchr(q, '&', len);
        size_t seg = amp ? (size_t)(amp - q) : len;
        if (seg > 0) {
            if (req->nparams == RS_ADMIN_MAX_PARAMS)
                return 400;
            const char *eq = memchr(q, '=', seg);
            size_t name_len = eq ? (size_t)(eq - q) : seg;
            struct rs_admin_param *p = &req->params[req->nparams++];
            p->name = s;
            s += rs_admin_percent_decode(q, name_len, s) + 1;
            p->value = s;
            if (eq)
                s += rs_admin_percent_decode(eq + 1, seg - name_len - 1, s) + 1;
            else
                *s++ = '\0';
        }
        if (amp == NULL)
            break;
        len -= seg + 1;
        q = amp + 1;
    }
    *scratch = s;
    return 0;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Comma-separated Connection options. */
static void parse_connection(const char *v, size_t len, bool *close, bool *keep_alive)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',' && !is_ows(v[i]))
            i++;
        if (name_is(v + start, i - start, "close"))
            *close = true;
        else if (name_is(v + start, i - start, "keep-alive"))
            *keep_alive = true;
    }
}

struct header_facts {
    int hosts;
    bool has_length, has_te, close, keep_alive;
    size_t length;
};

static int parse_content_length(const char *v, size_t len, size_t limit, struct header_facts *f)
{
    if (len == 0)
        return 400;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 400;
        if (n > limit) /* keep counting digits for validity, but stop growing */
            continue;
        n = n * 10 + (size_t)(v[i] - '0');
    }
    if (f->has_length && f->length != n)
        return 400; /* conflicting lengths: a request smuggling attempt or a broken client */
    f->has_length = true;
    f->length = n;
    return 0;
}

/* Header lines after the request line, up to (not including) the blank line. */
static int parse_headers(const char *p, size_t len, size_t limit, struct header_facts *f)
{
    size_t i = 0;
    while (i < len) {
        const char *eol = memmem(p + i, len - i, "\r\n", 2);
        size_t line_len = eol ? (size_t)(eol - (p + i)) : len - i;
        const char *line = p + i;
        i += line_len + 2;
        size_t n = 0;
        while (n < line_len && is_tchar((unsigned char)line[n]))
            n++;
        /* No name, whitespace before the colon, or a folded continuation line. */
        if (n == 0 || n >= line_len || line[n] != ':')
            return 400;
        size_t vs = n + 1, ve = line_len;
        while (vs < ve && is_ows(line[vs]))
            vs++;
        while (ve > vs && is_ows(line[ve - 1]))
            ve--;
        for (size_t k = vs; k < ve; k++)
            if (!is_value_char((unsigned char)line[k]))
                return 400;
        const char *v = line + vs;
        size_t vlen = ve - vs;
        if (name_is(line, n, "host")) {
            f->hosts++;
        } else if (name_is(line, n, "content-length")) {
            int rc = parse_content_length(v, vlen, limit, f);
            if (rc)
                return rc;
        } else if (name_is(line, n, "transfer-encoding")) {
            f->has_te = true;
        } else if (name_is(line, n, "connection")) {
            parse_connection(v, vlen, &f->close, &f->keep_alive);
        }
    }
    return 0;
}

static enum rs_admin_parse fail(struct rs_admin_request *req, int status)
{
    free(req->scratch);
    memset(req, 0, sizeof(*req));
    req->error_status = status;
    switch (status) {
    case 413:
        req->error_reason = "request body too large";
        break;
    case 431:
        req->error_reason = "request headers too large";
        break;
    case 501:
        req->error_reason = "transfer codings are not supported";
        break;
    case 505:
        req->error_reason = "only HTTP/1.0 and HTTP/1.1 are supported";
        break;
    default:
        req->error_reason = "malformed request";
        break;
    }
    return RS_ADMIN_PARSE_ERROR;
}

enum rs_admin_parse rs_admin_request_parse(const char *buf, size_t len, size_t limit,
                                           struct rs_admin_request *req)
{
    memset(req, 0, sizeof(*req));
    /* A server should ignore blank lines before a request (RFC 9112 2.2). */
    size_t start = 0;
    while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n')
        start += 2;
    const char *end = memmem(buf + start, len - start, "\r\n\r\n", 4);
    if (end == NULL) {
        int rc = check_partial(buf + start, len - start);
        if (rc)
            return fail(req, rc);
        const char *eol = memmem(buf + start, len - start, "\r\n", 2);
        if (eol != NULL) {
            /* The request line is complete: refuse a bad one now. */
            struct rs_admin_request probe = {0};
            size_t line_len = (size_t)(eol - (buf + start));
            char *tmp = malloc(line_len + 2);
            if (tmp == NULL)
                abort();
            char *s = tmp;
            const char *q;
            size_t ql;
            rc = parse_request_line(buf + start, line_len, &probe, &s, &q, &ql);
            free(tmp);
            if (rc)
                return fail(req, rc);
        }
        return len >= limit ? fail(req, 431) : RS_ADMIN_PARSE_INCOMPLETE;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    if (head_len > limit)
        return fail(req, 431);
    int rc = check_partial(buf + start, head_len - start);
    if (rc)
        return fail(req, rc);

    req->scratch = malloc(2 * head_len + 2);
    if (req->scratch == NULL)
        abort();
    char *s = req->scratch;
    const char *line_end = memmem(buf + start, head_len - start, "\r\n", 2);
    const char *query;
    size_t query_len;
    rc = parse_request_line(buf + start, (size_t)(line_end - (buf + start)), req, &s, &query,
                            &query_len);
    if (rc)
        return fail(req, rc);
    if (query && (rc = parse_query(query, query_len, req, &s)) != 0)
        return fail(req, rc);

    struct header_facts f = {0};
    const char *hdrs = line_end + 2;
    size_t hdrs_len = (size_t)(end + 2 - hdrs); /* through the last header's CRLF */
    if (hdrs_len > 0 && (rc = parse_headers(hdrs, hdrs_len - 2, limit, &f)) != 0)
        return fail(req, rc);
    if (f.has_te)
        return fail(req, f.has_length ? 400 : 501);
    if (req->version_minor == 1 ? f.hosts != 1 : f.hosts > 1)
        return fail(req, 400);
    if (f.has_length && (f.length > limit || head_len + f.length > limit))
        return fail(req, 413);

    req->content_length = f.has_length ? f.length : 0;
    req->keep_alive = !f.close && (req->version_minor == 1 || f.keep_alive);
    req->consumed = head_len + req->content_length;
    if (len < req->consumed) {
        rs_admin_request_free(req);
        return RS_ADMIN_PARSE_INCOMPLETE;
    }
    return RS_ADMIN_PARSE_OK;
}

void rs_admin_request_free(struct rs_admin_request *req)
{
    free(req->scratch);
    memset(req, 0, sizeof(*req));
}

const char *rs_admin_request_param(const struct rs_admin_request *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}
