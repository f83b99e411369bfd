/* Host sets: construction, publication through the cluster, QSBR retirement of replaced sets, host
 * objects kept across replacement, and the membership stats. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/core/qsbr.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb.h"
#include "proxy/upstream/test_util.h"

static struct rs_host *host(const char *ip, uint16_t port, uint32_t weight)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        inet_pton(AF_INET6, ip, &in6->sin6_addr);
        len = sizeof(*in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        inet_pton(AF_INET, ip, &in->sin_addr);
        len = sizeof(*in);
    }
    struct rs_host *h = rs_host_new((struct sockaddr *)&ss, len, NULL, weight, NULL);
    assert_non_null(h);
    return h;
}

static void test_host_basics(void **state)
{
    (void)state;
    struct rs_host *a = host("192.0.2.1", 80, 3);
    struct rs_host *b = host("2001:db8::1", 8080, 1);
    assert_string_equal(a->addr_str, "192.0.2.1:80");
    assert_string_equal(b->addr_str, "[2001:db8::1]:8080");
    assert_string_equal(a->hostname, "");
    assert_string_equal(a->locality.zone, "");
    assert_true(rs_host_healthy(a));
    assert_false(rs_host_addr_equal((struct sockaddr *)&a->addr, (struct sockaddr *)&b->addr));
    struct rs_host *hosts[] = {a, b};
    struct rs_host_set *set = rs_host_set_new(hosts, 2);
    assert_int_equal(set->n_hosts, 2);
    assert_int_equal(set->total_weight, 4);
    assert_int_equal(set->max_weight, 3);
    assert_false(set->equal_weights);
    assert_int_equal(set->cum_weight[0], 3);
    assert_int_equal(set->cum_weight[1], 4);
    assert_int_equal(rs_host_set_find(set, (struct sockaddr *)&b->addr), 1);
    rs_host_set_free(set); /* drops the references it took over: ASan checks the frees */
}

static struct rs_cluster *two_host_cluster(const struct rs_cluster_env *env)
{
    return rs_test_cluster(
        "name: hs\nload_assignment:\n  cluster_name: hs\n  endpoints:\n  - lb_endpoints:\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 80}}}\n",
        env);
}

static void test_replacement_retired_through_qsbr(void **state)
{
    (void)state;
    struct rs_qsbr *q = rs_qsbr_new();
    struct rs_qsbr_reader *worker = rs_qsbr_register(q);
    struct rs_stats_store *store = rs_stats_store_new();
    struct rs_stats_shard *shard = rs_stats_shard_new(store);
    struct rs_cluster_env env = {.n_workers = 1, .qsbr = q, .stats = store, .main_shard = shard};
    struct rs_cluster *c = two_host_cluster(&env);

    assert_int_equal(rs_stats_gauge_value(store, c->stats.membership_total), 2);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.membership_healthy), 2);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.max_host_weight), 1);
    assert_int_equal(rs_stats_counter_value(store, c->stats.membership_change), 1);

    /* The worker reads the current set within its loop turn. */
    const struct rs_host_set *seen = rs_cluster_hosts(c);
    struct rs_host *kept = seen->hosts[1];
    struct rs_host *picked = rs_cluster_pick_host(c, 0, NULL);

    /* Main thread: new set keeping 10.0.0.2's host object, dropping 10.0.0.1, adding 10.0.0.3. */
    struct rs_host *next[] = {rs_host_ref(kept), host("10.0.0.3", 80, 5)};
    rs_cluster_set_hosts(c, rs_host_set_new(next, 2));
    assert_ptr_equal(rs_cluster_hosts(c)->hosts[0], kept);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.membership_total), 2);
    assert_int_equal(rs_stats_gauge_value(store, c->stats.max_host_weight), 5);
    assert_int_equal(rs_stats_counter_value(store, c->stats.membership_change), 2);

    /* The old set is still readable: the worker has not passed a quiescent state. */
    assert_int_equal(rs_qsbr_reclaim(q), 1);
    assert_int_equal(seen->n_hosts, 2);
    assert_string_equal(seen->hosts[0]->addr_str, "10.0.0.1:80");

    /* Same addresses in another order: not a membership change. */
    const struct rs_host_set *cur = rs_cluster_hosts(c);
    struct rs_host *swapped[] = {rs_host_ref(cur->hosts[1]), rs_host_ref(cur->hosts[0])};
    rs_cluster_set_hosts(c, rs_host_set_new(swapped, 2));
    assert_int_equal(rs_stats_counter_value(store, c->stats.membership_change), 2);

    rs_qsbr_quiescent(worker);
    assert_int_equal(rs_qsbr_reclaim(q), 0); /* both retired sets freed (ASan: no leak) */
    /* The host object kept across both replacements: referenced by the current set, and by us if
     * the round robin happened to pick it. */
    assert_int_equal(atomic_load(&kept->refs), picked == kept ? 2 : 1);

    /* A picked host outlives every set that contained it. */
    rs_host_unref(picked);

    rs_cluster_unref(c);
    rs_qsbr_unregister(worker);
    rs_qsbr_free(q);
    rs_stats_store_free(store);
}

static void test_cluster_shared_by_snapshots(void **state)
{
    (void)state;
    struct rs_cluster *c = two_host_cluster(NULL);
    struct rs_cluster *snapshot_a = rs_cluster_ref(c);
    struct rs_cluster *snapshot_b = rs_cluster_ref(c);
    rs_cluster_unref(c);
    rs_cluster_unref(snapshot_a);
    struct rs_host *h = rs_cluster_pick_host(snapshot_b, 0, NULL);
    char addr[RS_HOST_ADDR_STR_LEN];
    strcpy(addr, h->addr_str);
    rs_cluster_unref(snapshot_b); /* last reference: cluster freed, host survives */
    assert_int_equal(atomic_load(&h->refs), 1);
    assert_string_equal(h->addr_str, addr); /* still valid memory (ASan) */
    rs_host_unref(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_basics),
        cmocka_unit_test(test_replacement_retired_through_qsbr),
        cmocka_unit_test(test_cluster_shared_by_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
