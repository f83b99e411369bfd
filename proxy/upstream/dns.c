/* STRICT_DNS clusters: one resolve target per configured endpoint, each re-resolved on its own
 * timer, as Envoy does. The cluster's host set is the concatenation of every target's hosts. */
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/core/log.h"
#include "proxy/core/loop.h"
#include "proxy/core/timer.h"
#include "proxy/upstream/dns.h"

struct dns_target {
    struct rs_dns_cluster *parent;
    const struct rs_cluster_endpoint *endpoint; /* owned by the cluster's configuration */
    struct rs_timer timer;
    struct rs_dns_query *query; /* in flight, or NULL */
    struct rs_host **hosts;     /* this target's current hosts, one reference each */
    size_t n_hosts;
    bool resolved_once;
};

struct rs_dns_cluster {
    struct rs_cluster *cluster; /* reference held while started */
    struct rs_dns_resolver *resolver;
    struct rs_loop *loop;
    rs_dns_cluster_init_cb on_init;
    void *on_init_arg;
    size_t pending_init; /* targets not resolved once yet */
    size_t n_targets;
    struct dns_target targets[];
};

static void count(struct rs_cluster *c, rs_stat_id id)
{
    if (c->env_.main_shard != NULL && c->env_.stats != NULL)
        rs_stats_inc(c->env_.main_shard, id);
}

static void resolve(struct dns_target *t);

static void on_timer(struct rs_loop *loop, struct rs_timer *timer)
{
    (void)loop;
    resolve((struct dns_target *)((char *)timer - offsetof(struct dns_target, timer)));
}

/* Rebuilds the cluster's set from every target's hosts. */
static void publish(struct rs_dns_cluster *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_targets; i++)
        n += d->targets[i].n_hosts;
    struct rs_host **hosts = calloc(n > 0 ? n : 1, sizeof(*hosts));
    if (hosts == NULL) {
        RS_ERROR("cluster %s: out of memory rebuilding hosts", d->cluster->name);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < d->n_targets; i++) {
        for (size_t j = 0; j < d->targets[i].n_hosts; j++)
            hosts[k++] = rs_host_ref(d->targets[i].hosts[j]);
    }
    struct rs_host_set *set = rs_host_set_new(hosts, n);
    free(hosts);
    if (set == NULL) {
        RS_ERROR("cluster %s: out of memory rebuilding hosts", d->cluster->name);
        return;
    }
    rs_cluster_set_hosts(d->cluster, set);
}

static long find_host(struct rs_host **hosts, size_t n, const struct sockaddr_storage *addr)
{
    for (size_t i = 0; i < n; i++) {
        if (rs_host_addr_equal((const struct sockaddr *)&hosts[i]->addr,
                               (const struct sockaddr *)addr))
            return (long)i;
    }
    return -1;
}

/* Replaces the target's hosts with the answer's addresses, reusing the host objects of addresses
 * already known. Returns 1 if membership changed, 0 if not, -1 on allocation failure. */
