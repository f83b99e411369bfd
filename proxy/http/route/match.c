/* Request matching: the route table of a virtual host, first match wins. */
#include <stdlib.h>
#include <string.h>

#include "proxy/http/route/route_internal.h"

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

static bool eq(const char *a, const char *b, size_t n, bool ignore_case)
{
    return ignore_case ? eq_nocase(a, b, n) : memcmp(a, b, n) == 0;
}

static bool contains(const char *s, size_t len, const char *needle, size_t n, bool ignore_case)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i + n <= len; i++) {
        if (eq(s + i, needle, n, ignore_case))
            return true;
    }
    return false;
}

bool rs_route_string_match(const struct rs_route_string_matcher *m, const char *s, size_t len)
{
    switch (m->kind) {
    case RS_ROUTE_STR_EXACT:
        return len == m->len && eq(s, m->value, len, m->ignore_case);
    case RS_ROUTE_STR_PREFIX:
        return len >= m->len && eq(s, m->value, m->len, m->ignore_case);
    case RS_ROUTE_STR_SUFFIX:
        return len >= m->len && eq(s + len - m->len, m->value, m->len, m->ignore_case);
    case RS_ROUTE_STR_CONTAINS:
        return contains(s, len, m->value, m->len, m->ignore_case);
    case RS_ROUTE_STR_REGEX:
        return rs_route_regex_match(m->regex, s, len);
    }
    return false;
}

/* Strict decimal int64, as absl::SimpleAtoi (optional sign, surrounding whitespace allowed). */
static bool parse_i64(const char *s, size_t len, int64_t *out)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    bool neg = false;
    if (len > 0 && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++;
        len--;
    }
    if (len == 0 || len > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool header_value_matches(const struct rs_route_header_matcher *h, const char *v, size_t len)
{
    switch (h->kind) {
    case RS_ROUTE_HDR_STRING:
        return rs_route_string_match(&h->str, v, len);
    case RS_ROUTE_HDR_RANGE: {
        int64_t n;
        return parse_i64(v, len, &n) && n >= h->range_start && n < h->range_end;
    }
    case RS_ROUTE_HDR_PRESENT:
        return h->present;
    }
    return false;
}

/* Envoy's HeaderMatcher semantics: several occurrences of a header are matched as one value
 * joined by ","; an absent header matches only `present_match: false` (or, inverted,
 * `present_match: true`), unless treat_missing_header_as_empty makes it an empty value (even
 * for present_match, which then sees a "present" empty header: Envoy's behaviour). */
static bool header_matches(const struct rs_route_header_matcher *h, const struct rs_header_map *m)
{
    size_t n = rs_header_map_size(m), count = 0, total = 0;
    const struct rs_hstr *first = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct rs_header *e = rs_header_map_at(m, i);
        if (rs_hstr_eq_nocase(e->name, h->name, h->name_len)) {
            if (count++ == 0)
                first = &e->value;
            total += e->value.len + 1;
        }
    }
    if (count == 0) {
        if (!h->treat_missing_as_empty) {
            bool present_kind = h->kind == RS_ROUTE_HDR_PRESENT;
            return h->invert ? (present_kind && h->present) : (present_kind && !h->present);
        }
        return header_value_matches(h, "", 0) != h->invert;
    }
    if (count == 1)
        return header_value_matches(h, first->p, first->len) != h->invert;
    char stackbuf[1024];
    char *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (buf == NULL)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const struct rs_header *e = rs_header_map_at(m, i);
        if (!rs_hstr_eq_nocase(e->name, h->name, h->name_len))
            continue;
        if (o > 0)
            buf[o++] = ',';
        memcpy(buf + o, e->value.p, e->value.len);
        o += e->value.len;
    }
    bool r = header_value_matches(h, buf, o) != h->invert;
    if (buf != stackbuf)
        free(buf);
    return r;
}

/* First value of a query parameter (Envoy: not percent-decoded, a key without '=' has an empty
 * value). */
