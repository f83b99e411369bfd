#include "proxy/net/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rs_listener_register_stats(struct rs_listener *l, struct rs_stats_store *store)
{
    struct rs_listener_stats *s = &l->stats;
    const char *n = l->stat_name;
    s->downstream_cx_total = rs_stats_counterf(store, "listener.%s.downstream_cx_total", n);
    s->downstream_cx_active = rs_stats_gaugef(store, "listener.%s.downstream_cx_active", n);
    s->downstream_cx_destroy = rs_stats_counterf(store, "listener.%s.downstream_cx_destroy", n);
    s->downstream_cx_length_ms =
        rs_stats_histogramf(store, "listener.%s.downstream_cx_length_ms", n);
    s->no_filter_chain_match = rs_stats_counterf(store, "listener.%s.no_filter_chain_match", n);
    s->downstream_cx_overflow = rs_stats_counterf(store, "listener.%s.downstream_cx_overflow", n);
    s->downstream_cx_accept_error =
        rs_stats_counterf(store, "listener.%s.downstream_cx_accept_error", n);
}

int rs_listener_open(struct rs_listener *l, unsigned n_workers, char *err, size_t err_len)
{
    l->fds = malloc(sizeof(int) * n_workers);
    if (l->fds == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    l->n_fds = n_workers;
    for (unsigned i = 0; i < n_workers; i++)
        l->fds[i] = -1;
    if (!l->bind_to_port)
        return 0;
    char where[80];
    rs_address_format(&l->addr, where, sizeof where);
    for (unsigned i = 0; i < n_workers; i++) {
        int fd = socket(l->addr.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, err_len, "listener '%s': socket: %s", l->name, strerror(errno));
            rs_listener_close_fds(l);
            return -errno;
        }
        int one = 1;
        /* One socket per worker, each with its own accept queue: the kernel spreads connections
         * and workers never contend on a shared queue. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (l->addr.sa.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&l->addr.sa, l->addr.len) < 0 || listen(fd, 4096) < 0) {
            int e = errno;
            snprintf(err, err_len, "listener '%s': cannot listen on %s: %s", l->name, where,
                     strerror(e));
            close(fd);
            rs_listener_close_fds(l);
            return -e;
        }
        /* Port 0: every worker's socket must share the port the first one got. */
        if (rs_address_port(&l->addr) == 0) {
            socklen_t len = sizeof l->addr.sa;
            getsockname(fd, (struct sockaddr *)&l->addr.sa, &len);
        }
        l->fds[i] = fd;
    }
    return 0;
}

void rs_listener_close_fds(struct rs_listener *l)
{
    for (unsigned i = 0; i < l->n_fds; i++) {
        if (l->fds[i] >= 0)
            close(l->fds[i]);
        l->fds[i] = -1;
    }
}

/* Candidate narrowing, one criterion at a time as Envoy does: among the chains still in the race,
 * those matching the criterion specifically win over those that leave it unset ("any"); chains
 * whose specific value does not match drop out. */
static int prefix_score(const struct rs_cidr *ranges, unsigned n, const struct rs_address *a)
{
    if (n == 0)
        return 0; /* any */
    int best = -1;
    for (unsigned i = 0; i < n; i++) {
        if (rs_cidr_contains(&ranges[i], a) && ranges[i].prefix_len + 1 > best)
            best = ranges[i].prefix_len + 1;
    }
    return best; /* -1: no match; otherwise longer prefixes score higher */
}

static int port_score(const uint32_t *ports, unsigned n, uint16_t port)
{
    if (n == 0)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        if (ports[i] == port)
            return 1;
    }
    return -1;
}

const struct rs_filter_chain *rs_listener_match_chain(const struct rs_listener *l,
                                                      const struct rs_address *local,
                                                      const struct rs_address *peer)
{
    if (l->n_chains == 0)
        return l->default_chain;
    bool alive[l->n_chains];
    for (unsigned i = 0; i < l->n_chains; i++)
        alive[i] = true;
    uint16_t dport = rs_address_port(local), sport = rs_address_port(peer);
    for (int criterion = 0; criterion < 4; criterion++) {
        int scores[l->n_chains];
        int best = -1;
        for (unsigned i = 0; i < l->n_chains; i++) {
            const struct rs_filter_chain *c = &l->chains[i];
            int s = -1;
            if (alive[i]) {
                switch (criterion) {
                case 0:
                    s = c->destination_port == 0 ? 0 : (c->destination_port == dport ? 1 : -1);
                    break;
                case 1:
                    s = prefix_score(c->prefix_ranges, c->n_prefix_ranges, local);
                    break;
                case 2:
                    s = prefix_score(c->source_prefix_ranges, c->n_source_prefix_ranges, peer);
                    break;
                default:
                    s = port_score(c->source_ports, c->n_source_ports, sport);
                }
            }
            scores[i] = s;
            if (s > best)
                best = s;
        }
        if (best < 0)
            return l->default_chain;
        for (unsigned i = 0; i < l->n_chains; i++)
            alive[i] = alive[i] && scores[i] == best;
    }
    for (unsigned i = 0; i < l->n_chains; i++) {
        if (alive[i])
            return &l->chains[i];
    }
    return l->default_chain;
}

static void free_chain(struct rs_filter_chain *c)
{
    free(c->name);
    free(c->prefix_ranges);
    free(c->source_prefix_ranges);
    free(c->source_ports);
    if (c->filter.free_config)
        c->filter.free_config(c->filter.config);
}

void rs_listener_free(struct rs_listener *l)
{
    if (l == NULL)
        return;
    rs_listener_close_fds(l);
    free(l->fds);
    for (unsigned i = 0; i < l->n_chains; i++)
        free_chain(&l->chains[i]);
    free(l->chains);
    if (l->default_chain) {
        free_chain(l->default_chain);
        free(l->default_chain);
    }
    free(l->name);
    free(l);
}
