/* Listeners: their sockets (one SO_REUSEPORT socket per worker, opened by the main thread so that a
 * bind error fails start-up), filter chains and filter-chain matching. A listener is immutable once
 * built and belongs to a config snapshot. */
#ifndef RS_NET_LISTENER_H
#define RS_NET_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/net/address.h"
#include "proxy/stats/stats.h"

struct rs_worker;
struct rs_snapshot;
struct rs_listener;
struct rs_filter_chain;

/* What a network filter receives for each connection: from then on it owns fd. */
struct rs_accepted {
    int fd;
    struct rs_address peer;
    struct rs_address local; /* the original destination when the connection was redirected */
    const struct rs_listener *listener;
    const struct rs_filter_chain *chain;
    /* A reference on the configuration the listener belongs to: the filter takes it over and
     * drops it when the connection ends, so the connection keeps its config across updates. */
    struct rs_snapshot *snapshot;
};

/* The terminal network filter of a chain (tcp_proxy now, the HTTP connection manager later). */
struct rs_network_filter {
    const char *name;
    void *config; /* owned: freed with free_config */
    void (*free_config)(void *config);
    void (*on_accept)(struct rs_worker *w, void *config, const struct rs_accepted *a);
    /* Optional: the worker is stopping (no connection left, loop still running): release what
     * the filter keeps per worker, on that worker's thread. */
    void (*on_worker_stop)(struct rs_worker *w, void *config);
};

struct rs_filter_chain {
    char *name;
    /* filter_chain_match; zero counts mean "any". */
    uint32_t destination_port; /* 0 = any */
    struct rs_cidr *prefix_ranges;
    unsigned n_prefix_ranges;
    struct rs_cidr *source_prefix_ranges;
    unsigned n_source_prefix_ranges;
    uint32_t *source_ports;
    unsigned n_source_ports;
    struct rs_network_filter filter;
};

struct rs_listener_stats {
    rs_stat_id downstream_cx_total;
    rs_stat_id downstream_cx_active;
    rs_stat_id downstream_cx_destroy;
    rs_stat_id downstream_cx_length_ms;
    rs_stat_id no_filter_chain_match;
    rs_stat_id downstream_cx_overflow;
    rs_stat_id downstream_cx_accept_error;
};

struct rs_listener {
    char *name;
    struct rs_address addr;
    char stat_name[64]; /* "10.0.0.1_80": stats are listener.<stat_name>.* */
    bool bind_to_port;
    bool use_original_dst;    /* hand connections to the listener owning the original dst */
    bool original_dst_filter; /* envoy.filters.listener.original_dst */
    uint32_t buffer_limit;    /* per_connection_buffer_limit_bytes */
    struct rs_filter_chain *chains;
    unsigned n_chains;
    struct rs_filter_chain *default_chain; /* may be NULL */
    struct rs_listener_stats stats;
    int *fds; /* one per worker, -1 when not bound; owned */
    unsigned n_fds;
};

void rs_listener_register_stats(struct rs_listener *l, struct rs_stats_store *store);
/* Opens n_workers listening sockets (none when bind_to_port is false). */
int rs_listener_open(struct rs_listener *l, unsigned n_workers, char *err, size_t err_len);
void rs_listener_close_fds(struct rs_listener *l);
/* Envoy's filter chain selection: destination port, then destination IP (longest prefix), then
 * source IP (longest prefix), then source port; at each step an exact criterion beats "any".
 * Falls back to default_chain; NULL when nothing matches. */
const struct rs_filter_chain *rs_listener_match_chain(const struct rs_listener *l,
                                                      const struct rs_address *local,
                                                      const struct rs_address *peer);
void rs_listener_free(struct rs_listener *l);

#endif
