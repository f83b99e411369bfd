/* The running configuration built from an Envoy v3 bootstrap: validated whole (any error rejects it
 * with the field's path), then turned into listeners and clusters. Immutable once built; the proto
 * is kept for /config_dump. */
#ifndef RS_CONFIG_CONFIG_H
#define RS_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "proxy/net/address.h"

struct rs_listener;
struct rs_cluster;
struct rs_cluster_manager;
struct rs_loop;
struct rs_access_log_writer;
struct rs_qsbr;
struct rs_stats_store;
struct rs_stats_shard;

struct rs_config_env {
    struct rs_loop *main_loop; /* DNS for STRICT_DNS clusters runs here */
    unsigned n_workers;
    struct rs_qsbr *qsbr;
    struct rs_stats_store *stats;
    struct rs_stats_shard *main_shard;
    const char *service_node;    /* --service-node: overrides node.id */
    const char *service_cluster; /* --service-cluster: overrides node.cluster */
    /* Where access logs go (one writer thread per process); NULL: access_log entries are
     * refused. */
    struct rs_access_log_writer *access_log_writer;
};

struct rs_config {
    Envoy__Config__Bootstrap__V3__Bootstrap *bootstrap; /* owned */
    struct rs_listener **listeners;                     /* owned */
    unsigned n_listeners;
    struct rs_cluster_manager *clusters; /* owned */
    bool has_admin;
    struct rs_address admin_addr;
    const char *node_id;      /* points into bootstrap or env */
    const char *node_cluster; /* idem */
};

/* Reads, parses and validates a bootstrap file (YAML or JSON). NULL with the reason in err. */
struct rs_config *rs_config_load_file(const char *path, const struct rs_config_env *env, char *err,
                                      size_t err_len);
/* Same from text (--config-yaml). */
struct rs_config *rs_config_load_text(const char *text, size_t len, const struct rs_config_env *env,
                                      char *err, size_t err_len);
struct rs_cluster *rs_config_find_cluster(const struct rs_config *cfg, const char *name);
void rs_config_free(struct rs_config *cfg);

#endif
