/* STRICT_DNS: family filtering, the resolver thread posting to a real loop, and clusters resolving
 * "localhost" (no network needed), re-resolving on their timer and keeping host objects. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "proxy/core/loop.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/cluster_manager.h"
#include "proxy/upstream/dns.h"
#include "proxy/upstream/lb.h"
#include "proxy/upstream/test_util.h"

static struct rs_loop *new_loop(void)
{
    char err[256];
    struct rs_loop_options opt = {.entries = 64, .buf_count = 0, .name = "main"};
    struct rs_loop *loop = rs_loop_new(&opt, err, sizeof(err));
    if (loop == NULL)
        fail_msg("rs_loop_new: %s", err);
    return loop;
}

/* Runs the loop until *flag or ~5 s. */
static void run_until(struct rs_loop *loop, const bool *flag)
{
    for (int i = 0; i < 500 && !*flag; i++)
        rs_loop_run_once(loop, 10);
    assert_true(*flag);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs the loop for ms of wall-clock time (turns end early on events). */
static void run_for(struct rs_loop *loop, int ms)
{
    uint64_t end = mono_ms() + (uint64_t)ms;
    while (mono_ms() < end)
        rs_loop_run_once(loop, 5);
}

static void set_addr(struct sockaddr_storage *ss, const char *ip)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(ip, ':')) {
        ss->ss_family = AF_INET6;
        inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->sin6_addr);
    } else {
        ss->ss_family = AF_INET;
        inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr);
    }
}

static size_t filtered(const char *const *ips, size_t n, enum rs_dns_family fam, int *families)
{
    struct sockaddr_storage addrs[8];
    for (size_t i = 0; i < n; i++)
        set_addr(&addrs[i], ips[i]);
    struct rs_dns_result res = {.status = 0, .n_addrs = n, .addrs = addrs};
    rs_dns_filter_family(&res, fam);
    for (size_t i = 0; i < res.n_addrs; i++)
        families[i] = addrs[i].ss_family;
    return res.n_addrs;
}

static void test_filter_family(void **state)
{
    (void)state;
    const char *both[] = {"192.0.2.1", "2001:db8::1", "192.0.2.2", "192.0.2.1"};
    const char *v4[] = {"192.0.2.1"};
    const char *v6[] = {"2001:db8::1"};
    int f[8];
    /* AUTO prefers IPv6, V4_PREFERRED prefers IPv4; each falls back to the other family. */
    assert_int_equal(filtered(both, 4, RS_DNS_AUTO, f), 1);
    assert_int_equal(f[0], AF_INET6);
    assert_int_equal(filtered(v4, 1, RS_DNS_AUTO, f), 1);
    assert_int_equal(f[0], AF_INET);
    assert_int_equal(filtered(both, 4, RS_DNS_V4_PREFERRED, f), 2); /* duplicate dropped */
    assert_int_equal(f[0], AF_INET);
    assert_int_equal(filtered(v6, 1, RS_DNS_V4_PREFERRED, f), 1);
    assert_int_equal(f[0], AF_INET6);
    assert_int_equal(filtered(both, 4, RS_DNS_ALL, f), 3);
    assert_int_equal(filtered(both, 4, RS_DNS_V4_ONLY, f), 2);
    assert_int_equal(filtered(both, 4, RS_DNS_V6_ONLY, f), 1);
    assert_int_equal(filtered(v4, 1, RS_DNS_V6_ONLY, f), 0);
}

struct answer {
    bool done;
    int status;
    size_t n;
    char first[64];
};

static void on_answer(void *arg, const struct rs_dns_result *res)
{
    struct answer *a = arg;
    a->done = true;
    a->status = res->status;
    a->n = res->n_addrs;
    if (res->n_addrs > 0)
        rs_host_format_addr((const struct sockaddr *)&res->addrs[0], a->first, sizeof(a->first));
}

