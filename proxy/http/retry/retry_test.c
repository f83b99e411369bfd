/* Retry decisions: every retry_on condition both ways, header overrides (trusted or not), the
 * retry limit, the circuit breaker, backoff bounds, previous_hosts, timeouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/http/header_map.h"
#include "proxy/http/retry/retry.h"

static struct rs_route_retry_policy policy(uint32_t retry_on, uint32_t num_retries)
{
    struct rs_route_retry_policy p = {
        .retry_on = retry_on,
        .num_retries = num_retries,
        .base_interval_ms = 25,
        .max_interval_ms = 250,
        .host_selection_max_attempts = 1,
    };
    return p;
}

static struct rs_header_map *headers(const char *const *kv)
{
    struct rs_header_map *m = rs_header_map_new();
    assert_non_null(m);
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
        assert_int_equal(rs_header_map_add(m, kv[i], strlen(kv[i]), kv[i + 1], strlen(kv[i + 1])),
                         0);
    return m;
}

static bool would_status(uint32_t retry_on, uint32_t status)
{
    struct rs_route_retry_policy p = policy(retry_on, 1);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    return rs_retry_would_retry_response(&s, status, -1, false);
}

static bool would_grpc(uint32_t retry_on, int grpc)
{
    struct rs_route_retry_policy p = policy(retry_on, 1);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    return rs_retry_would_retry_response(&s, 200, grpc, false);
}

static bool would_reset(uint32_t retry_on, enum rs_retry_reset_reason r)
{
    struct rs_route_retry_policy p = policy(retry_on, 1);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    return rs_retry_would_retry_reset(&s, r);
}

static void retry_on_5xx(void **state)
{
    (void)state;
    assert_true(would_status(RS_RETRY_ON_5XX, 500));
    assert_true(would_status(RS_RETRY_ON_5XX, 503));
    assert_true(would_status(RS_RETRY_ON_5XX, 599));
    assert_false(would_status(RS_RETRY_ON_5XX, 499));
    assert_false(would_status(RS_RETRY_ON_5XX, 409));
    assert_false(would_status(RS_RETRY_ON_5XX, 200));
    assert_false(would_status(RS_RETRY_ON_RESET | RS_RETRY_ON_CONNECT_FAILURE, 503));
}

static void retry_on_gateway_error(void **state)
{
    (void)state;
    assert_true(would_status(RS_RETRY_ON_GATEWAY_ERROR, 502));
    assert_true(would_status(RS_RETRY_ON_GATEWAY_ERROR, 503));
    assert_true(would_status(RS_RETRY_ON_GATEWAY_ERROR, 504));
    assert_false(would_status(RS_RETRY_ON_GATEWAY_ERROR, 500));
    assert_false(would_status(RS_RETRY_ON_GATEWAY_ERROR, 501));
    assert_false(would_status(RS_RETRY_ON_GATEWAY_ERROR, 505));
}

static void retry_on_retriable_4xx(void **state)
{
    (void)state;
    assert_true(would_status(RS_RETRY_ON_RETRIABLE_4XX, 409));
    assert_false(would_status(RS_RETRY_ON_RETRIABLE_4XX, 408));
    assert_false(would_status(RS_RETRY_ON_RETRIABLE_4XX, 429));
    assert_false(would_status(RS_RETRY_ON_RETRIABLE_4XX, 503));
    assert_false(would_status(RS_RETRY_ON_5XX, 409));
}

static void retry_on_retriable_status_codes(void **state)
{
    (void)state;
    static const uint32_t codes[] = {418, 503};
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_RETRIABLE_STATUS_CODES, 1);
    p.retriable_status_codes = codes;
    p.n_retriable_status_codes = 2;
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_true(rs_retry_would_retry_response(&s, 418, -1, false));
    assert_true(rs_retry_would_retry_response(&s, 503, -1, false));
    assert_false(rs_retry_would_retry_response(&s, 500, -1, false));
    /* The list alone does nothing without the condition. */
    p.retry_on = RS_RETRY_ON_RETRIABLE_4XX;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_false(rs_retry_would_retry_response(&s, 418, -1, false));
}

