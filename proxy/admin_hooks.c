/* What the admin endpoints show and trigger, from the server's state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "proxy/core/strbuf.h"
#include "proxy/net/listener.h"
#include "proxy/server_internal.h"
#include "proxy/upstream/cluster_manager.h"
#include "proxy/version.h"

static const char *state_name(enum rs_server_state st)
{
    switch (st) {
    case RS_SERVER_LIVE:
        return "LIVE";
    case RS_SERVER_DRAINING:
        return "DRAINING";
    case RS_SERVER_PRE_INITIALIZING:
        return "PRE_INITIALIZING";
    case RS_SERVER_INITIALIZING:
        return "INITIALIZING";
    }
    return "PRE_INITIALIZING";
}

static enum rs_server_state hook_state(void *ctx)
{
    struct rs_server *s = ctx;
    /* /healthcheck/fail makes the server report DRAINING, as Envoy does. */
    if (s->healthcheck_failed && s->state == RS_SERVER_LIVE)
        return RS_SERVER_DRAINING;
    return s->state;
}

static void append_message_json(struct rs_strbuf *out, const ProtobufCMessage *msg)
{
    char err[256];
    char *json = rs_codec_to_json(msg, 0, rs_api_find_type_url, err, sizeof err);
    if (json == NULL) {
        rs_strbuf_puts(out, "null");
        return;
    }
    rs_strbuf_puts(out, json);
    free(json);
}

static void format_time(uint64_t unix_s, char *out, size_t len)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void hook_server_info(void *ctx, struct rs_strbuf *out)
{
    struct rs_server *s = ctx;
    uint64_t uptime = (uint64_t)time(NULL) - s->start_unix;
    rs_strbuf_printf(out, "{\"version\":\"ringside/%s\",\"state\":\"%s\",", RS_VERSION,
                     state_name(hook_state(s)));
    rs_strbuf_printf(out, "\"uptime_current_epoch\":\"%llus\",\"uptime_all_epochs\":\"%llus\",",
                     (unsigned long long)uptime, (unsigned long long)uptime);
    rs_strbuf_puts(out, "\"hot_restart_version\":\"disabled\",\"node\":");
    if (s->cfg->bootstrap->node)
        append_message_json(out, &s->cfg->bootstrap->node->base);
    else
        rs_strbuf_puts(out, "{}");
    rs_strbuf_puts(out, ",\"command_line_options\":{\"config_path\":");
    rs_strbuf_json_string(out, s->opt.config_path ? s->opt.config_path : "");
    rs_strbuf_printf(out,
                     ",\"concurrency\":%u,\"drain_time\":\"%us\",\"service_node\":", s->n_workers,
                     s->opt.drain_time_s);
    rs_strbuf_json_string(out, s->cfg->node_id);
    rs_strbuf_puts(out, ",\"service_cluster\":");
    rs_strbuf_json_string(out, s->cfg->node_cluster);
    rs_strbuf_printf(out, ",\"mode\":\"Serve\"}}\n");
}

static void hook_clusters(void *ctx, bool json, struct rs_strbuf *out)
{
    struct rs_server *s = ctx;
    rs_cluster_manager_render(s->cfg->clusters, json, out);
}

static void hook_listeners(void *ctx, bool json, struct rs_strbuf *out)
{
    struct rs_server *s = ctx;
    if (json)
        rs_strbuf_puts(out, "{\"listener_statuses\":[");
    for (unsigned i = 0; i < s->cfg->n_listeners; i++) {
        const struct rs_listener *l = s->cfg->listeners[i];
        char where[80];
        rs_address_format(&l->addr, where, sizeof where);
        if (!json) {
            rs_strbuf_printf(out, "%s::%s\n", l->name, where);
            continue;
        }
        char *colon = strrchr(where, ':');
        *colon = '\0';
        const char *ip = where[0] == '[' ? where + 1 : where;
        if (where[0] == '[')
            colon[-1] = '\0';
        rs_strbuf_puts(out, i ? "," : "");
        rs_strbuf_puts(out, "{\"name\":");
        rs_strbuf_json_string(out, l->name);
        rs_strbuf_puts(out, ",\"local_address\":{\"socket_address\":{\"address\":");
        rs_strbuf_json_string(out, ip);
        rs_strbuf_printf(out, ",\"port_value\":%u}}}", rs_address_port(&l->addr));
    }
    if (json)
        rs_strbuf_puts(out, "]}\n");
}

static void dump_bootstrap(struct rs_server *s, struct rs_strbuf *out, const char *updated)
{
    rs_strbuf_puts(out, "{\"@type\":\"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\","
                        "\"bootstrap\":");
    append_message_json(out, &s->cfg->bootstrap->base);
    rs_strbuf_printf(out, ",\"last_updated\":\"%s\"}", updated);
}

/* One of Envoy's *ConfigDump sections for static resources: each resource is shown as an Any of
 * its own type, with the time it was loaded. */
