/* What a request knows about itself, for access logs and header formatters: the HTTP connection
 * manager fills one per stream as events happen and hands it (finished or in progress) to the
 * formatters. Strings and header maps are borrowed: the stream owns them and keeps them alive
 * while a formatter runs. NULL or empty strings mean "not known" (rendered as "-" as Envoy does).
 */
#ifndef RS_HTTP_ACCESS_LOG_STREAM_INFO_H
#define RS_HTTP_ACCESS_LOG_STREAM_INFO_H

#include <stdint.h>
#include <time.h>

struct rs_header_map;
struct rs_strbuf;

/* Response flags, in the order Envoy renders them in %RESPONSE_FLAGS% (its enum order). */
enum rs_stream_info_flag {
    RS_RF_LH = 1ull << 0,     /* FailedLocalHealthCheck */
    RS_RF_UH = 1ull << 1,     /* NoHealthyUpstream */
    RS_RF_UT = 1ull << 2,     /* UpstreamRequestTimeout */
    RS_RF_LR = 1ull << 3,     /* LocalReset */
    RS_RF_UR = 1ull << 4,     /* UpstreamRemoteReset */
    RS_RF_UF = 1ull << 5,     /* UpstreamConnectionFailure */
    RS_RF_UC = 1ull << 6,     /* UpstreamConnectionTermination */
    RS_RF_UO = 1ull << 7,     /* UpstreamOverflow */
    RS_RF_NR = 1ull << 8,     /* NoRouteFound */
    RS_RF_DI = 1ull << 9,     /* DelayInjected */
    RS_RF_FI = 1ull << 10,    /* FaultInjected */
    RS_RF_RL = 1ull << 11,    /* RateLimited */
    RS_RF_UAEX = 1ull << 12,  /* UnauthorizedExternalService */
    RS_RF_RLSE = 1ull << 13,  /* RateLimitServiceError */
    RS_RF_DC = 1ull << 14,    /* DownstreamConnectionTermination */
    RS_RF_URX = 1ull << 15,   /* UpstreamRetryLimitExceeded */
    RS_RF_SI = 1ull << 16,    /* StreamIdleTimeout */
    RS_RF_IH = 1ull << 17,    /* InvalidEnvoyRequestHeaders */
    RS_RF_DPE = 1ull << 18,   /* DownstreamProtocolError */
    RS_RF_UMSDR = 1ull << 19, /* UpstreamMaxStreamDurationReached */
    RS_RF_RFCF = 1ull << 20,  /* ResponseFromCacheFilter */
    RS_RF_NFCF = 1ull << 21,  /* NoFilterConfigFound */
    RS_RF_DT = 1ull << 22,    /* DurationTimeout */
    RS_RF_UPE = 1ull << 23,   /* UpstreamProtocolError */
    RS_RF_NC = 1ull << 24,    /* NoClusterFound */
    RS_RF_OM = 1ull << 25,    /* OverloadManager */
    RS_RF_DF = 1ull << 26,    /* DnsResolutionFailed */
    RS_RF_DO = 1ull << 27,    /* DropOverLoad */
    RS_RF_DR = 1ull << 28,    /* DownstreamRemoteReset */
};
#define RS_STREAM_INFO_FLAG_COUNT 29

/* Marks a timing offset whose event has not happened (yet). */
#define RS_STREAM_INFO_UNSET (-1)

struct rs_stream_info {
    /* Wall clock when the first byte of the request arrived (UTC, with nanoseconds). */
    struct timespec start_time;
    /* CLOCK_MONOTONIC at the same moment, in ns: the base of the offsets below, so a wall clock
     * step never makes a duration negative. */
    int64_t start_mono_ns;
    /* Offsets from start_time in nanoseconds (monotonic clock), as Envoy keeps them;
     * RS_STREAM_INFO_UNSET until the event happens. rs_stream_info_init sets them all unset. */
    int64_t last_downstream_rx_byte_ns; /* %REQUEST_DURATION% */
    int64_t first_upstream_tx_byte_ns;
    int64_t last_upstream_tx_byte_ns;
    int64_t first_upstream_rx_byte_ns; /* %RESPONSE_DURATION% */
    int64_t last_upstream_rx_byte_ns;
    int64_t first_downstream_tx_byte_ns;
    int64_t last_downstream_tx_byte_ns; /* %RESPONSE_TX_DURATION% ends here */
    int64_t request_complete_ns;        /* %DURATION% */

    const char *protocol;              /* "HTTP/1.1"; NULL before the codec knows */
    uint32_t response_code;            /* 0 when no response was sent (Envoy logs 0 too) */
    const char *response_code_details; /* "via_upstream", "route_not_found", ... */
    uint64_t response_flags;           /* enum rs_stream_info_flag bits */
    uint64_t bytes_received;           /* request body bytes */
    uint64_t bytes_sent;               /* response body bytes */

    const char *upstream_host;    /* "10.0.0.2:8080" */
    const char *upstream_cluster; /* cluster name */
    const char *upstream_transport_failure_reason;
    const char *downstream_remote_address; /* "1.2.3.4:5678", "[::1]:5678" */
    const char *downstream_local_address;
    const char *upstream_local_address;
    const char *request_id; /* the x-request-id in effect (%STREAM_ID%) */
    const char *route_name;
    const char *requested_server_name;          /* TLS SNI from the downstream */
    const char *connection_termination_details; /* why the proxy closed the connection */
    const char *downstream_peer_uri_san;        /* the client certificate's URI SAN (mTLS) */
    const char *downstream_local_uri_san;       /* our certificate's URI SAN */
    uint32_t upstream_request_attempt_count;    /* 1 + retries; 0 when never routed upstream */

    const struct rs_header_map *request_headers;
    const struct rs_header_map *response_headers;
    const struct rs_header_map *response_trailers;
};

/* Zeroes si and marks every timing offset unset. */
void rs_stream_info_init(struct rs_stream_info *si);
/* rs_stream_info_init, then records the start (wall and monotonic clocks) as of now. */
void rs_stream_info_start(struct rs_stream_info *si);
/* Nanoseconds since the start (monotonic). */
int64_t rs_stream_info_elapsed_ns(const struct rs_stream_info *si);
/* Records now in a first_* offset unless it is already set (first byte events). */
void rs_stream_info_mark_first(const struct rs_stream_info *si, int64_t *offset);
/* Records now in a last_* offset (or request_complete_ns), replacing an earlier value. */
void rs_stream_info_mark_last(const struct rs_stream_info *si, int64_t *offset);

/* Appends Envoy's short names of the set flags, comma-separated in Envoy's order ("UH,URX"), or
 * "-" when none is set. */
void rs_stream_info_flags_str(uint64_t flags, struct rs_strbuf *out);

/* Envoy's short name of one flag ("UH"), NULL if bit is not exactly one known flag. */
const char *rs_stream_info_flag_name(uint64_t bit);

#endif
