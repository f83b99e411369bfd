/* Shared between server.c (lifecycle) and admin_hooks.c (what admin shows and triggers). */
#ifndef RS_SERVER_INTERNAL_H
#define RS_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "proxy/admin/admin.h"
#include "proxy/config/config.h"
#include "proxy/core/loop.h"
#include "proxy/core/qsbr.h"
#include "proxy/core/snapshot.h"
#include "proxy/core/timer.h"
#include "proxy/net/worker.h"
#include "proxy/server.h"
#include "proxy/stats/stats.h"

struct rs_server_stats {
    rs_stat_id live, state, uptime, concurrency, total_connections, version;
    rs_stat_id listener_manager_total_listeners_active, listener_manager_listener_added;
    rs_stat_id cluster_manager_active_clusters;
};

struct rs_server {
    struct rs_server_options opt;
    struct rs_loop *loop;
    struct rs_qsbr *qsbr;
    struct rs_stats_store *stats;
    struct rs_stats_shard *main_shard;
    struct rs_server_stats st;
    struct rs_config *cfg; /* the running config; owned by `published` once workers start */
    struct rs_snapshot_slot published;
    struct rs_worker *workers;
    unsigned n_workers;
    struct rs_admin *admin;
    struct rs_access_log_writer *access_logs; /* owned; outlives every config */
    bool admin_stopped;                       /* the admin's stopped hook ran */

    enum rs_server_state state;
    bool healthcheck_failed;
    bool draining;          /* shutdown started: workers are draining */
    bool listeners_drained; /* /drain_listeners ran */
    uint64_t start_ms;
    uint64_t start_unix;
    uint64_t drain_deadline_ms;
    struct rs_timer tick;

    int signal_fd;
    struct rs_io signal_io;
    struct signalfd_siginfo siginfo;
};

void rs_server_admin_hooks(struct rs_server *s, struct rs_admin_hooks *hooks);
void rs_server_begin_shutdown(struct rs_server *s, const char *why);
void rs_server_drain_listeners(struct rs_server *s);

#endif