static void retry_on_grpc_conditions(void **state)
{
    (void)state;
    static const struct {
        uint32_t flag;
        int code;
    } cases[] = {
        {RS_RETRY_ON_GRPC_CANCELLED, 1},          {RS_RETRY_ON_GRPC_DEADLINE_EXCEEDED, 4},
        {RS_RETRY_ON_GRPC_RESOURCE_EXHAUSTED, 8}, {RS_RETRY_ON_GRPC_INTERNAL, 13},
        {RS_RETRY_ON_GRPC_UNAVAILABLE, 14},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(would_grpc(cases[i].flag, cases[i].code));
        assert_false(would_grpc(RS_RETRY_GRPC_FLAGS & ~cases[i].flag, cases[i].code));
        assert_false(would_grpc(cases[i].flag, -1));
        assert_false(would_grpc(cases[i].flag, 0));
        assert_false(would_grpc(cases[i].flag, 2)); /* UNKNOWN: no condition names it */
    }
    /* HTTP conditions do not look at grpc-status. */
    assert_false(would_grpc(RS_RETRY_HTTP_FLAGS, 14));
}

static void ratelimited_response_is_never_retried(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 1);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_false(rs_retry_would_retry_response(&s, 503, -1, true));
    struct rs_header_map *h =
        headers((const char *[]){":status", "503", "x-envoy-ratelimited", "true", NULL});
    assert_int_equal(rs_retry_should_retry_headers(&s, h, 0).status, RS_RETRY_NO);
    rs_header_map_free(h);
}

static void retry_on_resets(void **state)
{
    (void)state;
    /* connect-failure: the three connection failures only. */
    assert_true(would_reset(RS_RETRY_ON_CONNECT_FAILURE, RS_RETRY_RESET_LOCAL_CONNECTION_FAILURE));
    assert_true(would_reset(RS_RETRY_ON_CONNECT_FAILURE, RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE));
    assert_true(would_reset(RS_RETRY_ON_CONNECT_FAILURE, RS_RETRY_RESET_CONNECTION_TIMEOUT));
    assert_false(would_reset(RS_RETRY_ON_CONNECT_FAILURE, RS_RETRY_RESET_REMOTE_RESET));
    assert_false(would_reset(RS_RETRY_ON_CONNECT_FAILURE, RS_RETRY_RESET_LOCAL_RESET));
    /* reset: any reset but overflow. */
    assert_true(would_reset(RS_RETRY_ON_RESET, RS_RETRY_RESET_REMOTE_RESET));
    assert_true(would_reset(RS_RETRY_ON_RESET, RS_RETRY_RESET_CONNECTION_TERMINATION));
    assert_true(would_reset(RS_RETRY_ON_RESET, RS_RETRY_RESET_LOCAL_RESET));
    assert_true(would_reset(RS_RETRY_ON_RESET, RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE));
    assert_false(would_reset(RS_RETRY_ON_RESET, RS_RETRY_RESET_OVERFLOW));
    /* 5xx and gateway-error count every reset, the per-try timeout (a local reset) included. */
    assert_true(would_reset(RS_RETRY_ON_5XX, RS_RETRY_RESET_LOCAL_RESET));
    assert_true(would_reset(RS_RETRY_ON_5XX, RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE));
    assert_true(would_reset(RS_RETRY_ON_GATEWAY_ERROR, RS_RETRY_RESET_LOCAL_RESET));
    assert_true(would_reset(RS_RETRY_ON_GATEWAY_ERROR, RS_RETRY_RESET_PROTOCOL_ERROR));
    assert_false(would_reset(RS_RETRY_ON_5XX, RS_RETRY_RESET_OVERFLOW));
    /* refused-stream: only the peer's REFUSED_STREAM. */
    assert_true(would_reset(RS_RETRY_ON_REFUSED_STREAM, RS_RETRY_RESET_REMOTE_REFUSED_STREAM));
    assert_false(would_reset(RS_RETRY_ON_REFUSED_STREAM, RS_RETRY_RESET_REMOTE_RESET));
    assert_false(would_reset(RS_RETRY_ON_REFUSED_STREAM, RS_RETRY_RESET_LOCAL_REFUSED_STREAM));
    /* Response-only conditions never retry resets. */
    assert_false(would_reset(RS_RETRY_ON_RETRIABLE_4XX | RS_RETRY_ON_RETRIABLE_STATUS_CODES |
                                 RS_RETRY_GRPC_FLAGS,
                             RS_RETRY_RESET_LOCAL_RESET));
}

