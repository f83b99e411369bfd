#include "proxy/upstream/cluster_manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/core/log.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/dns.h"

struct rs_cluster_manager {
    struct rs_cluster_manager_options opt;
    size_t n;
    struct rs_cluster **clusters; /* configuration order, one reference each */
    struct rs_cluster **by_name;  /* sorted by name, for find */
    struct rs_dns_resolver *resolver;
    bool started;
    bool starting;       /* inside rs_cluster_manager_start: defer on_initialized to its end */
    size_t pending_init; /* clusters not initialised yet */
    bool init_reported;
    void (*on_initialized)(void *arg);
    void *on_initialized_arg;

    rs_stat_id active_clusters;
    rs_stat_id cluster_added;
};

static int by_name_cmp(const void *a, const void *b)
{
    const struct rs_cluster *x = *(struct rs_cluster *const *)a;
    const struct rs_cluster *y = *(struct rs_cluster *const *)b;
    return strcmp(x->name, y->name);
}

static void free_clusters(struct rs_cluster_manager *cm)
{
    for (size_t i = 0; i < cm->n; i++)
        rs_cluster_unref(cm->clusters[i]);
    free(cm->clusters);
    free(cm->by_name);
    cm->clusters = cm->by_name = NULL;
    cm->n = 0;
}

struct rs_cluster_manager *
rs_cluster_manager_new(const struct rs_cluster_manager_options *opt,
                       Envoy__Config__Cluster__V3__Cluster *const *clusters, size_t n_clusters,
                       const char *path, char *err, size_t err_len)
{
    struct rs_cluster_manager *cm = calloc(1, sizeof(*cm));
    if (cm == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    cm->opt = *opt;
    cm->clusters = calloc(n_clusters > 0 ? n_clusters : 1, sizeof(*cm->clusters));
    cm->by_name = calloc(n_clusters > 0 ? n_clusters : 1, sizeof(*cm->by_name));
    if (cm->clusters == NULL || cm->by_name == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        rs_cluster_manager_free(cm);
        return NULL;
    }

    struct rs_cluster_env env = {
        .n_workers = opt->n_workers,
        .qsbr = opt->qsbr,
        .stats = opt->stats,
        .main_shard = opt->main_shard,
    };
    char p[256];
    for (size_t i = 0; i < n_clusters; i++) {
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        struct rs_cluster *c = rs_cluster_new(clusters[i], p, &env, err, err_len);
        if (c == NULL) {
            rs_cluster_manager_free(cm);
            return NULL;
        }
        cm->clusters[cm->n] = c;
        cm->by_name[cm->n] = c;
        cm->n++;
    }
    qsort(cm->by_name, cm->n, sizeof(*cm->by_name), by_name_cmp);
    for (size_t i = 1; i < cm->n; i++) {
        if (strcmp(cm->by_name[i - 1]->name, cm->by_name[i]->name) == 0) {
            /* Name the second occurrence in configuration order. */
            size_t second = 0;
            for (size_t j = 0, seen = 0; j < cm->n; j++) {
                if (strcmp(cm->clusters[j]->name, cm->by_name[i]->name) == 0 && seen++ == 1)
                    second = j;
            }
            snprintf(err, err_len, "%s[%zu].name: duplicate cluster '%s'", path, second,
                     cm->by_name[i]->name);
            rs_cluster_manager_free(cm);
            return NULL;
        }
    }

    if (opt->stats != NULL && opt->main_shard != NULL) {
        cm->active_clusters = rs_stats_gauge(opt->stats, "cluster_manager.active_clusters");
        cm->cluster_added = rs_stats_counter(opt->stats, "cluster_manager.cluster_added");
        if (cm->active_clusters != RS_STAT_INVALID)
            rs_stats_gauge_set(opt->main_shard, cm->active_clusters, (int64_t)cm->n);
        if (cm->cluster_added != RS_STAT_INVALID)
            rs_stats_add(opt->main_shard, cm->cluster_added, cm->n);
    }
    return cm;
}

static void maybe_report_init(struct rs_cluster_manager *cm)
{
    if (cm->starting || cm->pending_init > 0 || cm->init_reported)
        return;
    cm->init_reported = true;
    RS_INFO("cluster manager: all %zu clusters initialized", cm->n);
    if (cm->on_initialized != NULL)
        cm->on_initialized(cm->on_initialized_arg);
}

static void on_cluster_init(struct rs_cluster *c, void *arg)
{
    struct rs_cluster_manager *cm = arg;
    RS_DEBUG("cluster %s initialized", c->name);
    cm->pending_init--;
    maybe_report_init(cm);
}

int rs_cluster_manager_start(struct rs_cluster_manager *cm, void (*on_initialized)(void *arg),
                             void *arg, char *err, size_t err_len)
{
    if (cm->started) {
        snprintf(err, err_len, "cluster manager: already started");
        return -1;
    }
    cm->on_initialized = on_initialized;
    cm->on_initialized_arg = arg;
    cm->pending_init = 0;
    for (size_t i = 0; i < cm->n; i++) {
        if (!rs_cluster_initialized(cm->clusters[i]))
            cm->pending_init++;
    }
    if (cm->pending_init > 0) {
        cm->resolver = rs_dns_resolver_new(cm->opt.main_loop, err, err_len);
        if (cm->resolver == NULL)
            return -1;
    }
    cm->started = true;
    cm->starting = true;
    for (size_t i = 0; i < cm->n; i++) {
        struct rs_cluster *c = cm->clusters[i];
        if (c->type != RS_CLUSTER_STRICT_DNS || rs_cluster_initialized(c))
            continue;
        if (rs_dns_cluster_start(c, cm->resolver, cm->opt.main_loop, on_cluster_init, cm) != 0) {
            snprintf(err, err_len, "cluster %s: out of memory starting DNS", c->name);
            cm->starting = false;
            rs_cluster_manager_stop(cm);
            return -1;
        }
    }
    cm->starting = false;
    maybe_report_init(cm);
    return 0;
}

bool rs_cluster_manager_initialized(const struct rs_cluster_manager *cm)
{
    return cm->started && cm->pending_init == 0;
}

void rs_cluster_manager_stop(struct rs_cluster_manager *cm)
{
    if (!cm->started)
        return;
    for (size_t i = 0; i < cm->n; i++)
        rs_dns_cluster_stop(cm->clusters[i]);
    rs_dns_resolver_free(cm->resolver);
    cm->resolver = NULL;
    cm->started = false;
}

void rs_cluster_manager_free(struct rs_cluster_manager *cm)
{
    if (cm == NULL)
        return;
    rs_cluster_manager_stop(cm);
    free_clusters(cm);
    free(cm);
}

struct rs_cluster *rs_cluster_manager_find(const struct rs_cluster_manager *cm, const char *name)
{
    size_t lo = 0, hi = cm->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(cm->by_name[mid]->name, name);
        if (r == 0)
            return cm->by_name[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t rs_cluster_manager_count(const struct rs_cluster_manager *cm)
{
    return cm->n;
}

struct rs_cluster *rs_cluster_manager_at(const struct rs_cluster_manager *cm, size_t i)
{
    return i < cm->n ? cm->clusters[i] : NULL;
}
