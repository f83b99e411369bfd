/* The router's retry decisions, with Envoy's semantics (source/common/router/retry_state_impl.cc,
 * source/common/common/backoff_strategy.cc, FilterUtility::finalTimeout in router.cc).
 *
 * Pure: no I/O, no clock, no allocation. Randomness is passed in with each decision and the
 * cluster's retry circuit breaker / budget is a callback, so the router owns timers and stats and
 * tests are deterministic.
 *
 * Lifecycle, per downstream request:
 *   rs_retry_state_init()        from the route's policy and (trusted) request headers
 *   rs_retry_state_enabled()     false: Envoy creates no retry state, never call the deciders
 *   per attempt: rs_retry_on_host_attempted(), then one of
 *     rs_retry_should_retry_headers() / _response()   on response headers (not 1xx)
 *     rs_retry_should_retry_reset()                   on a reset before response headers
 *   rs_retry_abandon()           the request body outgrew the replay buffer
 *   rs_retry_state_finish()      the request is over
 * Each decision tells the caller which counters to bump and whether to hold or release a retry
 * slot of the cluster's circuit breaker (Envoy holds it from the grant until the retried attempt
 * is judged). */
#ifndef RS_HTTP_RETRY_RETRY_H
#define RS_HTTP_RETRY_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/http/header_map.h"
#include "proxy/http/route/route.h"

/* x-envoy-retry-on may only name HTTP conditions, x-envoy-retry-grpc-on only gRPC ones (Envoy
 * parses each with its own table); route retry_on may name both. */
#define RS_RETRY_HTTP_FLAGS                                                                        \
    (RS_RETRY_ON_5XX | RS_RETRY_ON_GATEWAY_ERROR | RS_RETRY_ON_RESET |                             \
     RS_RETRY_ON_CONNECT_FAILURE | RS_RETRY_ON_RETRIABLE_4XX | RS_RETRY_ON_REFUSED_STREAM |        \
     RS_RETRY_ON_RETRIABLE_STATUS_CODES)
#define RS_RETRY_GRPC_FLAGS                                                                        \
    (RS_RETRY_ON_GRPC_CANCELLED | RS_RETRY_ON_GRPC_DEADLINE_EXCEEDED |                             \
     RS_RETRY_ON_GRPC_RESOURCE_EXHAUSTED | RS_RETRY_ON_GRPC_UNAVAILABLE |                          \
     RS_RETRY_ON_GRPC_INTERNAL)

/* gRPC status codes the retry conditions name. */
#define RS_RETRY_GRPC_CANCELLED 1
#define RS_RETRY_GRPC_DEADLINE_EXCEEDED 4
#define RS_RETRY_GRPC_RESOURCE_EXHAUSTED 8
#define RS_RETRY_GRPC_INTERNAL 13
#define RS_RETRY_GRPC_UNAVAILABLE 14

#define RS_RETRY_DEFAULT_BASE_INTERVAL_MS 25u /* Envoy's upstream.base_retry_backoff_ms */
#define RS_RETRY_MAX_HEADER_CODES 16          /* x-envoy-retriable-status-codes entries kept */
#define RS_RETRY_MAX_HOSTS 32                 /* previous_hosts memory (oldest forgotten) */

/* Envoy's Http::StreamResetReason, as far as retries and local replies care. */
enum rs_retry_reset_reason {
    RS_RETRY_RESET_LOCAL_CONNECTION_FAILURE,  /* connect() failed locally */
    RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE, /* refused / unreachable */
    RS_RETRY_RESET_CONNECTION_TIMEOUT,        /* cluster connect_timeout */
    RS_RETRY_RESET_CONNECTION_TERMINATION,    /* the connection closed under the stream */
    RS_RETRY_RESET_LOCAL_RESET,               /* we reset it; also a per-try timeout */
    RS_RETRY_RESET_LOCAL_REFUSED_STREAM,
    RS_RETRY_RESET_REMOTE_RESET,
    RS_RETRY_RESET_REMOTE_REFUSED_STREAM, /* HTTP/2 REFUSED_STREAM */
    RS_RETRY_RESET_OVERFLOW,              /* circuit breaker: never retried */
    RS_RETRY_RESET_PROTOCOL_ERROR,
};