static void no_policy_means_no_state_but_headers_enable_one_retry(void **state)
{
    (void)state;
    struct rs_retry_state s;
    rs_retry_state_init(&s, NULL, NULL, true, NULL, NULL);
    assert_false(rs_retry_state_enabled(&s));
    assert_int_equal(rs_retry_should_retry_response(&s, 503, -1, false, 0).status, RS_RETRY_NO);

    struct rs_header_map *h = headers((const char *[]){"x-envoy-retry-on", "5xx", NULL});
    rs_retry_state_init(&s, NULL, h, true, NULL, NULL);
    assert_true(rs_retry_state_enabled(&s));
    assert_int_equal(s.retries_remaining, 1);
    assert_int_equal(s.base_interval_ms, 25);
    assert_int_equal(s.max_interval_ms, 250);
    assert_int_equal(rs_retry_should_retry_response(&s, 503, -1, false, 0).status, RS_RETRY_YES);
    assert_int_equal(rs_retry_should_retry_response(&s, 503, -1, false, 0).status,
                     RS_RETRY_NO_LIMIT_EXCEEDED);
    rs_header_map_free(h);
}

static void trusted_headers_merge_with_route(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_CONNECT_FAILURE, 1);
    struct rs_header_map *h =
        headers((const char *[]){"x-envoy-retry-on", " retriable-4xx , unavailable,bogus",
                                 "x-envoy-retry-grpc-on", "cancelled, 5xx", "x-envoy-max-retries",
                                 "4", "x-envoy-retriable-status-codes", "418, x,429", NULL});
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, h, true, NULL, NULL);
    /* ORed with the route's; gRPC names only count in x-envoy-retry-grpc-on and HTTP names only
     * in x-envoy-retry-on. */
    assert_int_equal(s.retry_on, RS_RETRY_ON_CONNECT_FAILURE | RS_RETRY_ON_RETRIABLE_4XX |
                                     RS_RETRY_ON_GRPC_CANCELLED);
    assert_int_equal(s.retries_remaining, 4);
    assert_int_equal(s.n_header_codes, 2);
    assert_int_equal(s.header_codes[0], 418);
    assert_int_equal(s.header_codes[1], 429);
    rs_header_map_free(h);
}

static void untrusted_headers_are_ignored(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_CONNECT_FAILURE, 1);
    struct rs_header_map *h = headers((const char *[]){
        "x-envoy-retry-on", "5xx", "x-envoy-retry-grpc-on", "cancelled", "x-envoy-max-retries", "9",
        "x-envoy-retriable-status-codes", "418", NULL});
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, h, false, NULL, NULL);
    assert_int_equal(s.retry_on, RS_RETRY_ON_CONNECT_FAILURE);
    assert_int_equal(s.retries_remaining, 1);
    assert_int_equal(s.n_header_codes, 0);
    rs_header_map_free(h);
}

static void max_retries_needs_a_condition(void **state)
{
    (void)state;
    struct rs_header_map *h = headers((const char *[]){"x-envoy-max-retries", "5", NULL});
    struct rs_retry_state s;
    rs_retry_state_init(&s, NULL, h, true, NULL, NULL);
    assert_int_equal(s.retries_remaining, 1);
    assert_false(rs_retry_state_enabled(&s));
    rs_header_map_free(h);
    /* Not a number: the route's count stands. */
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 3);
    h = headers((const char *[]){"x-envoy-max-retries", "-1", NULL});
    rs_retry_state_init(&s, &p, h, true, NULL, NULL);
    assert_int_equal(s.retries_remaining, 3);
    rs_header_map_free(h);
    h = headers((const char *[]){"x-envoy-max-retries", "0", NULL});
    rs_retry_state_init(&s, &p, h, true, NULL, NULL);
    assert_int_equal(rs_retry_should_retry_response(&s, 500, -1, false, 0).status,
                     RS_RETRY_NO_LIMIT_EXCEEDED);
    rs_header_map_free(h);
}

static void retries_run_out_with_stats_hints(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 2);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    struct rs_retry_decision d = rs_retry_should_retry_response(&s, 503, -1, false, 7);
    assert_int_equal(d.status, RS_RETRY_YES);
    assert_false(d.release_slot);
    assert_false(d.count_success);
    d = rs_retry_should_retry_reset(&s, RS_RETRY_RESET_REMOTE_RESET, 7);
    assert_int_equal(d.status, RS_RETRY_YES);
    assert_true(d.release_slot);
    assert_false(d.count_success);
    d = rs_retry_should_retry_response(&s, 500, -1, false, 7);
    assert_int_equal(d.status, RS_RETRY_NO_LIMIT_EXCEEDED);
    assert_true(d.release_slot);
    assert_false(d.count_success);
    /* Nothing held any more. */
    assert_false(rs_retry_state_finish(&s));
}

