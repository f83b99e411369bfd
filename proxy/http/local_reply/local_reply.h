/* Envoy-shaped local replies (source/common/http/utility.cc Utility::sendLocalReply, without the
 * local_reply_config mapper): the response the proxy generates itself, for no route, no healthy
 * upstream, timeouts, resets, direct responses and downstream errors.
 *
 * Pure: builds a header map and a body; the caller encodes them.
 *
 * Plain requests: ":status", and when the body is non-empty "content-length" and
 * "content-type: text/plain". An empty body gets neither, and the response ends with its headers
 * (the HTTP/1.1 codec then writes "content-length: 0" as Envoy's does). HEAD: the same headers,
 * content-length included, but no body.
 * gRPC requests (":path" present and content-type "application/grpc" or "application/grpc+..."):
 * a trailers-only response, ":status: 200", "content-type: application/grpc", "grpc-status"
 * mapped from the HTTP status (or the override), "grpc-message" with the body percent-encoded
 * (not for HEAD, not when the body is empty), no content-length, no body. */
#ifndef RS_HTTP_LOCAL_REPLY_LOCAL_REPLY_H
#define RS_HTTP_LOCAL_REPLY_LOCAL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/core/strbuf.h"
#include "proxy/http/header_map.h"
#include "proxy/http/local_reply/details.h"
#include "proxy/http/retry/retry.h"

/* gRPC status codes (grpc/include/grpc/impl/codegen/status.h numbering). */
enum rs_local_reply_grpc_status {
    RS_LOCAL_REPLY_GRPC_OK = 0,
    RS_LOCAL_REPLY_GRPC_CANCELLED = 1,
    RS_LOCAL_REPLY_GRPC_UNKNOWN = 2,
    RS_LOCAL_REPLY_GRPC_INVALID_ARGUMENT = 3,
    RS_LOCAL_REPLY_GRPC_DEADLINE_EXCEEDED = 4,
    RS_LOCAL_REPLY_GRPC_NOT_FOUND = 5,
    RS_LOCAL_REPLY_GRPC_ALREADY_EXISTS = 6,
    RS_LOCAL_REPLY_GRPC_PERMISSION_DENIED = 7,
    RS_LOCAL_REPLY_GRPC_RESOURCE_EXHAUSTED = 8,
    RS_LOCAL_REPLY_GRPC_FAILED_PRECONDITION = 9,
    RS_LOCAL_REPLY_GRPC_ABORTED = 10,
    RS_LOCAL_REPLY_GRPC_OUT_OF_RANGE = 11,
    RS_LOCAL_REPLY_GRPC_UNIMPLEMENTED = 12,
    RS_LOCAL_REPLY_GRPC_INTERNAL = 13,
    RS_LOCAL_REPLY_GRPC_UNAVAILABLE = 14,
    RS_LOCAL_REPLY_GRPC_DATA_LOSS = 15,
    RS_LOCAL_REPLY_GRPC_UNAUTHENTICATED = 16,
};

struct rs_local_reply {
    struct rs_header_map *headers; /* owned */
    char *body;                    /* owned, NUL-terminated; NULL when nothing is to be sent */
    size_t body_len;
    bool end_stream_on_headers; /* no body follows the headers */
    bool is_grpc;               /* shaped as a gRPC trailers-only response */
    const char *details;        /* the details passed in (not copied), for the stream info */
};

/* Builds the reply. body_text NULL or "" means no body. request_headers may be NULL (treated as
 * not gRPC). Returns 0, or -1 on allocation failure (out is then empty). */
int rs_local_reply_build(uint32_t status, const char *body_text, const char *details,
                         const struct rs_header_map *request_headers, bool is_head_request,
                         struct rs_local_reply *out);
/* Same, with a body of known length and an explicit grpc-status for gRPC requests (-1: map the
 * HTTP status). Envoy's HCM passes DEADLINE_EXCEEDED for max_stream_duration; its router passes
 * none, so an upstream timeout (504) is UNAVAILABLE, not DEADLINE_EXCEEDED. */
int rs_local_reply_build_ex(uint32_t status, const char *body, size_t body_len, const char *details,
                            const struct rs_header_map *request_headers, bool is_head_request,
                            int grpc_status_override, struct rs_local_reply *out);
void rs_local_reply_free(struct rs_local_reply *r);

/* Grpc::Common::isGrpcRequestHeaders: ":path" present and content-type exactly
 * "application/grpc" or starting "application/grpc+" (grpc-web is not gRPC). */
bool rs_local_reply_is_grpc_request(const struct rs_header_map *request_headers);

/* Grpc::Utility::httpToGrpcStatus: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 * 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, anything else UNKNOWN. */
enum rs_local_reply_grpc_status rs_local_reply_http_to_grpc_status(uint32_t http_status);

/* grpc-message encoding as Envoy does it (PercentEncoding::encode): bytes below 0x20, from 0x7e
 * ('~') up, and '%' become "%XX" (upper-case hex); everything else is copied. */
void rs_local_reply_percent_encode(const char *s, size_t len, struct rs_strbuf *out);

/* The router's reply when an upstream attempt was reset before response headers and no retry
 * follows (Filter::onUpstreamReset): status 502 for a protocol error else 503; the body
 * "upstream connect error or disconnect/reset before headers. [retried and the latest ]reset
 * reason: <reason>[, transport failure reason: <tf>]"; the details
 * "upstream_reset_before_response_started{<reason>[|<tf>]}" with spaces made '_'; and the response
 * flag's short name (UF, UC, LR, UO, UR, UPE). transport_failure may be NULL. */
struct rs_local_reply_reset {
    uint32_t status;
    const char *flag; /* static */
    struct rs_strbuf body;
    struct rs_strbuf details;
};
void rs_local_reply_upstream_reset(enum rs_retry_reset_reason reason, bool is_retry,
                                   const char *transport_failure, struct rs_local_reply_reset *out);
void rs_local_reply_reset_free(struct rs_local_reply_reset *r);

/* Http::Utility::resetReasonToString ("remote connection failure", "local reset", ...). */
const char *rs_local_reply_reset_reason_str(enum rs_retry_reset_reason reason);

#endif
