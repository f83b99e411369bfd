/* The router's factory: its shared config, the per-worker pool registry and the cluster stats. */
#include <stdlib.h>
#include <string.h>

#include "proxy/http/filters/router_internal.h"
#include "proxy/net/worker.h"
#include "proxy/upstream/cluster.h"

struct rs_http_filter *rs_router_filter_create(void *config, struct rs_http_stream *stream);

/* Registers (find-or-create) the fixed upstream_rq_* stats of one cluster. Caller holds
 * stats_lock. */
static struct rs_router_cluster_stats *stats_for_locked(struct rs_router_config *cfg,
                                                        const char *name)
{
    for (size_t i = 0; i < cfg->n_stats; i++)
        if (strcmp(cfg->stats[i]->name, name) == 0)
            return cfg->stats[i];
    if (cfg->n_stats == cfg->cap_stats) {
        size_t cap = cfg->cap_stats ? cfg->cap_stats * 2 : 8;
        void *p = realloc(cfg->stats, cap * sizeof *cfg->stats);
        if (p == NULL)
            return NULL;
        cfg->stats = p;
        cfg->cap_stats = cap;
    }
    struct rs_router_cluster_stats *st = calloc(1, sizeof *st);
    if (st == NULL || (st->name = strdup(name)) == NULL) {
        free(st);
        return NULL;
    }
    struct rs_stats_store *s = cfg->store;
    if (s != NULL) {
        st->rq_total = rs_stats_counterf(s, "cluster.%s.upstream_rq_total", name);
        st->rq_completed = rs_stats_counterf(s, "cluster.%s.upstream_rq_completed", name);
        st->rq_timeout = rs_stats_counterf(s, "cluster.%s.upstream_rq_timeout", name);
        st->rq_time = rs_stats_histogramf(s, "cluster.%s.upstream_rq_time", name);
        for (int k = 0; k < 5; k++)
            st->rq_xx[k] = rs_stats_counterf(s, "cluster.%s.upstream_rq_%dxx", name, k + 1);
        st->rq_retry = rs_stats_counterf(s, "cluster.%s.upstream_rq_retry", name);
        st->rq_retry_success = rs_stats_counterf(s, "cluster.%s.upstream_rq_retry_success", name);
        st->rq_retry_overflow = rs_stats_counterf(s, "cluster.%s.upstream_rq_retry_overflow", name);
        st->rq_retry_limit_exceeded =
            rs_stats_counterf(s, "cluster.%s.upstream_rq_retry_limit_exceeded", name);
        st->rq_retry_backoff_exponential =
            rs_stats_counterf(s, "cluster.%s.upstream_rq_retry_backoff_exponential", name);
        st->rq_per_try_timeout =
            rs_stats_counterf(s, "cluster.%s.upstream_rq_per_try_timeout", name);
    } else {
        st->rq_total = st->rq_completed = st->rq_timeout = st->rq_time = RS_STAT_INVALID;
        st->rq_retry = st->rq_retry_success = st->rq_retry_overflow = RS_STAT_INVALID;
        st->rq_retry_limit_exceeded = st->rq_retry_backoff_exponential = RS_STAT_INVALID;
        st->rq_per_try_timeout = RS_STAT_INVALID;
        for (int k = 0; k < 5; k++)
            st->rq_xx[k] = RS_STAT_INVALID;
    }
    cfg->stats[cfg->n_stats++] = st;
    return st;
}

static struct rs_router_cluster_stats *stats_for(struct rs_router_config *cfg, const char *name)
{
    pthread_mutex_lock(&cfg->stats_lock);
    struct rs_router_cluster_stats *st = stats_for_locked(cfg, name);
    pthread_mutex_unlock(&cfg->stats_lock);
    return st;
}

/* Status codes are registered the first time a cluster sees them: at most ~60 in practice, and
 * pre-registering all 500 per cluster would flood the admin output with zeros. */
void rs_router_charge_code(struct rs_router_filter *rf, int status)
{
    struct rs_router_cluster_stats *st = rf->stats;
    /* Router.dynamic_stats off: Envoy emits no per-code (nor upstream_rq_time) stats. */
    if (st == NULL || rf->cfg->store == NULL || !rf->cfg->opt.dynamic_stats || status < 100 ||
        status > 599)
        return;
    uint32_t id1 = atomic_load_explicit(&st->code_ids_[status], memory_order_relaxed);
    if (id1 == 0) {
        rs_stat_id id =
            rs_stats_counterf(rf->cfg->store, "cluster.%s.upstream_rq_%d", st->name, status);
        id1 = id == RS_STAT_INVALID ? UINT32_MAX : id + 1;
        atomic_store_explicit(&st->code_ids_[status], id1, memory_order_relaxed);
    }
    if (id1 != UINT32_MAX)
        rs_stats_inc(rf->shard, id1 - 1);
    rs_stats_inc(rf->shard, st->rq_xx[status / 100 - 1]);
}