static void success_after_retry_is_counted_once(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 3);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    /* First attempt fine: no retry happened, so no success to count. */
    struct rs_retry_decision d = rs_retry_should_retry_response(&s, 200, -1, false, 0);
    assert_int_equal(d.status, RS_RETRY_NO);
    assert_false(d.count_success);
    assert_int_equal(rs_retry_should_retry_response(&s, 502, -1, false, 0).status, RS_RETRY_YES);
    d = rs_retry_should_retry_response(&s, 404, -1, false, 0);
    assert_int_equal(d.status, RS_RETRY_NO);
    assert_true(d.count_success);
    assert_true(d.release_slot);
    d = rs_retry_should_retry_response(&s, 200, -1, false, 0);
    assert_false(d.count_success);
    assert_false(d.release_slot);
}

static int budget_calls;
static bool budget_allows;

static bool budget(void *ctx)
{
    assert_ptr_equal(ctx, &budget_calls);
    budget_calls++;
    return budget_allows;
}

static void breaker_denial_is_overflow_and_spends_the_retry(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_RESET, 1);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, budget, &budget_calls);
    budget_calls = 0;
    budget_allows = false;
    struct rs_retry_decision d = rs_retry_should_retry_reset(&s, RS_RETRY_RESET_REMOTE_RESET, 0);
    assert_int_equal(d.status, RS_RETRY_NO_OVERFLOW);
    assert_int_equal(budget_calls, 1);
    assert_false(rs_retry_state_finish(&s));
    budget_allows = true;
    d = rs_retry_should_retry_reset(&s, RS_RETRY_RESET_REMOTE_RESET, 0);
    assert_int_equal(d.status, RS_RETRY_NO_LIMIT_EXCEEDED);
    assert_int_equal(budget_calls, 1); /* the limit is checked first */
    /* Not retriable: the breaker is not consulted. */
    d = rs_retry_should_retry_reset(&s, RS_RETRY_RESET_OVERFLOW, 0);
    assert_int_equal(d.status, RS_RETRY_NO);
    assert_int_equal(budget_calls, 1);
}

static void budget_allows_retry(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_RESET, 1);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, budget, &budget_calls);
    budget_calls = 0;
    budget_allows = true;
    assert_int_equal(rs_retry_should_retry_reset(&s, RS_RETRY_RESET_LOCAL_RESET, 0).status,
                     RS_RETRY_YES);
    assert_int_equal(budget_calls, 1);
    assert_true(rs_retry_state_finish(&s));
    assert_false(rs_retry_state_finish(&s));
}

static void body_overflow_abandons_retries(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 5);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_int_equal(rs_retry_should_retry_response(&s, 503, -1, false, 0).status, RS_RETRY_YES);
    assert_true(rs_retry_abandon(&s));
    assert_false(rs_retry_state_enabled(&s));
    struct rs_retry_decision d = rs_retry_should_retry_response(&s, 503, -1, false, 0);
    assert_int_equal(d.status, RS_RETRY_NO);
    assert_false(d.count_success);
    assert_false(d.release_slot);
    assert_false(rs_retry_state_finish(&s));
}

static uint64_t prng(uint64_t *x) /* splitmix64 */
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void backoff_is_fully_jittered_exponential(void **state)
{
    (void)state;
    /* Ceilings 25, 50, 100, 200, then max (250) for ever. */
    static const uint64_t ceiling[] = {25, 50, 100, 200, 250, 250, 250, 250};
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 1);
    uint64_t seed = 42;
    uint64_t seen_max[8] = {0};
    for (int run = 0; run < 2000; run++) {
        struct rs_retry_state s;
        rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
        for (size_t n = 0; n < 8; n++) {
            uint64_t b = rs_retry_next_backoff_ms(&s, prng(&seed));
            assert_true(b < ceiling[n]);
            if (b > seen_max[n])
                seen_max[n] = b;
        }
    }
    /* The whole range is used: the top of each window shows up over 2,000 draws. */
    for (size_t n = 0; n < 8; n++)
        assert_true(seen_max[n] >= ceiling[n] * 9 / 10);

    /* Exact values with a chosen draw. */
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_int_equal(rs_retry_next_backoff_ms(&s, 24), 24);
    assert_int_equal(rs_retry_next_backoff_ms(&s, 50), 0);
    assert_int_equal(rs_retry_next_backoff_ms(&s, 199), 99);
}

