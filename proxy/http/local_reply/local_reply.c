/* Building a local reply's headers and body (plain, HEAD, or gRPC trailers-only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http/local_reply/local_reply.h"

#define GRPC_CONTENT_TYPE "application/grpc"

bool rs_local_reply_is_grpc_request(const struct rs_header_map *request_headers)
{
    if (request_headers == NULL || rs_header_map_gets(request_headers, ":path") == NULL)
        return false;
    const struct rs_hstr *ct = rs_header_map_gets(request_headers, "content-type");
    size_t n = sizeof GRPC_CONTENT_TYPE - 1;
    /* Case-sensitive as Envoy's absl::StartsWith; "application/grpc-web" is not gRPC. */
    return ct != NULL && ct->len >= n && memcmp(ct->p, GRPC_CONTENT_TYPE, n) == 0 &&
           (ct->len == n || ct->p[n] == '+');
}

enum rs_local_reply_grpc_status rs_local_reply_http_to_grpc_status(uint32_t http_status)
{
    /* grpc/doc/http-grpc-status-mapping.md, as Envoy applies it. */
    switch (http_status) {
    case 400:
        return RS_LOCAL_REPLY_GRPC_INTERNAL;
    case 401:
        return RS_LOCAL_REPLY_GRPC_UNAUTHENTICATED;
    case 403:
        return RS_LOCAL_REPLY_GRPC_PERMISSION_DENIED;
    case 404:
        return RS_LOCAL_REPLY_GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return RS_LOCAL_REPLY_GRPC_UNAVAILABLE;
    default:
        return RS_LOCAL_REPLY_GRPC_UNKNOWN;
    }
}

void rs_local_reply_percent_encode(const char *s, size_t len, struct rs_strbuf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7e && c != '%') {
            run++;
            continue;
        }
        if (run > 0)
            rs_strbuf_append(out, s + i - run, run);
        run = 0;
        char esc[3] = {'%', hex[c >> 4], hex[c & 0xf]};
        rs_strbuf_append(out, esc, sizeof esc);
    }
    if (run > 0)
        rs_strbuf_append(out, s + len - run, run);
}

static int set(struct rs_header_map *h, const char *name, const char *value, size_t value_len)
{
    return rs_header_map_set(h, name, strlen(name), value, value_len);
}

static int setu(struct rs_header_map *h, const char *name, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return set(h, name, buf, (size_t)n);
}

static int build_grpc(struct rs_local_reply *out, uint32_t status, const char *body,
                      size_t body_len, bool is_head_request, int grpc_status_override)
{
    int grpc = grpc_status_override >= 0 ? grpc_status_override
                                         : (int)rs_local_reply_http_to_grpc_status(status);
    if (setu(out->headers, ":status", 200) < 0 ||
        set(out->headers, "content-type", GRPC_CONTENT_TYPE, sizeof GRPC_CONTENT_TYPE - 1) < 0 ||
        setu(out->headers, "grpc-status", (uint64_t)grpc) < 0)
        return -1;
    if (body_len > 0 && !is_head_request) {
        struct rs_strbuf msg = RS_STRBUF_INIT;
        rs_local_reply_percent_encode(body, body_len, &msg);
        int rc = set(out->headers, "grpc-message", msg.data, msg.len);
        rs_strbuf_free(&msg);
        if (rc < 0)
            return -1;
    }
    out->is_grpc = true;
    out->end_stream_on_headers = true;
    return 0;
}

static int build_plain(struct rs_local_reply *out, uint32_t status, const char *body,
                       size_t body_len, bool is_head_request)
{
    if (setu(out->headers, ":status", status) < 0)
        return -1;
    out->end_stream_on_headers = true;
    if (body_len == 0)
        return 0;
    /* HEAD keeps the length the GET would have had, as Envoy does, but sends no body. */
    if (setu(out->headers, "content-length", body_len) < 0 ||
        set(out->headers, "content-type", "text/plain", 10) < 0)
        return -1;
    if (is_head_request)
        return 0;
    out->body = malloc(body_len + 1);
    if (out->body == NULL)
        return -1;
    memcpy(out->body, body, body_len);
    out->body[body_len] = '\0';
    out->body_len = body_len;
    out->end_stream_on_headers = false;
    return 0;
}

int rs_local_reply_build_ex(uint32_t status, const char *body, size_t body_len, const char *details,
                            const struct rs_header_map *request_headers, bool is_head_request,
                            int grpc_status_override, struct rs_local_reply *out)
{
    memset(out, 0, sizeof *out);
    out->details = details;
    out->headers = rs_header_map_new();
    if (out->headers == NULL)
        return -1;
    if (body == NULL)
        body_len = 0;
    int rc = rs_local_reply_is_grpc_request(request_headers)
                 ? build_grpc(out, status, body, body_len, is_head_request, grpc_status_override)
                 : build_plain(out, status, body, body_len, is_head_request);
    if (rc < 0) {
        rs_local_reply_free(out);
        return -1;
    }
    return 0;
}

int rs_local_reply_build(uint32_t status, const char *body_text, const char *details,
                         const struct rs_header_map *request_headers, bool is_head_request,
                         struct rs_local_reply *out)
{
    return rs_local_reply_build_ex(status, body_text, body_text ? strlen(body_text) : 0, details,
                                   request_headers, is_head_request, -1, out);
}

void rs_local_reply_free(struct rs_local_reply *r)
{
    rs_header_map_free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}
