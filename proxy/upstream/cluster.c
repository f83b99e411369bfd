#include "proxy/upstream/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/core/log.h"
#include "proxy/core/qsbr.h"
#include "proxy/upstream/cluster_config.h"
#include "proxy/upstream/lb_internal.h"

const char *rs_cluster_type_name(enum rs_cluster_type t)
{
    switch (t) {
    case RS_CLUSTER_STATIC:
        return "STATIC";
    case RS_CLUSTER_STRICT_DNS:
        return "STRICT_DNS";
    case RS_CLUSTER_ORIGINAL_DST:
        return "ORIGINAL_DST";
    }
    return "?";
}

const char *rs_cluster_lb_policy_name(enum rs_lb_policy p)
{
    switch (p) {
    case RS_LB_ROUND_ROBIN:
        return "ROUND_ROBIN";
    case RS_LB_LEAST_REQUEST:
        return "LEAST_REQUEST";
    case RS_LB_RANDOM:
        return "RANDOM";
    case RS_LB_CLUSTER_PROVIDED:
        return "CLUSTER_PROVIDED";
    }
    return "?";
}

/* STATIC: endpoints are IP literals (validated), so the host set is known at creation. */
static struct rs_host_set *static_hosts(const struct rs_cluster *c)
{
    struct rs_host **hosts = calloc(c->n_endpoints > 0 ? c->n_endpoints : 1, sizeof(*hosts));
    if (hosts == NULL)
        return NULL;
    for (size_t i = 0; i < c->n_endpoints; i++) {
        const struct rs_cluster_endpoint *e = &c->endpoints[i];
        struct sockaddr_storage ss;
        socklen_t len;
        rs_cluster_parse_ip(e->address, e->port, &ss, &len);
        hosts[i] = rs_host_new((struct sockaddr *)&ss, len, e->hostname, e->weight, &e->locality);
        if (hosts[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                rs_host_unref(hosts[j]);
            free(hosts);
            return NULL;
        }
    }
    struct rs_host_set *set = rs_host_set_new(hosts, c->n_endpoints);
    free(hosts);
    return set;
}

static void free_cluster(struct rs_cluster *c)
{
    rs_host_set_free(atomic_load_explicit(&c->hosts_, memory_order_relaxed));
    rs_lb_workers_free(c->lb_, c->n_workers_);
    rs_cluster_config_clear(c);
    free(c);
}

struct rs_cluster *rs_cluster_new(const Envoy__Config__Cluster__V3__Cluster *pb, const char *path,
                                  const struct rs_cluster_env *env, char *err, size_t err_len)
{
    struct rs_cluster *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    atomic_init(&c->refs_, 1);
    if (env != NULL)
        c->env_ = *env;
    c->n_workers_ = c->env_.n_workers > 0 ? c->env_.n_workers : 1;

    if (!rs_cluster_config_parse(c, pb, path, err, err_len)) {
        free_cluster(c);
        return NULL;
    }
    if (!rs_cluster_stats_register(c->env_.stats, c->name, &c->stats)) {
        snprintf(err, err_len, "%s: cannot register the stats of cluster '%s'", path, c->name);
        free_cluster(c);
        return NULL;
    }
    c->lb_ = rs_lb_workers_new(c->n_workers_);
    struct rs_host_set *set =
        c->type == RS_CLUSTER_STATIC ? static_hosts(c) : rs_host_set_new(NULL, 0);
    if (c->lb_ == NULL || set == NULL) {
        rs_host_set_free(set);
        snprintf(err, err_len, "%s: out of memory", path);
        free_cluster(c);
        return NULL;
    }
    set->generation = ++c->generation_;
    atomic_init(&c->hosts_, set);
    /* Only DNS clusters learn their hosts later (dns.c sets this after the first round). */
    c->initialized_ = c->type != RS_CLUSTER_STRICT_DNS;

    struct rs_stats_shard *shard = c->env_.main_shard;
    if (shard != NULL && c->env_.stats != NULL) {
        rs_stats_gauge_set(shard, c->stats.membership_total, (int64_t)set->n_hosts);
        rs_stats_gauge_set(shard, c->stats.membership_healthy, (int64_t)set->n_healthy);
        rs_stats_gauge_set(shard, c->stats.max_host_weight, set->max_weight);
        /* As Envoy, the initial membership of a static cluster counts as a change. */
        if (set->n_hosts > 0)
            rs_stats_inc(shard, c->stats.membership_change);
    }
    return c;
}

struct rs_cluster *rs_cluster_ref(struct rs_cluster *c)
{
    atomic_fetch_add_explicit(&c->refs_, 1, memory_order_relaxed);
    return c;
}

void rs_cluster_unref(struct rs_cluster *c)
{
    if (c == NULL)
        return;
    if (atomic_fetch_sub_explicit(&c->refs_, 1, memory_order_acq_rel) == 1)
        free_cluster(c);
}

/* Same addresses, in any order (a reordered DNS answer is not a membership change). */
static bool same_members(const struct rs_host_set *a, const struct rs_host_set *b)
{
    if (a->n_hosts != b->n_hosts)
        return false;
    for (size_t i = 0; i < a->n_hosts; i++) {
        if (rs_host_set_find(b, (const struct sockaddr *)&a->hosts[i]->addr) < 0)
            return false;
    }
    return true;
}

static void retire_set(void *p)
{
    rs_host_set_free(p);
}

void rs_cluster_set_hosts(struct rs_cluster *c, struct rs_host_set *set)
{
    set->generation = ++c->generation_;
    struct rs_host_set *old = atomic_exchange_explicit(&c->hosts_, set, memory_order_acq_rel);
    bool changed = !same_members(old, set);
    /* Workers may still be iterating the old set in their current loop turn. */
    if (c->env_.qsbr != NULL)
        rs_qsbr_retire(c->env_.qsbr, old, retire_set);
    else
        rs_host_set_free(old);

    struct rs_stats_shard *shard = c->env_.main_shard;
    if (shard != NULL && c->env_.stats != NULL) {
        if (changed)
            rs_stats_inc(shard, c->stats.membership_change);
        rs_stats_gauge_set(shard, c->stats.membership_total, (int64_t)set->n_hosts);
        rs_stats_gauge_set(shard, c->stats.membership_healthy, (int64_t)set->n_healthy);
        rs_stats_gauge_set(shard, c->stats.max_host_weight, set->max_weight);
    }
    RS_DEBUG("cluster %s: %zu hosts (generation %llu)", c->name, set->n_hosts,
             (unsigned long long)set->generation);
}