static void backoff_respects_custom_intervals(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 1);
    p.base_interval_ms = 100;
    p.max_interval_ms = 120;
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_int_equal(rs_retry_next_backoff_ms(&s, 99), 99);
    assert_int_equal(rs_retry_next_backoff_ms(&s, 119), 119); /* 200 capped at 120 */
    assert_int_equal(rs_retry_next_backoff_ms(&s, UINT64_MAX), UINT64_MAX % 120);
    /* Only a base: max defaults to 10x base. */
    p.max_interval_ms = 0;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_int_equal(s.max_interval_ms, 1000);
    /* The decision returns the draw. */
    p = policy(RS_RETRY_ON_5XX, 1);
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_int_equal(rs_retry_should_retry_response(&s, 500, -1, false, 30).backoff_ms, 5);
}

static void previous_hosts_predicate(void **state)
{
    (void)state;
    int hosts[40];
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 3);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    rs_retry_on_host_attempted(&s, &hosts[0]);
    assert_false(rs_retry_should_reselect_host(&s, &hosts[0])); /* no predicate configured */

    p.previous_hosts = true;
    p.host_selection_max_attempts = 5;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_int_equal(rs_retry_host_selection_max_attempts(&s), 5);
    assert_false(rs_retry_should_reselect_host(&s, &hosts[0]));
    rs_retry_on_host_attempted(&s, &hosts[0]);
    rs_retry_on_host_attempted(&s, &hosts[1]);
    assert_true(rs_retry_should_reselect_host(&s, &hosts[0]));
    assert_true(rs_retry_should_reselect_host(&s, &hosts[1]));
    assert_false(rs_retry_should_reselect_host(&s, &hosts[2]));
    /* Bounded memory: the oldest are forgotten first. */
    for (int i = 2; i < 40; i++)
        rs_retry_on_host_attempted(&s, &hosts[i]);
    assert_false(rs_retry_should_reselect_host(&s, &hosts[0]));
    assert_true(rs_retry_should_reselect_host(&s, &hosts[39]));
    assert_true(rs_retry_should_reselect_host(&s, &hosts[8]));
}

static void grpc_status_from_headers(void **state)
{
    (void)state;
    struct rs_header_map *h =
        headers((const char *[]){":status", "200", "grpc-status", "14", NULL});
    assert_int_equal(rs_retry_grpc_status(h), 14);
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_GRPC_UNAVAILABLE, 1);
    struct rs_retry_state s;
    rs_retry_state_init(&s, &p, NULL, false, NULL, NULL);
    assert_int_equal(rs_retry_should_retry_headers(&s, h, 0).status, RS_RETRY_YES);
    rs_header_map_free(h);
    h = headers((const char *[]){"grpc-status", "17", NULL});
    assert_int_equal(rs_retry_grpc_status(h), -1);
    rs_header_map_free(h);
    h = headers((const char *[]){"grpc-status", "x", NULL});
    assert_int_equal(rs_retry_grpc_status(h), -1);
    rs_header_map_free(h);
    h = headers(NULL);
    assert_int_equal(rs_retry_grpc_status(h), -1);
    rs_header_map_free(h);
}

static void final_timeouts(void **state)
{
    (void)state;
    struct rs_route_retry_policy p = policy(RS_RETRY_ON_5XX, 1);
    p.per_try_timeout_ms = 500;
    struct rs_retry_timeouts t = rs_retry_final_timeouts(15000, &p, NULL, true);
    assert_int_equal(t.global_ms, 15000);
    assert_int_equal(t.per_try_ms, 500);
    struct rs_header_map *h =
        headers((const char *[]){"x-envoy-upstream-rq-timeout-ms", "2000",
                                 "x-envoy-upstream-rq-per-try-timeout-ms", "300", NULL});
    t = rs_retry_final_timeouts(15000, &p, h, true);
    assert_int_equal(t.global_ms, 2000);
    assert_int_equal(t.per_try_ms, 300);
    t = rs_retry_final_timeouts(15000, &p, h, false);
    assert_int_equal(t.global_ms, 15000);
    assert_int_equal(t.per_try_ms, 500);
    rs_header_map_free(h);
    /* A per-try timeout not below the global one is dropped; a disabled global keeps it. */
    p.per_try_timeout_ms = 15000;
    t = rs_retry_final_timeouts(15000, &p, NULL, true);
    assert_int_equal(t.per_try_ms, 0);
    t = rs_retry_final_timeouts(0, &p, NULL, true);
    assert_int_equal(t.per_try_ms, 15000);
    /* Header 0 disables the global timeout; garbage is ignored. */
    h = headers((const char *[]){"x-envoy-upstream-rq-timeout-ms", "0",
                                 "x-envoy-upstream-rq-per-try-timeout-ms", "abc", NULL});
    t = rs_retry_final_timeouts(15000, NULL, h, true);
    assert_int_equal(t.global_ms, 0);
    assert_int_equal(t.per_try_ms, 0);
    rs_header_map_free(h);
}