struct rs_router_cluster_slot *rs_router_slot_get(struct rs_router_filter *rf, struct rs_cluster *c)
{
    struct rs_router_worker_slot *w = &rf->cfg->workers[rf->worker_id];
    for (size_t i = 0; i < w->n; i++)
        if (w->clusters[i]->cluster == c)
            return w->clusters[i];
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4;
        void *p = realloc(w->clusters, cap * sizeof *w->clusters);
        if (p == NULL)
            return NULL;
        w->clusters = p;
        w->cap = cap;
    }
    struct rs_router_cluster_stats *st = stats_for(rf->cfg, c->name);
    struct rs_h1_pool_options o;
    rs_h1_pool_options_from_cluster(&o, c);
    struct rs_h1_pool *pool = rs_h1_pool_new(rf->loop, rf->shard, &o);
    struct rs_router_cluster_slot *s = calloc(1, sizeof *s);
    if (st == NULL || pool == NULL || s == NULL) {
        if (pool != NULL)
            rs_h1_pool_free(pool);
        free(s);
        return NULL;
    }
    w->clusters[w->n++] = s;
    s->cluster = rs_cluster_ref(c);
    s->pool = pool;
    s->stats = st;
    return s;
}

/* xorshift64*: weighted cluster picks only need a fair split, not unpredictability. */
void rs_router_record_time(struct rs_router_filter *rf)
{
    if (rf->cfg->opt.dynamic_stats)
        rs_stats_histogram_record(rf->shard, rf->stats->rq_time,
                                  rs_loop_now_ms(rf->loop) - rf->sent_ms);
}

uint64_t rs_router_random(struct rs_router_filter *rf)
{
    uint64_t *x = &rf->cfg->workers[rf->worker_id].prng;
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1Dull;
}

void rs_router_worker_release(void *factory_config, unsigned worker_id)
{
    struct rs_router_config *cfg = factory_config;
    struct rs_router_worker_slot *w = &cfg->workers[worker_id % cfg->n_workers];
    for (size_t i = 0; i < w->n; i++) {
        rs_h1_pool_free(w->clusters[i]->pool);
        rs_cluster_unref(w->clusters[i]->cluster);
        free(w->clusters[i]);
    }
    free(w->clusters);
    w->clusters = NULL;
    w->n = w->cap = 0;
}

static void router_free_config(void *config)
{
    struct rs_router_config *cfg = config;
    if (cfg == NULL)
        return;
    for (unsigned i = 0; i < cfg->n_workers; i++)
        rs_router_worker_release(cfg, i);
    free(cfg->workers);
    for (size_t i = 0; i < cfg->n_stats; i++) {
        free(cfg->stats[i]->name);
        free(cfg->stats[i]);
    }
    free(cfg->stats);
    rs_router_header_formats_free(cfg);
    pthread_mutex_destroy(&cfg->stats_lock);
    free(cfg);
}

int rs_router_factory_init(struct rs_http_filter_factory *out, const struct rs_router_options *opt,
                           const struct rs_router_env *env)
{
    struct rs_router_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return -1;
    if (opt != NULL)
        cfg->opt = *opt;
    else
        cfg->opt.dynamic_stats = true;
    cfg->lookup = env->lookup;
    cfg->lookup_ctx = env->lookup_ctx;
    cfg->store = env->stats;
    cfg->n_workers = env->n_workers ? env->n_workers : 1;
    pthread_mutex_init(&cfg->stats_lock, NULL);
    cfg->workers = calloc(cfg->n_workers, sizeof *cfg->workers);
    if (cfg->workers == NULL) {
        router_free_config(cfg);
        return -1;
    }
    for (unsigned i = 0; i < cfg->n_workers; i++)
        cfg->workers[i].prng = 0x9E3779B97F4A7C15ull * (i + 1);
    if (env->routes != NULL) {
        size_t n = rs_route_config_cluster_count(env->routes);
        for (size_t i = 0; i < n; i++)
            if (stats_for(cfg, rs_route_config_cluster_name(env->routes, i)) == NULL) {
                router_free_config(cfg);
                return -1;
            }
        if (rs_router_header_formats_build(cfg, env->routes) != 0) {
            router_free_config(cfg);
            return -1;
        }
    }
    out->name = RS_ROUTER_FILTER_NAME;
    out->config = cfg;
    out->free_config = router_free_config;
    out->create = rs_router_filter_create;
    out->on_worker_stop = rs_router_worker_release;
    return 0;
}