struct static_section {
    const char *dump_type; /* "envoy.admin.v3.ClustersConfigDump" */
    const char *list_key;  /* "static_clusters" */
    const char *item_key;  /* "cluster" */
    const char *item_type; /* "envoy.config.cluster.v3.Cluster" */
};

static void dump_static(struct rs_strbuf *out, const struct static_section *sec,
                        ProtobufCMessage *const *items, size_t n, const char *updated)
{
    rs_strbuf_printf(out, "{\"@type\":\"type.googleapis.com/%s\",\"%s\":[", sec->dump_type,
                     sec->list_key);
    for (size_t i = 0; i < n; i++) {
        struct rs_strbuf inner = RS_STRBUF_INIT;
        append_message_json(&inner, items[i]);
        rs_strbuf_printf(out, "%s{\"%s\":{\"@type\":\"type.googleapis.com/%s\"", i ? "," : "",
                         sec->item_key, sec->item_type);
        /* inner is "{...}": splice its fields after @type. */
        if (inner.len > 2)
            rs_strbuf_printf(out, ",%s", inner.data + 1);
        else
            rs_strbuf_puts(out, "}");
        rs_strbuf_free(&inner);
        rs_strbuf_printf(out, ",\"last_updated\":\"%s\"}", updated);
    }
    rs_strbuf_puts(out, "]}");
}

static void dump_clusters(struct rs_server *s, struct rs_strbuf *out, const char *updated)
{
    static const struct static_section sec = {"envoy.admin.v3.ClustersConfigDump",
                                              "static_clusters", "cluster",
                                              "envoy.config.cluster.v3.Cluster"};
    const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr =
        s->cfg->bootstrap->static_resources;
    dump_static(out, &sec, sr ? (ProtobufCMessage *const *)sr->clusters : NULL,
                sr ? sr->n_clusters : 0, updated);
}

static void dump_listeners(struct rs_server *s, struct rs_strbuf *out, const char *updated)
{
    static const struct static_section sec = {"envoy.admin.v3.ListenersConfigDump",
                                              "static_listeners", "listener",
                                              "envoy.config.listener.v3.Listener"};
    const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr =
        s->cfg->bootstrap->static_resources;
    dump_static(out, &sec, sr ? (ProtobufCMessage *const *)sr->listeners : NULL,
                sr ? sr->n_listeners : 0, updated);
}

static int hook_config_dump(void *ctx, const char *resource, struct rs_strbuf *out)
{
    struct rs_server *s = ctx;
    char updated[32];
    format_time(s->start_unix, updated, sizeof updated);
    bool all = resource == NULL || resource[0] == '\0';
    if (!all && strcmp(resource, "bootstrap") != 0 && strcmp(resource, "static_clusters") != 0 &&
        strcmp(resource, "static_listeners") != 0) {
        rs_strbuf_printf(out,
                         "unknown resource '%s': use bootstrap, static_clusters or "
                         "static_listeners\n",
                         resource);
        return 404;
    }
    rs_strbuf_puts(out, "{\"configs\":[");
    bool first = true;
    if (all || strcmp(resource, "bootstrap") == 0) {
        dump_bootstrap(s, out, updated);
        first = false;
    }
    if (all || strcmp(resource, "static_clusters") == 0) {
        rs_strbuf_puts(out, first ? "" : ",");
        dump_clusters(s, out, updated);
        first = false;
    }
    if (all || strcmp(resource, "static_listeners") == 0) {
        rs_strbuf_puts(out, first ? "" : ",");
        dump_listeners(s, out, updated);
    }
    rs_strbuf_puts(out, "]}\n");
    return 200;
}

static void hook_set_hc_failed(void *ctx, bool failed)
{
    struct rs_server *s = ctx;
    s->healthcheck_failed = failed;
    rs_stats_gauge_set(s->main_shard, s->st.live, hook_state(s) == RS_SERVER_LIVE ? 1 : 0);
}

static void hook_drain_listeners(void *ctx, bool graceful, bool inbound_only)
{
    (void)graceful;
    (void)inbound_only;
    rs_server_drain_listeners(ctx);
}

static void hook_quit(void *ctx)
{
    rs_server_begin_shutdown(ctx, "/quitquitquit");
}

/* The admin has freed itself: the server may now free the loop. */
static void hook_stopped(void *ctx)
{
    struct rs_server *s = ctx;
    s->admin_stopped = true;
}

void rs_server_admin_hooks(struct rs_server *s, struct rs_admin_hooks *hooks)
{
    memset(hooks, 0, sizeof *hooks);
    hooks->ctx = s;
    hooks->server_state = hook_state;
    hooks->server_info = hook_server_info;
    hooks->clusters = hook_clusters;
    hooks->listeners = hook_listeners;
    hooks->config_dump = hook_config_dump;
    hooks->set_healthcheck_failed = hook_set_hc_failed;
    hooks->drain_listeners = hook_drain_listeners;
    hooks->quit = hook_quit;
    hooks->stopped = hook_stopped;
}