/* Envoy's RetryStatus. */
enum rs_retry_status {
    RS_RETRY_NO,                /* not retriable (or retries abandoned) */
    RS_RETRY_YES,               /* retry after backoff_ms */
    RS_RETRY_NO_OVERFLOW,       /* retriable, but the circuit breaker/budget said no: flag UO */
    RS_RETRY_NO_LIMIT_EXCEEDED, /* retriable, but num_retries is spent: flag URX */
};

struct rs_retry_decision {
    enum rs_retry_status status;
    /* RS_RETRY_YES: delay before the next attempt, from the jittered exponential backoff. 0 is a
     * valid draw (Envoy then retries on the next loop turn). */
    uint64_t backoff_ms;
    /* Bump upstream_rq_retry_success: an earlier granted retry's attempt ended in a response that
     * needs no further retry. */
    bool count_success;
    /* Release the retry slot taken at the previous RS_RETRY_YES (Envoy: retries().dec()). On
     * RS_RETRY_YES the caller takes a new slot (retries().inc()) and bumps upstream_rq_retry
     * (and upstream_rq_retry_backoff_exponential, as current Envoy does);
     * on NO_OVERFLOW it bumps upstream_rq_retry_overflow; on NO_LIMIT_EXCEEDED
     * upstream_rq_retry_limit_exceeded. */
    bool release_slot;
};

/* The cluster's "may a retry start now?" (retry circuit breaker max_retries or retry budget),
 * Envoy's resourceManager().retries().canCreate(). NULL: always yes. */
typedef bool (*rs_retry_can_retry_fn)(void *ctx);

struct rs_retry_state {
    uint32_t retry_on; /* RS_RETRY_ON_*: route's ORed with the request headers' */
    uint32_t retries_remaining;
    uint64_t base_interval_ms;
    uint64_t max_interval_ms;
    uint64_t next_interval_ms; /* backoff ceiling of the next draw */
    const uint32_t *route_codes;
    size_t n_route_codes;
    uint32_t header_codes[RS_RETRY_MAX_HEADER_CODES];
    size_t n_header_codes;
    bool previous_hosts;
    uint32_t host_selection_max_attempts;
    const void *hosts[RS_RETRY_MAX_HOSTS];
    size_t n_hosts;   /* valid entries, <= RS_RETRY_MAX_HOSTS */
    size_t next_host; /* ring position of the next remembered host */
    bool slot_held;   /* a granted retry is in flight (Envoy's armed callback) */
    bool abandoned;   /* body overflowed the replay buffer: Envoy drops its retry state */
    rs_retry_can_retry_fn can_retry;
    void *can_retry_ctx;
};

/* Builds the per-request state. policy NULL means the route has no retry_policy: Envoy then uses
 * its defaults (retry_on none, num_retries 1, 25 ms base, 250 ms max), so x-envoy-retry-on alone
 * still enables one retry. Headers read only when trusted (Envoy's HCM strips them from external
 * requests): x-envoy-retry-on (ORed in), x-envoy-retry-grpc-on (ORed in), x-envoy-max-retries
 * (replaces num_retries, only if some retry_on is then set), x-envoy-retriable-status-codes
 * (appended to the route's list). request_headers may be NULL. */
void rs_retry_state_init(struct rs_retry_state *s, const struct rs_route_retry_policy *policy,
                         const struct rs_header_map *request_headers, bool trusted,
                         rs_retry_can_retry_fn can_retry, void *can_retry_ctx);

/* False when no retry condition is set: Envoy allocates no retry state, so nothing is retried and
 * no retry stat moves. */
bool rs_retry_state_enabled(const struct rs_retry_state *s);

/* Decision on upstream response headers (never 1xx: Envoy drops its retry state once a 1xx went
 * downstream, so call rs_retry_abandon() then). grpc_status: the grpc-status of the response
 * *headers* (a trailers-only reply), or -1. Envoy never retries on trailers: by then the headers
 * went downstream. envoy_ratelimited: the response carries x-envoy-ratelimited, which Envoy retries
 * only under envoy-ratelimited (not supported by Ringside's route config), so it means no retry.
 * random: a uniform 64-bit draw. */
