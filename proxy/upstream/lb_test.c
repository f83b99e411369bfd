/* Load balancers: exact weighted round robin, weighted random within tolerance, least request
 * preferring idle hosts, avoiding a host on retry, ORIGINAL_DST host reuse and cleanup. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb.h"
#include "proxy/upstream/lb_internal.h"
#include "proxy/upstream/test_util.h"

/* A STATIC cluster of 10.0.0.1..n:80 with the given weights. */
static struct rs_cluster *weighted_cluster(const char *policy, const unsigned *weights, size_t n,
                                           unsigned n_workers)
{
    char yaml[4096];
    size_t off = (size_t)snprintf(yaml, sizeof(yaml),
                                  "name: w\nlb_policy: %s\nload_assignment:\n  cluster_name: w\n"
                                  "  endpoints:\n  - lb_endpoints:\n",
                                  policy);
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
                                "    - endpoint: {address: {socket_address: {address: 10.0.0.%zu, "
                                "port_value: 80}}}\n      load_balancing_weight: %u\n",
                                i + 1, weights[i]);
    struct rs_cluster_env env = {.n_workers = n_workers};
    return rs_test_cluster(yaml, &env);
}

static size_t host_index(const struct rs_cluster *c, const struct rs_host *h)
{
    const struct rs_host_set *set = rs_cluster_hosts(c);
    for (size_t i = 0; i < set->n_hosts; i++) {
        if (set->hosts[i] == h)
            return i;
    }
    fail_msg("picked host not in the set");
    return 0;
}

/* Picks n times on worker w and counts picks per host index. */
static void pick_counts(struct rs_cluster *c, unsigned w, const struct rs_lb_context *ctx, size_t n,
                        unsigned *counts)
{
    for (size_t i = 0; i < n; i++) {
        struct rs_host *h = rs_cluster_pick_host(c, w, ctx);
        assert_non_null(h);
        counts[host_index(c, h)]++;
        rs_host_unref(h);
    }
}

static void test_round_robin_equal(void **state)
{
    (void)state;
    const unsigned w[] = {1, 1, 1, 1};
    struct rs_cluster *c = weighted_cluster("ROUND_ROBIN", w, 4, 2);
    /* Any 4 consecutive picks visit every host once, in set order from a random start. */
    struct rs_host *first = rs_cluster_pick_host(c, 0, NULL);
    size_t start = host_index(c, first);
    rs_host_unref(first);
    for (size_t i = 1; i < 12; i++) {
        struct rs_host *h = rs_cluster_pick_host(c, 0, NULL);
        assert_int_equal(host_index(c, h), (start + i) % 4);
        rs_host_unref(h);
    }
    rs_cluster_unref(c);
}

static void test_round_robin_weighted_exact(void **state)
{
    (void)state;
    const unsigned w[] = {1, 2, 3};
    struct rs_cluster *c = weighted_cluster("ROUND_ROBIN", w, 3, 4);
    for (unsigned worker = 0; worker < 4; worker++) {
        rs_lb_seed(c, worker, 1000 + worker);
        /* Every window of one full cycle (6 picks) gives exactly 1:2:3, whatever the start. */
        for (int cycle = 0; cycle < 50; cycle++) {
            unsigned counts[3] = {0};
            pick_counts(c, worker, NULL, 6, counts);
            assert_int_equal(counts[0], 1);
            assert_int_equal(counts[1], 2);
            assert_int_equal(counts[2], 3);
        }
    }
    /* Smooth: the heaviest host is never picked three times in a row within a cycle. */
    rs_lb_seed(c, 0, 7);
    size_t run = 0, last = 99;
    for (int i = 0; i < 600; i++) {
        struct rs_host *h = rs_cluster_pick_host(c, 0, NULL);
        size_t idx = host_index(c, h);
        run = idx == last ? run + 1 : 1;
        last = idx;
        assert_true(run < 3);
        rs_host_unref(h);
    }
    rs_cluster_unref(c);
}

static void test_round_robin_large_weights(void **state)
{
    (void)state;
    const unsigned w[] = {1000, 1, 4000000};
    struct rs_cluster *c = weighted_cluster("ROUND_ROBIN", w, 3, 1);
    unsigned counts[3] = {0};
    pick_counts(c, 0, NULL, 4001001, counts);
    assert_int_equal(counts[0], 1000);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 4000000);
    rs_cluster_unref(c);
}

static void test_per_worker_slots_aligned(void **state)
{
    (void)state;
    const unsigned w[] = {1, 1};
    struct rs_cluster *c = weighted_cluster("ROUND_ROBIN", w, 2, 3);
    /* Private layout, checked here because sharing a line between workers would be a silent
     * performance bug: each slot starts on its own cache line. */
    assert_int_equal(sizeof(struct rs_lb_worker) % RS_LB_CACHE_LINE, 0);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal((uintptr_t)&c->lb_[i] % RS_LB_CACHE_LINE, 0);
    rs_cluster_unref(c);
}