static void test_resolver_posts_to_loop(void **state)
{
    (void)state;
    char err[256];
    struct rs_loop *loop = new_loop();
    struct rs_dns_resolver *r = rs_dns_resolver_new(loop, err, sizeof(err));
    assert_non_null(r);

    struct answer a = {0};
    assert_non_null(rs_dns_resolve(r, "localhost", 8080, RS_DNS_V4_ONLY, on_answer, &a));
    assert_false(a.done); /* never synchronous: the loop delivers it */
    run_until(loop, &a.done);
    assert_int_equal(a.status, 0);
    assert_true(a.n >= 1);
    assert_string_equal(a.first, "127.0.0.1:8080");

    /* IP literals resolve to themselves. */
    struct answer lit = {0};
    rs_dns_resolve(r, "::1", 53, RS_DNS_AUTO, on_answer, &lit);
    run_until(loop, &lit.done);
    assert_int_equal(lit.n, 1);
    assert_string_equal(lit.first, "[::1]:53");

    /* A cancelled query never calls back; its memory is still released (ASan). */
    struct answer cancelled = {0};
    rs_dns_cancel(rs_dns_resolve(r, "localhost", 1, RS_DNS_V4_ONLY, on_answer, &cancelled));
    struct answer after = {0};
    rs_dns_resolve(r, "localhost", 2, RS_DNS_V4_ONLY, on_answer, &after);
    run_until(loop, &after.done); /* FIFO: the cancelled one was handled before */
    assert_false(cancelled.done);

    rs_dns_resolver_free(r);
    run_for(loop, 20);
    rs_loop_free(loop);
}

struct init_state {
    bool initialized;
    int calls;
};

static void on_initialized(void *arg)
{
    struct init_state *s = arg;
    s->initialized = true;
    s->calls++;
}

static Envoy__Config__Cluster__V3__Cluster *dns_cluster_pb(const char *name, const char *family)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "name: %s\n"
             "type: STRICT_DNS\n"
             "dns_refresh_rate: 0.02s\n"
             "dns_lookup_family: %s\n"
             "load_assignment:\n"
             "  cluster_name: %s\n"
             "  endpoints:\n"
             "  - locality: {zone: z1}\n"
             "    lb_endpoints:\n"
             "    - endpoint: {address: {socket_address: {address: localhost, port_value: 9999}}}\n"
             "      load_balancing_weight: 3\n"
             "    - endpoint: {address: {socket_address: {address: 127.0.0.7, port_value: 1}}}\n",
             name, family, name);
    return rs_test_cluster_pb(yaml);
}

static void test_strict_dns_cluster(void **state)
{
    (void)state;
    char err[256];
    struct rs_loop *loop = new_loop();
    struct rs_stats_store *store = rs_stats_store_new();
    struct rs_stats_shard *shard = rs_stats_shard_new(store);
    Envoy__Config__Cluster__V3__Cluster *pbs[] = {dns_cluster_pb("dns", "V4_ONLY")};
    struct rs_cluster_manager_options opt = {
        .main_loop = loop, .n_workers = 2, .stats = store, .main_shard = shard};
    struct rs_cluster_manager *cm =
        rs_cluster_manager_new(&opt, pbs, 1, "static_resources.clusters", err, sizeof(err));
    assert_non_null(cm);
    rs_test_cluster_pb_free(pbs[0]);
    struct rs_cluster *c = rs_cluster_manager_find(cm, "dns");

    /* Until the first round completes the cluster has no host and the manager is not ready. */
    struct init_state init = {0};
    assert_int_equal(rs_cluster_manager_start(cm, on_initialized, &init, err, sizeof(err)), 0);
    assert_false(init.initialized);
    assert_false(rs_cluster_manager_initialized(cm));
    assert_null(rs_cluster_pick_host(c, 0, NULL));

    run_until(loop, &init.initialized);
    assert_true(rs_cluster_manager_initialized(cm));
    const struct rs_host_set *set = rs_cluster_hosts(c);
    assert_int_equal(set->n_hosts, 2);
    assert_string_equal(set->hosts[0]->addr_str, "127.0.0.1:9999");
    assert_string_equal(set->hosts[0]->hostname, "localhost");
    assert_int_equal(set->hosts[0]->weight, 3);
    assert_string_equal(set->hosts[0]->locality.zone, "z1");
    assert_string_equal(set->hosts[1]->addr_str, "127.0.0.7:1");
    struct rs_host *first = rs_host_ref(set->hosts[0]);
    uint64_t changes = rs_stats_counter_value(store, c->stats.membership_change);
    assert_true(changes >= 1 && changes <= 2); /* one per target's first answer */

    /* Re-resolution every 20 ms: same answers, so no rebuild and the same host objects. */
    run_for(loop, 200);
    assert_int_equal(init.calls, 1);
    assert_true(rs_stats_counter_value(store, c->stats.update_attempt) >= 6);
    assert_true(rs_stats_counter_value(store, c->stats.update_success) >= 6);
    assert_true(rs_stats_counter_value(store, c->stats.update_no_rebuild) >= 4);
    assert_int_equal(rs_stats_counter_value(store, c->stats.update_failure), 0);
    assert_int_equal(rs_stats_counter_value(store, c->stats.membership_change), changes);
    assert_ptr_equal(rs_cluster_hosts(c)->hosts[0], first);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.membership_total), 2);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.max_host_weight), 3);

    struct rs_host *picked = rs_cluster_pick_host(c, 1, NULL);
    assert_non_null(picked);
    rs_host_unref(picked);

    rs_cluster_manager_stop(cm);
    run_for(loop, 20); /* deliver (and free) anything posted before the stop */
    rs_host_unref(first);
    rs_cluster_manager_free(cm);
    rs_loop_free(loop);
    rs_stats_store_free(store);
}