static bool query_param(const char *q, size_t qlen, const char *name, size_t name_len,
                        const char **val, size_t *val_len)
{
    size_t i = 0;
    while (i < qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        size_t eqpos = i;
        while (eqpos < end && q[eqpos] != '=')
            eqpos++;
        if (eqpos - i == name_len && memcmp(q + i, name, name_len) == 0) {
            *val = eqpos < end ? q + eqpos + 1 : q + end;
            *val_len = eqpos < end ? end - eqpos - 1 : 0;
            return true;
        }
        i = end + 1;
    }
    return false;
}

static bool path_matches(const struct rs_route_match *m, const char *p, size_t len)
{
    bool nocase = !m->case_sensitive;
    switch (m->kind) {
    case RS_ROUTE_PATH_PREFIX:
        return len >= m->len && eq(p, m->value, m->len, nocase);
    case RS_ROUTE_PATH_EXACT:
        return len == m->len && eq(p, m->value, len, nocase);
    case RS_ROUTE_PATH_SEPARATED_PREFIX:
        /* The prefix must end at a segment boundary: "/api" matches "/api" and "/api/x",
         * not "/apix". */
        return len >= m->len && eq(p, m->value, m->len, nocase) &&
               (len == m->len || p[m->len] == '/');
    case RS_ROUTE_PATH_REGEX:
        return rs_route_regex_match(m->regex, p, len);
    }
    return false;
}

static bool route_matches(const struct rs_route *r, const struct rs_header_map *h, const char *p,
                          size_t plen, const char *q, size_t qlen)
{
    const struct rs_route_match *m = &r->match;
    if (!path_matches(m, p, plen))
        return false;
    for (size_t i = 0; i < m->n_headers; i++) {
        if (!header_matches(&m->headers[i], h))
            return false;
    }
    for (size_t i = 0; i < m->n_query; i++) {
        const struct rs_route_query_matcher *qm = &m->query[i];
        const char *v;
        size_t vlen;
        bool found = query_param(q, qlen, qm->name, qm->name_len, &v, &vlen);
        if (qm->has_present) {
            if (found != qm->present)
                return false;
            continue;
        }
        if (!found)
            return false;
        if (qm->has_string && !rs_route_string_match(&qm->str, v, vlen))
            return false;
    }
    return true;
}

const struct rs_route *rs_virtual_host_match(const struct rs_virtual_host *vh,
                                             const struct rs_header_map *req_headers)
{
    const struct rs_hstr *path = rs_header_map_gets(req_headers, ":path");
    if (path == NULL)
        return NULL;
    /* Routes match on the path alone: the query string feeds query_parameters, a fragment
     * (which clients should not send) is ignored like Envoy does. */
    size_t plen = 0;
    while (plen < path->len && path->p[plen] != '?' && path->p[plen] != '#')
        plen++;
    const char *q = path->p + plen;
    size_t qlen = 0;
    if (plen < path->len && path->p[plen] == '?') {
        q++;
        while (plen + 1 + qlen < path->len && q[qlen] != '#')
            qlen++;
    }
    for (size_t i = 0; i < vh->n_routes; i++) {
        if (route_matches(&vh->routes[i], req_headers, path->p, plen, q, qlen))
            return &vh->routes[i];
    }
    return NULL;
}

const struct rs_route *rs_route_config_match(const struct rs_route_config *rc,
                                             const struct rs_header_map *req_headers,
                                             const struct rs_virtual_host **vh_out)
{
    const struct rs_hstr *host = rs_header_map_gets(req_headers, ":authority");
    if (host == NULL)
        host = rs_header_map_gets(req_headers, "host");
    const struct rs_virtual_host *vh = host != NULL ? rs_virtual_host_select(rc, host->p, host->len)
                                                    : rs_virtual_host_select(rc, "", 0);
    if (vh_out != NULL)
        *vh_out = vh;
    return vh != NULL ? rs_virtual_host_match(vh, req_headers) : NULL;
}
