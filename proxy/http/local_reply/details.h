/* Envoy's response code details (%RESPONSE_CODE_DETAILS%) and local reply bodies, spelled as
 * Envoy spells them (envoy/stream_info/stream_info.h ResponseCodeDetailValues; bodies from
 * source/common/router/router.cc and source/common/http/conn_manager_impl.cc), so access logs and
 * clients see the same strings through Ringside as through Envoy. */
#ifndef RS_HTTP_LOCAL_REPLY_DETAILS_H
#define RS_HTTP_LOCAL_REPLY_DETAILS_H

/* Router. */
#define RS_LOCAL_REPLY_DETAILS_VIA_UPSTREAM "via_upstream"
#define RS_LOCAL_REPLY_DETAILS_ROUTE_NOT_FOUND "route_not_found"
#define RS_LOCAL_REPLY_DETAILS_DIRECT_RESPONSE "direct_response"
#define RS_LOCAL_REPLY_DETAILS_CLUSTER_NOT_FOUND "cluster_not_found"
#define RS_LOCAL_REPLY_DETAILS_MAINTENANCE_MODE "maintenance_mode"
#define RS_LOCAL_REPLY_DETAILS_NO_HEALTHY_UPSTREAM "no_healthy_upstream"
#define RS_LOCAL_REPLY_DETAILS_RESPONSE_TIMEOUT "response_timeout"
#define RS_LOCAL_REPLY_DETAILS_UPSTREAM_PER_TRY_TIMEOUT "upstream_per_try_timeout"
#define RS_LOCAL_REPLY_DETAILS_UPSTREAM_PER_TRY_IDLE_TIMEOUT "upstream_per_try_idle_timeout"
#define RS_LOCAL_REPLY_DETAILS_UPSTREAM_MAX_STREAM_DURATION_REACHED                                \
    "upstream_max_stream_duration_reached"
/* Followed by "{<reset reason>[|<transport failure>]}" with spaces as '_' (see
 * rs_local_reply_upstream_reset). */
#define RS_LOCAL_REPLY_DETAILS_EARLY_UPSTREAM_RESET "upstream_reset_before_response_started"
#define RS_LOCAL_REPLY_DETAILS_LATE_UPSTREAM_RESET "upstream_reset_after_response_started"
#define RS_LOCAL_REPLY_DETAILS_REQUEST_PAYLOAD_EXCEEDED_RETRY_BUFFER_LIMIT                         \
    "request_payload_exceeded_retry_buffer_limit"
#define RS_LOCAL_REPLY_DETAILS_INTERNAL_REDIRECT "internal_redirect"

/* Connection manager. */
#define RS_LOCAL_REPLY_DETAILS_REQUEST_PAYLOAD_TOO_LARGE "request_payload_too_large"
#define RS_LOCAL_REPLY_DETAILS_RESPONSE_PAYLOAD_TOO_LARGE "response_payload_too_large"
#define RS_LOCAL_REPLY_DETAILS_STREAM_IDLE_TIMEOUT "stream_idle_timeout"
#define RS_LOCAL_REPLY_DETAILS_MAX_DURATION_TIMEOUT "max_duration_timeout"
#define RS_LOCAL_REPLY_DETAILS_REQUEST_OVERALL_TIMEOUT "request_overall_timeout"
#define RS_LOCAL_REPLY_DETAILS_REQUEST_HEADER_TIMEOUT "request_header_timeout"
#define RS_LOCAL_REPLY_DETAILS_OVERLOAD "overload"
#define RS_LOCAL_REPLY_DETAILS_LOW_VERSION "low_version"
#define RS_LOCAL_REPLY_DETAILS_MISSING_HOST "missing_host_header"
#define RS_LOCAL_REPLY_DETAILS_INVALID_ENVOY_REQUEST_HEADERS "request_headers_failed_strict_check"
#define RS_LOCAL_REPLY_DETAILS_MISSING_PATH "missing_path_rejected"
#define RS_LOCAL_REPLY_DETAILS_INVALID_PATH "invalid_path"
#define RS_LOCAL_REPLY_DETAILS_ABSOLUTE_PATH "absolute_path_rejected"
#define RS_LOCAL_REPLY_DETAILS_PATH_NORMALIZATION_FAILED "path_normalization_failed"
#define RS_LOCAL_REPLY_DETAILS_UPGRADE_FAILED "upgrade_failed"
#define RS_LOCAL_REPLY_DETAILS_ROUTE_CONFIGURATION_NOT_FOUND "route_configuration_not_found"
#define RS_LOCAL_REPLY_DETAILS_DOWNSTREAM_REMOTE_DISCONNECT "downstream_remote_disconnect"
#define RS_LOCAL_REPLY_DETAILS_FILTER_CHAIN_NOT_FOUND "filter_chain_not_found"

/* Local reply bodies. Envoy sends route_not_found and cluster_not_found with an empty body. */
#define RS_LOCAL_REPLY_BODY_NO_HEALTHY_UPSTREAM "no healthy upstream"
#define RS_LOCAL_REPLY_BODY_UPSTREAM_TIMEOUT "upstream request timeout" /* 504 only */
#define RS_LOCAL_REPLY_BODY_MAINTENANCE_MODE "maintenance mode"
#define RS_LOCAL_REPLY_BODY_MAX_STREAM_DURATION "upstream max stream duration reached"
#define RS_LOCAL_REPLY_BODY_STREAM_IDLE_TIMEOUT "stream timeout"
#define RS_LOCAL_REPLY_BODY_REQUEST_TIMEOUT "request timeout"
#define RS_LOCAL_REPLY_BODY_REQUEST_HEADER_TIMEOUT "request header timeout"
#define RS_LOCAL_REPLY_BODY_DOWNSTREAM_DURATION_TIMEOUT "downstream duration timeout"
/* Start of every "reset before headers" body (see rs_local_reply_upstream_reset). */
#define RS_LOCAL_REPLY_BODY_UPSTREAM_RESET                                                         \
    "upstream connect error or disconnect/reset before headers. "

#endif
