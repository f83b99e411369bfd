#include "proxy/server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "proxy/core/log.h"
#include "proxy/http/access_log/writer.h"
#include "proxy/net/listener.h"
#include "proxy/server_internal.h"
#include "proxy/upstream/cluster_manager.h"

#define TICK_MS 100

static uint64_t unix_now(void)
{
    return (uint64_t)time(NULL);
}

static void register_server_stats(struct rs_server *s)
{
    struct rs_server_stats *st = &s->st;
    st->live = rs_stats_gauge(s->stats, "server.live");
    st->state = rs_stats_gauge(s->stats, "server.state");
    st->uptime = rs_stats_gauge(s->stats, "server.uptime");
    st->concurrency = rs_stats_gauge(s->stats, "server.concurrency");
    st->total_connections = rs_stats_gauge(s->stats, "server.total_connections");
    st->version = rs_stats_gauge(s->stats, "server.version");
    st->listener_manager_total_listeners_active =
        rs_stats_gauge(s->stats, "listener_manager.total_listeners_active");
    st->listener_manager_listener_added =
        rs_stats_counter(s->stats, "listener_manager.listener_added");
}

/* Envoy's server.state values: 0 LIVE, 1 DRAINING, 2 PRE_INITIALIZING, 3 INITIALIZING. */
static int64_t state_number(enum rs_server_state st)
{
    switch (st) {
    case RS_SERVER_LIVE:
        return 0;
    case RS_SERVER_DRAINING:
        return 1;
    case RS_SERVER_PRE_INITIALIZING:
        return 2;
    case RS_SERVER_INITIALIZING:
        return 3;
    }
    return 2;
}

static void publish_state(struct rs_server *s)
{
    enum rs_server_state st = s->state;
    if (s->healthcheck_failed && st == RS_SERVER_LIVE)
        st = RS_SERVER_DRAINING;
    rs_stats_gauge_set(s->main_shard, s->st.state, state_number(st));
    rs_stats_gauge_set(s->main_shard, s->st.live, st == RS_SERVER_LIVE ? 1 : 0);
}

static unsigned active_connections(struct rs_server *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n_workers; i++)
        n += atomic_load_explicit(&s->workers[i].n_active_shared, memory_order_relaxed);
    return n;
}

static void on_tick(struct rs_loop *loop, struct rs_timer *t)
{
    struct rs_server *s = (struct rs_server *)((char *)t - offsetof(struct rs_server, tick));
    rs_qsbr_reclaim(s->qsbr);
    rs_stats_gauge_set(s->main_shard, s->st.uptime, (int64_t)(unix_now() - s->start_unix));
    unsigned active = active_connections(s);
    rs_stats_gauge_set(s->main_shard, s->st.total_connections, active);
    if (s->draining) {
        if (active == 0 || rs_loop_now_ms(loop) >= s->drain_deadline_ms) {
            if (active > 0)
                RS_INFO("drain time over: closing %u open connection(s)", active);
            rs_loop_stop(loop);
            return;
        }
    }
    rs_timer_arm(loop, t, TICK_MS);
}

void rs_server_begin_shutdown(struct rs_server *s, const char *why)
{
    if (s->draining)
        return;
    RS_INFO("%s: draining for up to %u s, then exiting", why, s->opt.drain_time_s);
    s->draining = true;
    s->state = RS_SERVER_DRAINING;
    publish_state(s);
    s->drain_deadline_ms = rs_loop_now_ms(s->loop) + (uint64_t)s->opt.drain_time_s * 1000u;
    for (unsigned i = 0; i < s->n_workers; i++)
        rs_worker_post_drain(&s->workers[i], s->loop);
    rs_timer_arm(s->loop, &s->tick, 1);
}

void rs_server_drain_listeners(struct rs_server *s)
{
    if (s->listeners_drained)
        return;
    s->listeners_drained = true;
    RS_INFO("admin: draining listeners");
    for (unsigned i = 0; i < s->n_workers; i++)
        rs_worker_post_drain(&s->workers[i], s->loop);
    rs_stats_gauge_set(s->main_shard, s->st.listener_manager_total_listeners_active, 0);
}

static void arm_signals(struct rs_server *s);