struct rs_retry_decision rs_retry_should_retry_response(struct rs_retry_state *s, uint32_t status,
                                                        int grpc_status, bool envoy_ratelimited,
                                                        uint64_t random);
/* Same, reading :status, grpc-status and x-envoy-ratelimited from the response headers. */
struct rs_retry_decision rs_retry_should_retry_headers(struct rs_retry_state *s,
                                                       const struct rs_header_map *response_headers,
                                                       uint64_t random);
/* Decision on a reset before response headers. A per-try timeout is RS_RETRY_RESET_LOCAL_RESET
 * (Envoy: retried under 5xx, gateway-error or reset). */
struct rs_retry_decision rs_retry_should_retry_reset(struct rs_retry_state *s,
                                                     enum rs_retry_reset_reason reason,
                                                     uint64_t random);

/* The pure conditions behind the deciders (no counters, no backoff). */
bool rs_retry_would_retry_response(const struct rs_retry_state *s, uint32_t status, int grpc_status,
                                   bool envoy_ratelimited);
bool rs_retry_would_retry_reset(const struct rs_retry_state *s, enum rs_retry_reset_reason reason);

/* Envoy's JitteredExponentialBackOffStrategy: draw uniformly in [0, ceiling) where ceiling starts
 * at base_interval and doubles per draw up to max_interval; the result never exceeds max. */
uint64_t rs_retry_next_backoff_ms(struct rs_retry_state *s, uint64_t random);

/* The request body went beyond the replay buffer: no more retries (Envoy resets its retry state,
 * counting retry_or_shadow_abandoned). Returns true if a held retry slot must be released. */
bool rs_retry_abandon(struct rs_retry_state *s);
/* The request is over. Returns true if a held retry slot must be released. */
bool rs_retry_state_finish(struct rs_retry_state *s);

/* retry_host_predicate previous_hosts: remember each host an attempt went to... */
void rs_retry_on_host_attempted(struct rs_retry_state *s, const void *host);
/* ...and ask the load balancer to pick again when it lands on one of them (up to
 * rs_retry_host_selection_max_attempts() picks, then it takes what it got). */
bool rs_retry_should_reselect_host(const struct rs_retry_state *s, const void *host);
uint32_t rs_retry_host_selection_max_attempts(const struct rs_retry_state *s);

/* grpc-status of a header or trailer map as Envoy reads it: absent, or not a number, or above 16
 * gives -1 (Envoy's InvalidCode, which matches no retry condition). */
int rs_retry_grpc_status(const struct rs_header_map *headers);

/* Envoy's timeouts for the request (FilterUtility::finalTimeout, without grpc-timeout): the
 * route's timeout, replaced by x-envoy-upstream-rq-timeout-ms; the policy's per_try_timeout,
 * replaced by x-envoy-upstream-rq-per-try-timeout-ms; a per-try timeout not below a non-zero
 * global one is dropped. Headers only when trusted. 0 means none. */
struct rs_retry_timeouts {
    uint64_t global_ms;
    uint64_t per_try_ms;
};
struct rs_retry_timeouts rs_retry_final_timeouts(uint64_t route_timeout_ms,
                                                 const struct rs_route_retry_policy *policy,
                                                 const struct rs_header_map *request_headers,
                                                 bool trusted);

/* x-envoy-expected-rq-timeout-ms for an attempt starting elapsed_ms after the request
 * (FilterUtility::setTimeoutHeaders without hedging): the per-try timeout, else the global one,
 * capped by the global time left and never below 1 ms once a global timeout is set. 0: send no
 * header (no timeout at all). */
uint64_t rs_retry_expected_timeout_ms(struct rs_retry_timeouts t, uint64_t elapsed_ms);

/* Request headers Envoy's router consumes (never forwarded upstream), NULL-terminated. */
extern const char *const rs_retry_consumed_headers[];

/* absl::SimpleAtoi for unsigned 64-bit as Envoy uses it on these headers: optional ASCII
 * whitespace around, optional '+', decimal digits, no overflow. */
bool rs_retry_parse_u64(const char *s, size_t len, uint64_t *out);

#endif