static void test_stop_before_first_answer(void **state)
{
    (void)state;
    char err[256];
    struct rs_loop *loop = new_loop();
    Envoy__Config__Cluster__V3__Cluster *pbs[] = {dns_cluster_pb("a", "ALL"),
                                                  dns_cluster_pb("b", "AUTO")};
    struct rs_cluster_manager_options opt = {.main_loop = loop, .n_workers = 1};
    struct rs_cluster_manager *cm =
        rs_cluster_manager_new(&opt, pbs, 2, "static_resources.clusters", err, sizeof(err));
    assert_non_null(cm);
    rs_test_cluster_pb_free(pbs[0]);
    rs_test_cluster_pb_free(pbs[1]);
    struct init_state init = {0};
    assert_int_equal(rs_cluster_manager_start(cm, on_initialized, &init, err, sizeof(err)), 0);
    rs_cluster_manager_stop(cm); /* queries cancelled, thread joined */
    run_for(loop, 50);
    assert_false(init.initialized);
    rs_cluster_manager_free(cm);
    rs_loop_free(loop);
}

static void test_families_against_localhost(void **state)
{
    (void)state;
    char err[256];
    struct rs_loop *loop = new_loop();
    Envoy__Config__Cluster__V3__Cluster *pbs[] = {dns_cluster_pb("all", "ALL")};
    struct rs_cluster_manager_options opt = {.main_loop = loop, .n_workers = 1};
    struct rs_cluster_manager *cm =
        rs_cluster_manager_new(&opt, pbs, 1, "static_resources.clusters", err, sizeof(err));
    rs_test_cluster_pb_free(pbs[0]);
    struct init_state init = {0};
    rs_cluster_manager_start(cm, on_initialized, &init, err, sizeof(err));
    run_until(loop, &init.initialized);
    const struct rs_host_set *set = rs_cluster_hosts(rs_cluster_manager_find(cm, "all"));
    /* localhost has 127.0.0.1, and ::1 where /etc/hosts lists it; plus the literal endpoint. */
    assert_true(set->n_hosts >= 2);
    bool has_v4 = false;
    for (size_t i = 0; i < set->n_hosts; i++)
        has_v4 |= strcmp(set->hosts[i]->addr_str, "127.0.0.1:9999") == 0;
    assert_true(has_v4);
    rs_cluster_manager_stop(cm);
    run_for(loop, 20);
    rs_cluster_manager_free(cm);
    rs_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_family),
        cmocka_unit_test(test_resolver_posts_to_loop),
        cmocka_unit_test(test_strict_dns_cluster),
        cmocka_unit_test(test_stop_before_first_answer),
        cmocka_unit_test(test_families_against_localhost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