static void on_signal(struct rs_loop *loop, struct rs_io *io, const struct io_uring_cqe *cqe)
{
    (void)loop;
    struct rs_server *s = (struct rs_server *)((char *)io - offsetof(struct rs_server, signal_io));
    if (cqe->res == (int)sizeof s->siginfo) {
        int sig = (int)s->siginfo.ssi_signo;
        if (sig == SIGUSR1) {
            /* Log rotation: files are reopened by the writer thread, as Envoy does on SIGUSR1. */
            RS_INFO("SIGUSR1 received: reopening access log files");
            rs_access_log_writer_reopen(s->access_logs);
        } else {
            rs_server_begin_shutdown(s, sig == SIGTERM ? "SIGTERM received" : "SIGINT received");
        }
    }
    if (!rs_loop_stopping(s->loop))
        arm_signals(s);
}

static void arm_signals(struct rs_server *s)
{
    struct io_uring_sqe *sqe = rs_loop_sqe(s->loop, &s->signal_io);
    io_uring_prep_read(sqe, s->signal_fd, &s->siginfo, sizeof s->siginfo, 0);
}

static void handled_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGUSR1);
}

/* Blocked before any thread starts (workers, DNS, the access log writer) so that every thread
 * inherits the mask and only the signalfd on the main loop sees them. */
static void block_signals(void)
{
    sigset_t set;
    handled_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int setup_signals(struct rs_server *s)
{
    sigset_t set;
    handled_signals(&set);
    s->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->signal_fd < 0) {
        RS_ERROR("signalfd: %s", strerror(errno));
        return -1;
    }
    s->signal_io.cb = on_signal;
    arm_signals(s);
    return 0;
}

static void on_clusters_initialized(void *arg)
{
    struct rs_server *s = arg;
    if (s->state == RS_SERVER_INITIALIZING) {
        s->state = RS_SERVER_LIVE;
        publish_state(s);
        RS_INFO("all clusters initialized: server is LIVE");
    }
}

static int start_workers(struct rs_server *s)
{
    s->workers = calloc(s->n_workers, sizeof *s->workers);
    if (s->workers == NULL)
        return -1;
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct rs_worker *w = &s->workers[i];
        w->id = i;
        w->qsbr = s->qsbr;
        w->stats = rs_stats_shard_new(s->stats);
        w->snapshot_slot = &s->published;
        w->listeners = s->cfg->listeners;
        w->n_listeners = s->cfg->n_listeners;
        if (rs_worker_start(w) < 0) {
            s->n_workers = i;
            return -1;
        }
    }
    return 0;
}

static void stop_workers(struct rs_server *s)
{
    for (unsigned i = 0; i < s->n_workers; i++)
        rs_worker_post_stop(&s->workers[i], s->loop);
    for (unsigned i = 0; i < s->n_workers; i++)
        rs_worker_join(&s->workers[i]);
    free(s->workers);
    s->workers = NULL;
}

static void free_config(void *cfg)
{
    rs_config_free(cfg);
}

static struct rs_config *load_config(struct rs_server *s, char *err, size_t err_len)
{
    struct rs_config_env env = {
        .main_loop = s->loop,
        .n_workers = s->n_workers,
        .qsbr = s->qsbr,
        .stats = s->stats,
        .main_shard = s->main_shard,
        .service_node = s->opt.service_node,
        .service_cluster = s->opt.service_cluster,
        .access_log_writer = s->access_logs,
    };
    if (s->opt.config_path)
        return rs_config_load_file(s->opt.config_path, &env, err, err_len);
    return rs_config_load_text(s->opt.config_yaml, strlen(s->opt.config_yaml), &env, err, err_len);
}

static int open_listeners(struct rs_server *s, char *err, size_t err_len)
{
    for (unsigned i = 0; i < s->cfg->n_listeners; i++) {
        struct rs_listener *l = s->cfg->listeners[i];
        if (rs_listener_open(l, s->n_workers, err, err_len) < 0)
            return -1;
        rs_stats_inc(s->main_shard, s->st.listener_manager_listener_added);
        char where[80];
        rs_address_format(&l->addr, where, sizeof where);
        RS_INFO("listener '%s' on %s%s", l->name, where, l->bind_to_port ? "" : " (not bound)");
    }
    rs_stats_gauge_set(s->main_shard, s->st.listener_manager_total_listeners_active,
                       s->cfg->n_listeners);
    return 0;
}

static int start_admin(struct rs_server *s, char *err, size_t err_len)
{
    if (!s->cfg->has_admin)
        return 0;
    struct rs_admin_hooks hooks;
    rs_server_admin_hooks(s, &hooks);
    s->admin = rs_admin_start(s->loop, (const struct sockaddr *)&s->cfg->admin_addr.sa,
                              s->cfg->admin_addr.len, s->stats, &hooks, err, err_len);
    if (s->admin == NULL)
        return -1;
    char where[80];
    rs_address_format(&s->cfg->admin_addr, where, sizeof where);
    RS_INFO("admin on %s", where);
    return 0;
}

