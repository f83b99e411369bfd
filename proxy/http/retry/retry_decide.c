/* Retry conditions, the retry limit and circuit breaker, backoff and the previous_hosts memory. */
#include "proxy/http/retry/retry.h"

static bool has(const struct rs_retry_state *s, uint32_t flag)
{
    return (s->retry_on & flag) != 0;
}

static bool status_listed(const struct rs_retry_state *s, uint32_t status)
{
    for (size_t i = 0; i < s->n_route_codes; i++)
        if (s->route_codes[i] == status)
            return true;
    for (size_t i = 0; i < s->n_header_codes; i++)
        if (s->header_codes[i] == status)
            return true;
    return false;
}

static bool grpc_retriable(const struct rs_retry_state *s, int grpc_status)
{
    switch (grpc_status) {
    case RS_RETRY_GRPC_CANCELLED:
        return has(s, RS_RETRY_ON_GRPC_CANCELLED);
    case RS_RETRY_GRPC_DEADLINE_EXCEEDED:
        return has(s, RS_RETRY_ON_GRPC_DEADLINE_EXCEEDED);
    case RS_RETRY_GRPC_RESOURCE_EXHAUSTED:
        return has(s, RS_RETRY_ON_GRPC_RESOURCE_EXHAUSTED);
    case RS_RETRY_GRPC_UNAVAILABLE:
        return has(s, RS_RETRY_ON_GRPC_UNAVAILABLE);
    case RS_RETRY_GRPC_INTERNAL:
        return has(s, RS_RETRY_ON_GRPC_INTERNAL);
    default:
        return false;
    }
}

bool rs_retry_would_retry_response(const struct rs_retry_state *s, uint32_t status, int grpc_status,
                                   bool envoy_ratelimited)
{
    /* An upstream Envoy rate-limited us: retrying would only add load. */
    if (envoy_ratelimited)
        return false;
    if (has(s, RS_RETRY_ON_5XX) && status >= 500 && status < 600)
        return true;
    if (has(s, RS_RETRY_ON_GATEWAY_ERROR) && (status == 502 || status == 503 || status == 504))
        return true;
    if (has(s, RS_RETRY_ON_RETRIABLE_4XX) && status == 409)
        return true;
    if (has(s, RS_RETRY_ON_RETRIABLE_STATUS_CODES) && status_listed(s, status))
        return true;
    return grpc_retriable(s, grpc_status);
}

static bool is_connect_failure(enum rs_retry_reset_reason r)
{
    return r == RS_RETRY_RESET_LOCAL_CONNECTION_FAILURE ||
           r == RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE || r == RS_RETRY_RESET_CONNECTION_TIMEOUT;
}

bool rs_retry_would_retry_reset(const struct rs_retry_state *s, enum rs_retry_reset_reason reason)
{
    /* Overflow is our own circuit breaker: another attempt would overflow too. */
    if (reason == RS_RETRY_RESET_OVERFLOW)
        return false;
    if (is_connect_failure(reason) && has(s, RS_RETRY_ON_CONNECT_FAILURE))
        return true;
    if (has(s, RS_RETRY_ON_RESET))
        return true;
    /* Envoy counts any reset as a 5xx (the client would get a 503/504 for it). */
    if (has(s, RS_RETRY_ON_5XX | RS_RETRY_ON_GATEWAY_ERROR))
        return true;
    return has(s, RS_RETRY_ON_REFUSED_STREAM) && reason == RS_RETRY_RESET_REMOTE_REFUSED_STREAM;
}

uint64_t rs_retry_next_backoff_ms(struct rs_retry_state *s, uint64_t random)
{
    uint64_t ceiling = s->next_interval_ms;
    /* Doubling stops at max (and so can never overflow). */
    s->next_interval_ms = ceiling < s->max_interval_ms / 2 ? ceiling * 2 : s->max_interval_ms;
    uint64_t v = random % ceiling;
    return v < s->max_interval_ms ? v : s->max_interval_ms;
}

/* Envoy's RetryStateImpl::shouldRetry: success accounting, the limit, then the breaker. */
static struct rs_retry_decision decide(struct rs_retry_state *s, bool would_retry, uint64_t random)
{
    struct rs_retry_decision d = {.status = RS_RETRY_NO};
    if (s->retry_on == 0 || s->abandoned)
        return d;
    d.count_success = s->slot_held && !would_retry;
    d.release_slot = s->slot_held;
    s->slot_held = false;
    if (!would_retry)
        return d;
    if (s->retries_remaining == 0) {
        d.status = RS_RETRY_NO_LIMIT_EXCEEDED;
        return d;
    }
    /* The attempt is spent even when the breaker refuses it, as in Envoy. */
    s->retries_remaining--;
    if (s->can_retry != NULL && !s->can_retry(s->can_retry_ctx)) {
        d.status = RS_RETRY_NO_OVERFLOW;
        return d;
    }
    s->slot_held = true;
    d.status = RS_RETRY_YES;
    d.backoff_ms = rs_retry_next_backoff_ms(s, random);
    return d;
}

struct rs_retry_decision rs_retry_should_retry_response(struct rs_retry_state *s, uint32_t status,
                                                        int grpc_status, bool envoy_ratelimited,
                                                        uint64_t random)
{
    return decide(s, rs_retry_would_retry_response(s, status, grpc_status, envoy_ratelimited),
                  random);
}

static uint32_t response_status(const struct rs_header_map *h)
{
    const struct rs_hstr *v = rs_header_map_gets(h, ":status");
    uint64_t code;
    if (v == NULL || !rs_retry_parse_u64(v->p, v->len, &code) || code > 999)
        return 0;
    return (uint32_t)code;
}

struct rs_retry_decision rs_retry_should_retry_headers(struct rs_retry_state *s,
                                                       const struct rs_header_map *response_headers,
                                                       uint64_t random)
{
    bool ratelimited = rs_header_map_gets(response_headers, "x-envoy-ratelimited") != NULL;
    return rs_retry_should_retry_response(s, response_status(response_headers),
                                          rs_retry_grpc_status(response_headers), ratelimited,
                                          random);
}

struct rs_retry_decision rs_retry_should_retry_reset(struct rs_retry_state *s,
                                                     enum rs_retry_reset_reason reason,
                                                     uint64_t random)
{
    return decide(s, rs_retry_would_retry_reset(s, reason), random);
}

bool rs_retry_abandon(struct rs_retry_state *s)
{
    bool release = s->slot_held;
    s->slot_held = false;
    s->abandoned = true;
    return release;
}

bool rs_retry_state_finish(struct rs_retry_state *s)
{
    bool release = s->slot_held;
    s->slot_held = false;
    return release;
}

void rs_retry_on_host_attempted(struct rs_retry_state *s, const void *host)
{
    if (!s->previous_hosts || host == NULL)
        return;
    s->hosts[s->next_host] = host;
    s->next_host = (s->next_host + 1) % RS_RETRY_MAX_HOSTS;
    if (s->n_hosts < RS_RETRY_MAX_HOSTS)
        s->n_hosts++;
}

bool rs_retry_should_reselect_host(const struct rs_retry_state *s, const void *host)
{
    if (!s->previous_hosts)
        return false;
    for (size_t i = 0; i < s->n_hosts; i++)
        if (s->hosts[i] == host)
            return true;
    return false;
}

uint32_t rs_retry_host_selection_max_attempts(const struct rs_retry_state *s)
{
    return s->host_selection_max_attempts;
}