static void test_random_weighted(void **state)
{
    (void)state;
    const unsigned w[] = {1, 2, 3, 4};
    struct rs_cluster *c = weighted_cluster("RANDOM", w, 4, 1);
    rs_lb_seed(c, 0, 42);
    unsigned counts[4] = {0};
    const size_t n = 100000;
    pick_counts(c, 0, NULL, n, counts);
    for (size_t i = 0; i < 4; i++) {
        double expected = (double)n * w[i] / 10.0;
        double dev = ((double)counts[i] - expected) / expected;
        if (dev > 0.03 || dev < -0.03)
            fail_msg("host %zu: %u picks, expected ~%.0f", i, counts[i], expected);
    }
    rs_cluster_unref(c);

    const unsigned eq[] = {5, 5, 5};
    c = weighted_cluster("RANDOM", eq, 3, 1);
    rs_lb_seed(c, 0, 43);
    unsigned ecounts[3] = {0};
    pick_counts(c, 0, NULL, 30000, ecounts);
    for (size_t i = 0; i < 3; i++)
        assert_true(ecounts[i] > 9500 && ecounts[i] < 10500);
    rs_cluster_unref(c);
}

static void test_least_request_p2c(void **state)
{
    (void)state;
    const unsigned w[] = {1, 1, 1};
    struct rs_cluster *c = weighted_cluster("LEAST_REQUEST", w, 3, 1);
    rs_lb_seed(c, 0, 5);
    const struct rs_host_set *set = rs_cluster_hosts(c);
    atomic_store(&set->hosts[0]->stats.rq_active, 10);
    atomic_store(&set->hosts[1]->stats.rq_active, 0);
    atomic_store(&set->hosts[2]->stats.rq_active, 5);
    unsigned counts[3] = {0};
    const size_t n = 30000;
    pick_counts(c, 0, NULL, n, counts);
    /* Two choices: host 1 wins whenever sampled (1 - (2/3)^2 = 5/9); host 0 only when both samples
     * are host 0 (1/9); host 2 otherwise (3/9). */
    assert_true(counts[1] > n * 5 / 9 - 600 && counts[1] < n * 5 / 9 + 600);
    assert_true(counts[0] > n / 9 - 400 && counts[0] < n / 9 + 400);
    assert_true(counts[2] > n * 3 / 9 - 600 && counts[2] < n * 3 / 9 + 600);
    rs_cluster_unref(c);
}

static void test_least_request_choice_count(void **state)
{
    (void)state;
    struct rs_cluster_env env = {.n_workers = 1};
    struct rs_cluster *c = rs_test_cluster(
        "name: lr\nlb_policy: LEAST_REQUEST\nleast_request_lb_config: {choice_count: 10}\n"
        "load_assignment:\n  cluster_name: lr\n  endpoints:\n  - lb_endpoints:\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 1}}}\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 1}}}\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.3, port_value: 1}}}\n",
        &env);
    const struct rs_host_set *set = rs_cluster_hosts(c);
    atomic_store(&set->hosts[0]->stats.rq_active, 3);
    atomic_store(&set->hosts[2]->stats.rq_active, 3);
    unsigned counts[3] = {0};
    pick_counts(c, 0, NULL, 10000, counts);
    /* Ten samples miss the idle host with probability (2/3)^10 ~ 1.7%. */
    assert_true(counts[1] > 9600);
    rs_cluster_unref(c);
}

static void test_least_request_weighted(void **state)
{
    (void)state;
    const unsigned w[] = {1, 2};
    struct rs_cluster *c = weighted_cluster("LEAST_REQUEST", w, 2, 1);
    unsigned counts[2] = {0};
    /* Idle: effective weights 1 and 2. */
    pick_counts(c, 0, NULL, 3000, counts);
    assert_true(counts[0] > 950 && counts[0] < 1050);
    /* Host 1 busy with 3 requests: 2 / (3 + 1) = 0.5 against 1 / 1, so host 0 gets ~2/3. */
    atomic_store(&rs_cluster_hosts(c)->hosts[1]->stats.rq_active, 3);
    memset(counts, 0, sizeof(counts));
    pick_counts(c, 0, NULL, 3000, counts);
    assert_true(counts[0] > 1900 && counts[0] < 2100);
    rs_cluster_unref(c);
}

static void test_avoid_host(void **state)
{
    (void)state;
    const char *policies[] = {"ROUND_ROBIN", "RANDOM", "LEAST_REQUEST"};
    const unsigned w[] = {1, 1};
    const unsigned wu[] = {1, 100};
    for (size_t p = 0; p < 3; p++) {
        for (int weighted = 0; weighted < 2; weighted++) {
            struct rs_cluster *c = weighted_cluster(policies[p], weighted ? wu : w, 2, 1);
            const struct rs_host *avoid = rs_cluster_hosts(c)->hosts[1];
            struct rs_lb_context ctx = {.avoid = avoid};
            for (int i = 0; i < 1000; i++) {
                struct rs_host *h = rs_cluster_pick_host(c, 0, &ctx);
                assert_ptr_not_equal(h, avoid);
                rs_host_unref(h);
            }
            rs_cluster_unref(c);
        }
    }
    /* A single host is returned even if it is the one to avoid (nothing better exists). */
    const unsigned one[] = {1};
    struct rs_cluster *c = weighted_cluster("ROUND_ROBIN", one, 1, 1);
    struct rs_lb_context ctx = {.avoid = rs_cluster_hosts(c)->hosts[0]};
    struct rs_host *h = rs_cluster_pick_host(c, 0, &ctx);
    assert_ptr_equal(h, ctx.avoid);
    rs_host_unref(h);
    rs_cluster_unref(c);
}

