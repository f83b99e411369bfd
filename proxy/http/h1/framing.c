/* Message framing from the fields (RFC 9112 6, 9.3), with Envoy's refusals for anything two
 * parsers could frame differently. */
#include <string.h>

#include "proxy/http/h1/internal.h"

/* Content-Length as Envoy's HeaderUtility::validateContentLength takes it: a comma-separated list
 * of identical decimal values ("5,5" is 5), each all digits (so "5, 5", "+5" and "" are refused),
 * without overflow. */
static bool parse_content_length(struct rs_h1_slice v, uint64_t *out)
{
    bool have = false;
    uint64_t first = 0;
    size_t i = 0;
    for (;;) {
        size_t start = i;
        uint64_t n = 0;
        while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9') {
            unsigned d = (unsigned)(v.p[i] - '0');
            if (n > (UINT64_MAX - d) / 10)
                return false;
            n = n * 10 + d;
            i++;
        }
        if (i == start)
            return false;
        if (have && n != first)
            return false;
        first = n;
        have = true;
        if (i == v.len)
            break;
        if (v.p[i] != ',')
            return false;
        i++;
    }
    *out = first;
    return true;
}

/* Calls fn for each comma-separated token of a list field value, OWS trimmed, empty elements
 * skipped (RFC 9110 5.6.1). */
typedef void (*token_fn)(struct rs_h1_head *head, struct rs_h1_slice tok, void *ctx);

static void for_each_token(struct rs_h1_head *head, struct rs_h1_slice v, token_fn fn, void *ctx)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (rs_h1_is_ows((unsigned char)v.p[i]) || v.p[i] == ','))
            i++;
        size_t start = i;
        while (i < v.len && v.p[i] != ',')
            i++;
        size_t end = i;
        while (end > start && rs_h1_is_ows((unsigned char)v.p[end - 1]))
            end--;
        if (end > start)
            fn(head, (struct rs_h1_slice){v.p + start, end - start}, ctx);
    }
}

struct conn_opts {
    bool close, keep_alive, upgrade;
    size_t tokens;   /* options listed, all Connection fields together */
    bool bad_option; /* an option Envoy refuses to honour (see below) */
};

static void note_connection_option(struct rs_h1_head *head, struct rs_h1_slice tok, void *ctx)
{
    struct conn_opts *o = ctx;
    o->tokens++;
    if (RS_H1_EQ_LIT(tok, "close")) {
        o->close = true;
        return;
    }
    if (RS_H1_EQ_LIT(tok, "keep-alive")) {
        o->keep_alive = true;
        return;
    }
    if (RS_H1_EQ_LIT(tok, "upgrade")) {
        o->upgrade = true;
        return;
    }
    if (RS_H1_EQ_LIT(tok, "http2-settings") || RS_H1_EQ_LIT(tok, "connection"))
        return;
    /* Dropping these on a client's say-so would hide where a request came from (the
     * hop-by-hop header abuse Envoy's sanitizeConnectionHeader guards against), and a
     * pseudo-header is never a field. */
    if (RS_H1_EQ_LIT(tok, "x-forwarded-for") || RS_H1_EQ_LIT(tok, "x-forwarded-host") ||
        RS_H1_EQ_LIT(tok, "x-forwarded-proto") || tok.p[0] == ':') {
        o->bad_option = true;
        return;
    }
    /* Every other field the Connection field names is hop-by-hop (RFC 9110 7.6.1). */
    for (size_t i = 0; i < head->num_headers; i++) {
        struct rs_h1_header *h = &head->headers[i];
        if (!h->hop_by_hop && rs_h1_slice_eq_ci(h->name, tok))
            h->hop_by_hop = true;
    }
}

static void note_te_coding(struct rs_h1_head *head, struct rs_h1_slice tok, void *ctx)
{
    (void)ctx;
    /* "trailers" may carry parameters in theory; Envoy matches the bare token. */
    if (RS_H1_EQ_LIT(tok, "trailers"))
        head->te_trailers = true;
}

static bool is_hop_by_hop_name(struct rs_h1_slice n)
{
    return RS_H1_EQ_LIT(n, "connection") || RS_H1_EQ_LIT(n, "keep-alive") ||
           RS_H1_EQ_LIT(n, "proxy-connection") || RS_H1_EQ_LIT(n, "te") ||
           RS_H1_EQ_LIT(n, "transfer-encoding") || RS_H1_EQ_LIT(n, "upgrade");
}

enum rs_h1_status rs_h1_derive_framing(struct rs_h1_head *head, bool is_response,
                                       struct rs_h1_error *err)
{
    int bad = is_response ? 502 : 400;
    size_t te_count = 0;
    struct rs_h1_slice te = {0};
    const struct rs_h1_slice *upgrade = NULL;
    bool expect_continue = false;
    struct conn_opts opts = {0};