static void cleanup(struct rs_server *s)
{
    if (s->admin) {
        rs_admin_stop(s->admin);
        /* The admin frees itself once its operations complete: the loop must outlive them. */
        for (int i = 0; i < 200 && !s->admin_stopped; i++)
            rs_loop_run_once(s->loop, 5);
        s->admin = NULL;
    }
    if (s->cfg && s->cfg->clusters) {
        rs_cluster_manager_stop(s->cfg->clusters);
        rs_loop_run_once(s->loop, 0); /* frees DNS results and snapshots posted to us */
    }
    if (atomic_load(&s->published.current) != NULL)
        rs_snapshot_clear(&s->published); /* the last reference: frees the config */
    else
        rs_config_free(s->cfg);
    s->cfg = NULL;
    if (s->signal_fd >= 0)
        close(s->signal_fd);
    rs_qsbr_reclaim(s->qsbr);
    /* After the config: its loggers hold files of the writer. Flushes what is buffered. */
    rs_access_log_writer_free(s->access_logs);
    rs_loop_free(s->loop);
    rs_qsbr_free(s->qsbr);
    rs_stats_store_free(s->stats);
}

int rs_server_run(const struct rs_server_options *opt)
{
    struct rs_server srv, *s = &srv;
    memset(s, 0, sizeof *s);
    s->opt = *opt;
    s->signal_fd = -1;
    s->n_workers = opt->concurrency;
    s->start_unix = unix_now();
    s->state = RS_SERVER_PRE_INITIALIZING;
    char err[2048];
    const char *what = opt->config_path ? opt->config_path : "--config-yaml";

    block_signals();
    s->qsbr = rs_qsbr_new();
    s->stats = rs_stats_store_new();
    struct rs_loop_options lopt = {.buf_count = 0, .name = "main"};
    s->loop = rs_loop_new(&lopt, err, sizeof err);
    if (s->qsbr == NULL || s->stats == NULL || s->loop == NULL) {
        fprintf(stderr, "ringside-proxy: cannot start: %s\n", s->loop ? "out of memory" : err);
        return 1;
    }
    s->main_shard = rs_stats_shard_new(s->stats);
    register_server_stats(s);
    s->access_logs = rs_access_log_writer_new(s->n_workers, NULL, s->stats, err, sizeof err);
    if (s->access_logs == NULL) {
        fprintf(stderr, "ringside-proxy: cannot start the access log writer: %s\n", err);
        cleanup(s);
        return 1;
    }
    publish_state(s);
    s->cfg = load_config(s, err, sizeof err);
    if (s->cfg == NULL) {
        fprintf(stderr, "error initializing configuration '%s': %s\n", what, err);
        cleanup(s);
        return 1;
    }
    if (opt->validate_only) {
        printf("configuration '%s' OK\n", what);
        cleanup(s);
        return 0;
    }
    rs_stats_gauge_set(s->main_shard, s->st.concurrency, s->n_workers);
    s->start_ms = rs_loop_now_ms(s->loop);
    rs_timer_init(&s->tick, on_tick);
    int rc = 1;
    if (setup_signals(s) < 0)
        goto out;
    if (open_listeners(s, err, sizeof err) < 0 || start_admin(s, err, sizeof err) < 0) {
        fprintf(stderr, "ringside-proxy: %s\n", err);
        goto out;
    }
    struct rs_snapshot *snap = rs_snapshot_new(s->cfg, free_config, s->loop, 1);
    if (snap == NULL) {
        fprintf(stderr, "ringside-proxy: out of memory\n");
        goto out;
    }
    rs_snapshot_publish(&s->published, snap, s->qsbr);
    if (start_workers(s) < 0) {
        fprintf(stderr, "ringside-proxy: cannot start workers\n");
        stop_workers(s);
        goto out;
    }
    s->state = RS_SERVER_INITIALIZING;
    publish_state(s);
    if (rs_cluster_manager_start(s->cfg->clusters, on_clusters_initialized, s, err, sizeof err) <
        0) {
        fprintf(stderr, "ringside-proxy: %s\n", err);
        stop_workers(s);
        goto out;
    }
    rs_timer_arm(s->loop, &s->tick, TICK_MS);
    RS_INFO("ringside-proxy started with %u worker(s)", s->n_workers);
    rc = rs_loop_run(s->loop) == 0 ? 0 : 1;
    stop_workers(s);
    RS_INFO("exiting");
out:
    cleanup(s);
    return rc;
}
