/* The cluster manager: owns the bootstrap's static clusters by name, drives STRICT_DNS resolution
 * on the main loop, tells when every cluster is initialised (so the server can go LIVE after the
 * first DNS round, as Envoy's init manager does), and renders admin /clusters.
 *
 * Main thread only, except rs_cluster_manager_find which is safe from any thread once
 * rs_cluster_manager_new returned (the table is immutable). */
#ifndef RS_UPSTREAM_CLUSTER_MANAGER_H
#define RS_UPSTREAM_CLUSTER_MANAGER_H

#include <stdbool.h>
#include <stddef.h>

#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "proxy/upstream/cluster.h"

struct rs_loop;
struct rs_qsbr;
struct rs_stats_store;
struct rs_stats_shard;
struct rs_strbuf;
struct rs_cluster_manager;

struct rs_cluster_manager_options {
    struct rs_loop *main_loop;         /* DNS results and refresh timers run here */
    unsigned n_workers;                /* per-worker LB slots in every cluster */
    struct rs_qsbr *qsbr;              /* retires replaced host sets (NULL only in tests) */
    struct rs_stats_store *stats;      /* NULL: no stats */
    struct rs_stats_shard *main_shard; /* the main thread's shard */
};

/* Builds every cluster of `clusters` (bootstrap static_resources.clusters). `path` names the list
 * for errors ("static_resources.clusters"); an error in the second cluster reads
 * "static_resources.clusters[1].type: EDS is not supported yet". Duplicate names are rejected.
 * Returns NULL with err set on any error (nothing is kept: a config is accepted whole or not). */
struct rs_cluster_manager *
rs_cluster_manager_new(const struct rs_cluster_manager_options *opt,
                       Envoy__Config__Cluster__V3__Cluster *const *clusters, size_t n_clusters,
                       const char *path, char *err, size_t err_len);

/* Starts DNS for STRICT_DNS clusters. on_initialized(arg) runs once on the main loop when every
 * cluster has its first host set; if nothing needs resolving it runs before this returns. Returns
 * 0, or -1 with err set (resolver thread could not start). */
int rs_cluster_manager_start(struct rs_cluster_manager *cm, void (*on_initialized)(void *arg),
                             void *arg, char *err, size_t err_len);
bool rs_cluster_manager_initialized(const struct rs_cluster_manager *cm);
/* Stops DNS (timers, queries, the resolver thread). Hosts stay as they were. Idempotent. */
void rs_cluster_manager_stop(struct rs_cluster_manager *cm);
/* Stops if needed and drops the manager's cluster references (snapshots may keep clusters). */
void rs_cluster_manager_free(struct rs_cluster_manager *cm);

/* Borrowed pointer (valid while cm lives); take rs_cluster_ref to keep it longer. NULL if absent.
 */
struct rs_cluster *rs_cluster_manager_find(const struct rs_cluster_manager *cm, const char *name);
size_t rs_cluster_manager_count(const struct rs_cluster_manager *cm);
/* Clusters in configuration order. */
struct rs_cluster *rs_cluster_manager_at(const struct rs_cluster_manager *cm, size_t i);

/* Admin /clusters: Envoy's text format ("backend::127.0.0.1:8080::cx_active::0" lines), or with
 * json the shape of envoy.admin.v3.Clusters. Appends to out. Main thread. */
void rs_cluster_manager_render(struct rs_cluster_manager *cm, bool json, struct rs_strbuf *out);

#endif