    for (size_t i = 0; i < head->num_headers; i++) {
        struct rs_h1_header *h = &head->headers[i];
        if (is_hop_by_hop_name(h->name))
            h->hop_by_hop = true;
        if (RS_H1_EQ_LIT(h->name, "content-length")) {
            uint64_t n;
            /* A second Content-Length must agree with the first: Envoy folds duplicates into
             * one comma-separated value and validates that. */
            if (!parse_content_length(h->value, &n) ||
                (head->has_content_length && n != head->content_length))
                return rs_h1_fail(err, bad, RS_H1_D_CODEC);
            head->has_content_length = true;
            head->content_length = n;
        } else if (RS_H1_EQ_LIT(h->name, "transfer-encoding")) {
            te_count++;
            te = h->value;
        } else if (RS_H1_EQ_LIT(h->name, "upgrade")) {
            if (!upgrade)
                upgrade = &h->value;
        } else if (RS_H1_EQ_LIT(h->name, "te")) {
            for_each_token(head, h->value, note_te_coding, NULL);
        } else if (RS_H1_EQ_LIT(h->name, "expect")) {
            if (RS_H1_EQ_LIT(h->value, "100-continue"))
                expect_continue = true;
        }
    }
    for (size_t i = 0; i < head->num_headers; i++) {
        if (RS_H1_EQ_LIT(head->headers[i].name, "connection"))
            for_each_token(head, head->headers[i].value, note_connection_option, &opts);
    }

    if (te_count > 0) {
        /* RFC 9112 6.3: Content-Length with Transfer-Encoding is a smuggling attempt. Envoy
         * refuses it (unless allow_chunked_length) before looking at the coding. */
        if (head->has_content_length)
            return rs_h1_fail(err, bad, RS_H1_D_CL_AND_TE);
        /* Only a single "chunked" is understood; Envoy answers 501 to other codings (RFC 9112
         * 6.1) and to a body framed by Transfer-Encoding on CONNECT. */
        if (te_count > 1 || !RS_H1_EQ_LIT(te, "chunked") || head->connect)
            return rs_h1_fail(err, is_response ? 502 : 501, RS_H1_D_BAD_TE);
        head->chunked = true;
    }
    if (is_response && (head->status_code < 200 || head->status_code == 204)) {
        /* Envoy: no Transfer-Encoding in 1xx/204, and Content-Length only if it is 0. */
        if (head->chunked)
            return rs_h1_fail(err, 502, RS_H1_D_TE_NOT_ALLOWED);
        if (head->has_content_length && head->content_length != 0)
            return rs_h1_fail(err, 502, RS_H1_D_CL_NOT_ALLOWED);
    }

    head->keep_alive = head->version_minor >= 1 ? !opts.close : (opts.keep_alive && !opts.close);
    /* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means its framing cannot be trusted;
     * the connection closes after it. */
    if (head->chunked && head->version_minor == 0)
        head->keep_alive = false;
    if (opts.upgrade && upgrade) {
        head->upgrade = true;
        head->upgrade_protocol = *upgrade;
    }
    /* Envoy refuses a (non-upgrade) request whose Connection field lists 10 or more options or
     * nominates a field it must not drop: 400 "http1.connection_header_rejected". */
    if (!is_response && !head->upgrade && (opts.tokens >= 10 || opts.bad_option))
        return rs_h1_fail(err, 400, RS_H1_D_CONN_REJECTED);
    head->expect_100_continue = !is_response && head->version_minor >= 1 && expect_continue;
    return RS_H1_DONE;
}

enum rs_h1_body_kind rs_h1_request_body_kind(const struct rs_h1_head *req)
{
    if (req->chunked)
        return RS_H1_BODY_CHUNKED;
    if (req->has_content_length && req->content_length > 0)
        return RS_H1_BODY_LENGTH;
    return RS_H1_BODY_NONE;
}

enum rs_h1_body_kind rs_h1_response_body_kind(const struct rs_h1_head *resp,
                                              struct rs_h1_slice request_method)
{
    int s = resp->status_code;
    if (request_method.len == 4 && memcmp(request_method.p, "HEAD", 4) == 0)
        return RS_H1_BODY_NONE;
    if (s < 200 || s == 204 || s == 304)
        return RS_H1_BODY_NONE;
    if (s < 300 && request_method.len == 7 && memcmp(request_method.p, "CONNECT", 7) == 0)
        return RS_H1_BODY_NONE;
    if (resp->chunked)
        return RS_H1_BODY_CHUNKED;
    if (resp->has_content_length)
        return resp->content_length > 0 ? RS_H1_BODY_LENGTH : RS_H1_BODY_NONE;
    return RS_H1_BODY_UNTIL_CLOSE;
}
