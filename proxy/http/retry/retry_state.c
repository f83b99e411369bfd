/* Building the per-request retry state and timeouts from the route and the request headers. */
#include <string.h>

#include "proxy/http/retry/retry.h"

const char *const rs_retry_consumed_headers[] = {
    "x-envoy-retry-on",
    "x-envoy-retry-grpc-on",
    "x-envoy-max-retries",
    "x-envoy-hedge-on-per-try-timeout",
    "x-envoy-retriable-header-names",
    "x-envoy-retriable-status-codes",
    "x-envoy-upstream-rq-per-try-timeout-ms",
    "x-envoy-upstream-rq-timeout-ms",
    NULL,
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool rs_retry_parse_u64(const char *s, size_t len, uint64_t *out)
{
    size_t a = 0, b = len;
    while (a < b && is_space(s[a]))
        a++;
    while (b > a && is_space(s[b - 1]))
        b--;
    if (a < b && s[a] == '+')
        a++;
    if (a == b)
        return false;
    uint64_t v = 0;
    for (size_t i = a; i < b; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static const struct rs_hstr *header(const struct rs_header_map *h, const char *name)
{
    return h != NULL ? rs_header_map_gets(h, name) : NULL;
}

/* Envoy splits x-envoy-retriable-status-codes on ',' and keeps every entry SimpleAtoi accepts
 * as an unsigned int. We keep the first RS_RETRY_MAX_HEADER_CODES: more is not a real policy. */
static void parse_header_codes(struct rs_retry_state *s, const struct rs_hstr *v)
{
    size_t i = 0;
    while (i < v->len) {
        size_t end = i;
        while (end < v->len && v->p[end] != ',')
            end++;
        uint64_t code;
        if (end > i && rs_retry_parse_u64(v->p + i, end - i, &code) && code <= UINT32_MAX &&
            s->n_header_codes < RS_RETRY_MAX_HEADER_CODES)
            s->header_codes[s->n_header_codes++] = (uint32_t)code;
        i = end + 1;
    }
}

void rs_retry_state_init(struct rs_retry_state *s, const struct rs_route_retry_policy *policy,
                         const struct rs_header_map *request_headers, bool trusted,
                         rs_retry_can_retry_fn can_retry, void *can_retry_ctx)
{
    memset(s, 0, sizeof *s);
    s->can_retry = can_retry;
    s->can_retry_ctx = can_retry_ctx;
    /* Envoy's RetryPolicyImpl defaults stand in for a route without retry_policy. */
    s->retries_remaining = 1;
    s->base_interval_ms = RS_RETRY_DEFAULT_BASE_INTERVAL_MS;
    s->max_interval_ms = RS_RETRY_DEFAULT_BASE_INTERVAL_MS * 10;
    s->host_selection_max_attempts = 1;
    if (policy != NULL) {
        s->retry_on = policy->retry_on;
        s->retries_remaining = policy->num_retries;
        if (policy->base_interval_ms > 0) {
            s->base_interval_ms = policy->base_interval_ms;
            s->max_interval_ms = policy->base_interval_ms * 10;
        }
        if (policy->max_interval_ms > 0)
            s->max_interval_ms = policy->max_interval_ms;
        s->route_codes = policy->retriable_status_codes;
        s->n_route_codes = policy->n_retriable_status_codes;
        s->previous_hosts = policy->previous_hosts;
        if (policy->host_selection_max_attempts > 0)
            s->host_selection_max_attempts = policy->host_selection_max_attempts;
    }
    /* Config validation keeps max >= base; guard anyway so the backoff never divides by 0. */
    if (s->max_interval_ms < s->base_interval_ms)
        s->max_interval_ms = s->base_interval_ms;
    s->next_interval_ms = s->base_interval_ms;
    if (!trusted)
        return;

    const struct rs_hstr *v = header(request_headers, "x-envoy-retry-on");
    if (v != NULL)
        s->retry_on |= rs_route_parse_retry_on(v->p, v->len, NULL, 0) & RS_RETRY_HTTP_FLAGS;
    v = header(request_headers, "x-envoy-retry-grpc-on");
    if (v != NULL)
        s->retry_on |= rs_route_parse_retry_on(v->p, v->len, NULL, 0) & RS_RETRY_GRPC_FLAGS;
    /* Envoy applies x-envoy-max-retries only once some condition is set. */
    v = header(request_headers, "x-envoy-max-retries");
    uint64_t n;
    if (s->retry_on != 0 && v != NULL && rs_retry_parse_u64(v->p, v->len, &n))
        s->retries_remaining = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    v = header(request_headers, "x-envoy-retriable-status-codes");
    if (v != NULL)
        parse_header_codes(s, v);
}

bool rs_retry_state_enabled(const struct rs_retry_state *s)
{
    return s->retry_on != 0 && !s->abandoned;
}

int rs_retry_grpc_status(const struct rs_header_map *headers)
{
    const struct rs_hstr *v = header(headers, "grpc-status");
    uint64_t code;
    if (v == NULL || v->len == 0 || !rs_retry_parse_u64(v->p, v->len, &code) || code > 16)
        return -1;
    return (int)code;
}

struct rs_retry_timeouts rs_retry_final_timeouts(uint64_t route_timeout_ms,
                                                 const struct rs_route_retry_policy *policy,
                                                 const struct rs_header_map *request_headers,
                                                 bool trusted)
{
    struct rs_retry_timeouts t = {
        .global_ms = route_timeout_ms,
        .per_try_ms = policy != NULL ? policy->per_try_timeout_ms : 0,
    };
    if (trusted) {
        uint64_t ms;
        const struct rs_hstr *v = header(request_headers, "x-envoy-upstream-rq-timeout-ms");
        if (v != NULL && rs_retry_parse_u64(v->p, v->len, &ms))
            t.global_ms = ms;
        v = header(request_headers, "x-envoy-upstream-rq-per-try-timeout-ms");
        if (v != NULL && rs_retry_parse_u64(v->p, v->len, &ms))
            t.per_try_ms = ms;
    }
    /* A per-try timeout that cannot fire before the global one is meaningless (Envoy drops it). */
    if (t.global_ms != 0 && t.per_try_ms >= t.global_ms)
        t.per_try_ms = 0;
    return t;
}

uint64_t rs_retry_expected_timeout_ms(struct rs_retry_timeouts t, uint64_t elapsed_ms)
{
    uint64_t expected = t.per_try_ms != 0 ? t.per_try_ms : t.global_ms;
    if (expected == 0 || t.global_ms == 0)
        return expected;
    /* Out of time still advertises 1 ms: 0 would read as "no timeout" upstream. */
    if (elapsed_ms >= t.global_ms)
        return 1;
    uint64_t left = t.global_ms - elapsed_ms;
    return expected < left ? expected : left;
}