static void expected_timeout_header(void **state)
{
    (void)state;
    struct rs_retry_timeouts t = {.global_ms = 1000, .per_try_ms = 300};
    assert_int_equal(rs_retry_expected_timeout_ms(t, 0), 300);
    assert_int_equal(rs_retry_expected_timeout_ms(t, 800), 200);
    assert_int_equal(rs_retry_expected_timeout_ms(t, 1000), 1);
    assert_int_equal(rs_retry_expected_timeout_ms(t, 5000), 1);
    t.per_try_ms = 0;
    assert_int_equal(rs_retry_expected_timeout_ms(t, 250), 750);
    t.global_ms = 0;
    assert_int_equal(rs_retry_expected_timeout_ms(t, 250), 0);
    t.per_try_ms = 400;
    assert_int_equal(rs_retry_expected_timeout_ms(t, 10000), 400);
}

static void parse_u64_like_simple_atoi(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_true(rs_retry_parse_u64(" +12 ", 5, &v));
    assert_int_equal(v, 12);
    assert_true(rs_retry_parse_u64("18446744073709551615", 20, &v));
    assert_int_equal(v, UINT64_MAX);
    assert_false(rs_retry_parse_u64("18446744073709551616", 20, &v));
    assert_false(rs_retry_parse_u64("", 0, &v));
    assert_false(rs_retry_parse_u64(" ", 1, &v));
    assert_false(rs_retry_parse_u64("+", 1, &v));
    assert_false(rs_retry_parse_u64("-1", 2, &v));
    assert_false(rs_retry_parse_u64("1 2", 3, &v));
    assert_false(rs_retry_parse_u64("0x10", 4, &v));
}

static void consumed_headers_listed(void **state)
{
    (void)state;
    size_t n = 0;
    bool max_retries = false;
    for (; rs_retry_consumed_headers[n] != NULL; n++)
        if (strcmp(rs_retry_consumed_headers[n], "x-envoy-max-retries") == 0)
            max_retries = true;
    assert_true(max_retries);
    assert_int_equal(n, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(retry_on_5xx),
        cmocka_unit_test(retry_on_gateway_error),
        cmocka_unit_test(retry_on_retriable_4xx),
        cmocka_unit_test(retry_on_retriable_status_codes),
        cmocka_unit_test(retry_on_grpc_conditions),
        cmocka_unit_test(ratelimited_response_is_never_retried),
        cmocka_unit_test(retry_on_resets),
        cmocka_unit_test(no_policy_means_no_state_but_headers_enable_one_retry),
        cmocka_unit_test(trusted_headers_merge_with_route),
        cmocka_unit_test(untrusted_headers_are_ignored),
        cmocka_unit_test(max_retries_needs_a_condition),
        cmocka_unit_test(retries_run_out_with_stats_hints),
        cmocka_unit_test(success_after_retry_is_counted_once),
        cmocka_unit_test(breaker_denial_is_overflow_and_spends_the_retry),
        cmocka_unit_test(budget_allows_retry),
        cmocka_unit_test(body_overflow_abandons_retries),
        cmocka_unit_test(backoff_is_fully_jittered_exponential),
        cmocka_unit_test(backoff_respects_custom_intervals),
        cmocka_unit_test(previous_hosts_predicate),
        cmocka_unit_test(grpc_status_from_headers),
        cmocka_unit_test(final_timeouts),
        cmocka_unit_test(expected_timeout_header),
        cmocka_unit_test(parse_u64_like_simple_atoi),
        cmocka_unit_test(consumed_headers_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