static void test_empty_cluster(void **state)
{
    (void)state;
    struct rs_cluster *c = rs_test_cluster("name: empty\n", NULL);
    assert_null(rs_cluster_pick_host(c, 0, NULL));
    rs_cluster_unref(c);
}

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &sin.sin_addr);
    return sin;
}

static void test_original_dst_reuse_and_cleanup(void **state)
{
    (void)state;
    struct rs_cluster_env env = {.n_workers = 2};
    struct rs_cluster *c = rs_test_cluster(
        "name: odst\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\ncleanup_interval: 1s\n",
        &env);
    struct sockaddr_in a = v4("10.1.2.3", 443), b = v4("10.1.2.4", 443);
    struct rs_lb_context ctx = {.original_dst = (struct sockaddr *)&a, .now_ms = 10000};

    assert_null(rs_cluster_pick_host(c, 0, NULL)); /* no destination, no host */

    struct rs_host *h1 = rs_cluster_pick_host(c, 0, &ctx);
    assert_non_null(h1);
    assert_string_equal(h1->addr_str, "10.1.2.3:443");
    ctx.now_ms = 10500;
    struct rs_host *h2 = rs_cluster_pick_host(c, 0, &ctx);
    assert_ptr_equal(h1, h2);                    /* reused */
    assert_int_equal(atomic_load(&h1->refs), 3); /* map + two callers */
    rs_host_unref(h2);

    /* Another worker has its own map (no sharing on the data path). */
    struct rs_host *other = rs_cluster_pick_host(c, 1, &ctx);
    assert_ptr_not_equal(other, h1);
    rs_host_unref(other);

    /* Many destinations grow the map; all still found. */
    struct sockaddr_in many[100];
    for (int i = 0; i < 100; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 10, i % 10);
        many[i] = v4(ip, 80);
        ctx.original_dst = (struct sockaddr *)&many[i];
        rs_host_unref(rs_cluster_pick_host(c, 0, &ctx));
    }
    ctx.original_dst = (struct sockaddr *)&many[37];
    struct rs_host *m1 = rs_cluster_pick_host(c, 0, &ctx);
    struct rs_host *m2 = rs_cluster_pick_host(c, 0, &ctx);
    assert_ptr_equal(m1, m2);
    rs_host_unref(m1);
    rs_host_unref(m2);

    /* 1.6 s later only b is used: a (last used at 10.5 s) is idle past cleanup_interval and the
     * map drops it; we still hold h1, so it lives on with our reference only. */
    ctx.now_ms = 12100;
    ctx.original_dst = (struct sockaddr *)&b;
    struct rs_host *hb = rs_cluster_pick_host(c, 0, &ctx);
    assert_string_equal(hb->addr_str, "10.1.2.4:443");
    assert_int_equal(atomic_load(&h1->refs), 1);
    ctx.original_dst = (struct sockaddr *)&a;
    struct rs_host *h3 = rs_cluster_pick_host(c, 0, &ctx);
    assert_ptr_not_equal(h3, h1); /* a fresh host for a */
    assert_string_equal(h3->addr_str, "10.1.2.3:443");
    rs_host_unref(h3);
    rs_host_unref(hb);
    rs_host_unref(h1);
    rs_cluster_unref(c);
}

static void test_original_dst_port_override_v6(void **state)
{
    (void)state;
    struct rs_cluster *c = rs_test_cluster("name: odst\ntype: ORIGINAL_DST\nlb_policy: "
                                           "CLUSTER_PROVIDED\noriginal_dst_lb_config: "
                                           "{upstream_port_override: 8443}\n",
                                           NULL);
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    inet_pton(AF_INET6, "fd00::1", &sin6.sin6_addr);
    struct rs_lb_context ctx = {.original_dst = (struct sockaddr *)&sin6};
    struct rs_host *h = rs_cluster_pick_host(c, 0, &ctx);
    assert_non_null(h);
    assert_string_equal(h->addr_str, "[fd00::1]:8443");
    rs_host_unref(h);
    rs_cluster_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin_equal),
        cmocka_unit_test(test_round_robin_weighted_exact),
        cmocka_unit_test(test_round_robin_large_weights),
        cmocka_unit_test(test_per_worker_slots_aligned),
        cmocka_unit_test(test_random_weighted),
        cmocka_unit_test(test_least_request_p2c),
        cmocka_unit_test(test_least_request_choice_count),
        cmocka_unit_test(test_least_request_weighted),
        cmocka_unit_test(test_avoid_host),
        cmocka_unit_test(test_empty_cluster),
        cmocka_unit_test(test_original_dst_reuse_and_cleanup),
        cmocka_unit_test(test_original_dst_port_override_v6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