static int update_target(struct dns_target *t, const struct rs_dns_result *res)
{
    const struct rs_cluster_endpoint *e = t->endpoint;
    bool changed = res->n_addrs != t->n_hosts;
    struct rs_host **hosts = calloc(res->n_addrs > 0 ? res->n_addrs : 1, sizeof(*hosts));
    if (hosts == NULL)
        return -1;
    for (size_t i = 0; i < res->n_addrs; i++) {
        long old = find_host(t->hosts, t->n_hosts, &res->addrs[i]);
        if (old >= 0) {
            hosts[i] = rs_host_ref(t->hosts[old]);
            continue;
        }
        changed = true;
        socklen_t len = res->addrs[i].ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                           : sizeof(struct sockaddr_in6);
        /* As Envoy, a DNS host's hostname is the name it was resolved from. */
        const char *hostname = e->hostname[0] != '\0' ? e->hostname : e->address;
        hosts[i] = rs_host_new((const struct sockaddr *)&res->addrs[i], len, hostname, e->weight,
                               &e->locality);
        if (hosts[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                rs_host_unref(hosts[j]);
            free(hosts);
            return -1;
        }
    }
    if (!changed) {
        for (size_t i = 0; i < res->n_addrs; i++)
            rs_host_unref(hosts[i]);
        free(hosts);
        return 0;
    }
    for (size_t i = 0; i < t->n_hosts; i++)
        rs_host_unref(t->hosts[i]);
    free(t->hosts);
    t->hosts = hosts;
    t->n_hosts = res->n_addrs;
    return 1;
}

static void on_resolved(void *arg, const struct rs_dns_result *res)
{
    struct dns_target *t = arg;
    struct rs_dns_cluster *d = t->parent;
    struct rs_cluster *c = d->cluster;
    t->query = NULL;

    if (res->status != 0) {
        /* Keep the hosts we had: a resolver hiccup must not empty a working cluster. */
        count(c, c->stats.update_failure);
        RS_WARN("cluster %s: DNS resolution of %s failed: %s", c->name, t->endpoint->address,
                gai_strerror(res->status));
    } else {
        count(c, c->stats.update_success);
        int changed = update_target(t, res);
        if (changed > 0)
            publish(d);
        else if (changed == 0)
            count(c, c->stats.update_no_rebuild);
        else
            RS_ERROR("cluster %s: out of memory applying DNS answer", c->name);
    }

    rs_timer_arm(d->loop, &t->timer, c->dns_refresh_rate_ms);

    if (!t->resolved_once) {
        t->resolved_once = true;
        if (--d->pending_init == 0) {
            c->initialized_ = true;
            if (d->on_init != NULL)
                d->on_init(c, d->on_init_arg);
        }
    }
}

static void resolve(struct dns_target *t)
{
    struct rs_dns_cluster *d = t->parent;
    count(d->cluster, d->cluster->stats.update_attempt);
    t->query = rs_dns_resolve(d->resolver, t->endpoint->address, t->endpoint->port,
                              d->cluster->dns_family, on_resolved, t);
    if (t->query == NULL) {
        RS_ERROR("cluster %s: out of memory queueing DNS lookup", d->cluster->name);
        rs_timer_arm(d->loop, &t->timer, d->cluster->dns_refresh_rate_ms);
    }
}

int rs_dns_cluster_start(struct rs_cluster *c, struct rs_dns_resolver *r, struct rs_loop *loop,
                         rs_dns_cluster_init_cb on_init, void *arg)
{
    struct rs_dns_cluster *d = calloc(1, sizeof(*d) + c->n_endpoints * sizeof(struct dns_target));
    if (d == NULL)
        return -ENOMEM;
    d->cluster = rs_cluster_ref(c);
    d->resolver = r;
    d->loop = loop;
    d->on_init = on_init;
    d->on_init_arg = arg;
    d->n_targets = c->n_endpoints;
    d->pending_init = c->n_endpoints;
    c->dns_ = d;
    for (size_t i = 0; i < d->n_targets; i++) {
        struct dns_target *t = &d->targets[i];
        t->parent = d;
        t->endpoint = &c->endpoints[i];
        rs_timer_init(&t->timer, on_timer);
    }
    if (d->n_targets == 0) {
        c->initialized_ = true;
        if (on_init != NULL)
            on_init(c, arg);
        return 0;
    }
    for (size_t i = 0; i < d->n_targets; i++)
        resolve(&d->targets[i]);
    return 0;
}

void rs_dns_cluster_stop(struct rs_cluster *c)
{
    struct rs_dns_cluster *d = c->dns_;
    if (d == NULL)
        return;
    c->dns_ = NULL;
    for (size_t i = 0; i < d->n_targets; i++) {
        struct dns_target *t = &d->targets[i];
        rs_timer_cancel(d->loop, &t->timer);
        rs_dns_cancel(t->query);
        for (size_t j = 0; j < t->n_hosts; j++)
            rs_host_unref(t->hosts[j]);
        free(t->hosts);
    }
    free(d);
    rs_cluster_unref(c);
}
