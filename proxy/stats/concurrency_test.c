/* Several threads write their own shards (and register new stats, growing chunks) while the main
 * thread reads and renders; at the end every total is exact. Run under TSan/ASan in CI. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/stats.h"

enum { THREADS = 4, ITERS = 200000, OWN_STATS = 1500 };

struct ctx {
    struct rs_stats_store *store;
    rs_stat_id shared_counter, shared_gauge, shared_hist;
    atomic_int started;
};

static void *writer(void *arg)
{
    struct ctx *c = arg;
    struct rs_stats_shard *shard = rs_stats_shard_new(c->store);
    atomic_fetch_add(&c->started, 1);
    unsigned self = 0;
    for (unsigned i = 0; i < ITERS; i++) {
        rs_stats_inc(shard, c->shared_counter);
        rs_stats_gauge_add(shard, c->shared_gauge, (i & 1) ? -1 : 2);
        if (i % 16 == 0)
            rs_stats_histogram_record(shard, c->shared_hist, i % 1000);
        /* Registering while others write: new chunks appear in every shard. */
        if (i % (ITERS / OWN_STATS) == 0 && self < OWN_STATS) {
            rs_stat_id id = rs_stats_counterf(c->store, "thread.%p.stat_%u", (void *)shard, self);
            assert_int_not_equal(id, RS_STAT_INVALID);
            rs_stats_add(shard, id, self + 1);
            self++;
        }
    }
    return NULL;
}

static void totals_are_exact(void **state)
{
    (void)state;
    struct ctx c = {.store = rs_stats_store_new()};
    c.shared_counter = rs_stats_counter(c.store, "cluster.x.upstream_rq_total");
    c.shared_gauge = rs_stats_gauge(c.store, "cluster.x.upstream_cx_active");
    c.shared_hist = rs_stats_histogram(c.store, "cluster.x.upstream_rq_time");
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, &c), 0);

    /* Reads while writers run: monotonic counter, renderings never fail. */
    uint64_t last = 0;
    for (int round = 0; round < 50; round++) {
        uint64_t v = rs_stats_counter_value(c.store, c.shared_counter);
        assert_true(v >= last);
        last = v;
        struct rs_strbuf sb = RS_STRBUF_INIT;
        assert_int_equal(rs_stats_render_prometheus(c.store, NULL, &sb), 0);
        rs_strbuf_reset(&sb);
        struct rs_stats_render_options opt = {.filter = "^cluster\\.", .used_only = true};
        assert_int_equal(rs_stats_render_text(c.store, &opt, &sb), 0);
        rs_strbuf_free(&sb);
        rs_stats_flush(c.store);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    assert_int_equal(rs_stats_counter_value(c.store, c.shared_counter), (uint64_t)THREADS * ITERS);
    assert_int_equal(rs_stats_gauge_value(c.store, c.shared_gauge), (int64_t)THREADS * ITERS / 2);
    struct rs_stats_histogram_summary h;
    rs_stats_histogram_value(c.store, c.shared_hist, &h);
    assert_int_equal(h.count, (uint64_t)THREADS * (ITERS / 16));
    assert_int_equal(rs_stats_count(c.store), 3 + THREADS * OWN_STATS);
    uint64_t own_total = 0;
    for (rs_stat_id id = 3; id < rs_stats_count(c.store); id++)
        own_total += rs_stats_counter_value(c.store, id);
    assert_int_equal(own_total, (uint64_t)THREADS * OWN_STATS * (OWN_STATS + 1) / 2);
    rs_stats_store_free(c.store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(totals_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
