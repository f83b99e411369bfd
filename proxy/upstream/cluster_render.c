/* Admin /clusters rendering: Envoy's text lines and the JSON shape of envoy.admin.v3.Clusters
 * (proto3 JSON: default values omitted, uint64 as strings). Circuit-breaker thresholds are Envoy's
 * defaults until circuit breakers are configurable. ORIGINAL_DST hosts live in per-worker maps and
 * are not listed. */
#include <arpa/inet.h>
#include <stdio.h>

#include "proxy/core/strbuf.h"
#include "proxy/upstream/cluster_manager.h"

struct threshold {
    const char *priority;      /* text name */
    const char *json_priority; /* NULL for DEFAULT (omitted in proto3 JSON) */
};

static const struct threshold thresholds[] = {
    {"default_priority", NULL},
    {"high_priority", "HIGH"},
};

#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_MAX_PENDING 1024
#define DEFAULT_MAX_REQUESTS 1024
#define DEFAULT_MAX_RETRIES 3

struct host_stat {
    const char *name;
    bool gauge;
    size_t offset; /* into struct rs_host_stats */
};

/* Text order is by name; JSON lists counters then gauges, as Envoy does. */
static const struct host_stat host_stats_by_name[] = {
    {"cx_active", true, offsetof(struct rs_host_stats, cx_active)},
    {"cx_connect_fail", false, offsetof(struct rs_host_stats, cx_connect_fail)},
    {"cx_total", false, offsetof(struct rs_host_stats, cx_total)},
    {"rq_active", true, offsetof(struct rs_host_stats, rq_active)},
    {"rq_error", false, offsetof(struct rs_host_stats, rq_error)},
    {"rq_success", false, offsetof(struct rs_host_stats, rq_success)},
    {"rq_timeout", false, offsetof(struct rs_host_stats, rq_timeout)},
    {"rq_total", false, offsetof(struct rs_host_stats, rq_total)},
};
#define N_HOST_STATS (sizeof(host_stats_by_name) / sizeof(host_stats_by_name[0]))

static long long host_stat_value(const struct rs_host *h, const struct host_stat *s)
{
    const char *base = (const char *)&h->stats + s->offset;
    if (s->gauge)
        return (long long)atomic_load_explicit((_Atomic int64_t *)base, memory_order_relaxed);
    return (long long)atomic_load_explicit((_Atomic uint64_t *)base, memory_order_relaxed);
}

static const struct {
    uint32_t flag;
    const char *name;
} health_flag_names[] = {
    {RS_HOST_FAILED_ACTIVE_HC, "failed_active_hc"},
    {RS_HOST_FAILED_OUTLIER_CHECK, "failed_outlier_check"},
    {RS_HOST_FAILED_EDS_HEALTH, "failed_eds_health"},
    {RS_HOST_DEGRADED_ACTIVE_HC, "degraded_active_hc"},
    {RS_HOST_DEGRADED_EDS_HEALTH, "degraded_eds_health"},
    {RS_HOST_PENDING_DYNAMIC_REMOVAL, "pending_dynamic_removal"},
    {RS_HOST_PENDING_ACTIVE_HC, "pending_active_hc"},
    {RS_HOST_EXCLUDED_VIA_IMMEDIATE_HC_FAIL, "excluded_via_immediate_hc_fail"},
    {RS_HOST_ACTIVE_HC_TIMEOUT, "active_hc_timeout"},
};

static void render_text_host(const char *cluster, const struct rs_host *h, struct rs_strbuf *out)
{
    const char *a = h->addr_str;
    for (size_t i = 0; i < N_HOST_STATS; i++)
        rs_strbuf_printf(out, "%s::%s::%s::%lld\n", cluster, a, host_stats_by_name[i].name,
                         host_stat_value(h, &host_stats_by_name[i]));
    rs_strbuf_printf(out, "%s::%s::hostname::%s\n", cluster, a, h->hostname);
    uint32_t flags = atomic_load_explicit(&h->health_flags, memory_order_relaxed);
    rs_strbuf_printf(out, "%s::%s::health_flags::", cluster, a);
    if (flags == 0) {
        rs_strbuf_puts(out, "healthy");
    } else {
        for (size_t i = 0; i < sizeof(health_flag_names) / sizeof(health_flag_names[0]); i++) {
            if (flags & health_flag_names[i].flag)
                rs_strbuf_printf(out, "/%s", health_flag_names[i].name);
        }
    }
    rs_strbuf_puts(out, "\n");
    rs_strbuf_printf(out, "%s::%s::weight::%u\n", cluster, a, h->weight);
    rs_strbuf_printf(out, "%s::%s::region::%s\n", cluster, a, h->locality.region);
    rs_strbuf_printf(out, "%s::%s::zone::%s\n", cluster, a, h->locality.zone);
    rs_strbuf_printf(out, "%s::%s::sub_zone::%s\n", cluster, a, h->locality.sub_zone);
    rs_strbuf_printf(out, "%s::%s::canary::false\n", cluster, a);
    rs_strbuf_printf(out, "%s::%s::priority::0\n", cluster, a);
    rs_strbuf_printf(out, "%s::%s::success_rate::-1\n", cluster, a);
    rs_strbuf_printf(out, "%s::%s::local_origin_success_rate::-1\n", cluster, a);
}

static void render_text(const struct rs_cluster *c, struct rs_strbuf *out)
{
    const char *n = c->name;
    rs_strbuf_printf(out, "%s::observability_name::%s\n", n, n);
    for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]); i++) {
        const char *p = thresholds[i].priority;
        rs_strbuf_printf(out, "%s::%s::max_connections::%d\n", n, p, DEFAULT_MAX_CONNECTIONS);
        rs_strbuf_printf(out, "%s::%s::max_pending_requests::%d\n", n, p, DEFAULT_MAX_PENDING);
        rs_strbuf_printf(out, "%s::%s::max_requests::%d\n", n, p, DEFAULT_MAX_REQUESTS);
        rs_strbuf_printf(out, "%s::%s::max_retries::%d\n", n, p, DEFAULT_MAX_RETRIES);
    }
    rs_strbuf_printf(out, "%s::added_via_api::false\n", n);
    const struct rs_host_set *set = rs_cluster_hosts(c);
    for (size_t i = 0; i < set->n_hosts; i++)
        render_text_host(n, set->hosts[i], out);
}

static void json_locality(const struct rs_locality *l, struct rs_strbuf *out)
{
    const char *sep = "";
    rs_strbuf_puts(out, "\"locality\":{");
    const char *names[] = {"region", "zone", "sub_zone"};
    const char *values[] = {l->region, l->zone, l->sub_zone};
    for (size_t i = 0; i < 3; i++) {
        if (values[i][0] == '\0')
            continue;
        rs_strbuf_printf(out, "%s\"%s\":", sep, names[i]);
        rs_strbuf_json_string(out, values[i]);
        sep = ",";
    }
    rs_strbuf_puts(out, "}");
}

static void json_health(uint32_t flags, struct rs_strbuf *out)
{
    const char *eds = "HEALTHY";
    if (flags & RS_HOST_FAILED_EDS_HEALTH)
        eds = "UNHEALTHY";
    else if (flags & RS_HOST_DEGRADED_EDS_HEALTH)
        eds = "DEGRADED";
    rs_strbuf_printf(out, "\"health_status\":{\"eds_health_status\":\"%s\"", eds);
    if (flags & RS_HOST_FAILED_ACTIVE_HC)
        rs_strbuf_puts(out, ",\"failed_active_health_check\":true");
    if (flags & RS_HOST_FAILED_OUTLIER_CHECK)
        rs_strbuf_puts(out, ",\"failed_outlier_check\":true");
    if (flags & RS_HOST_DEGRADED_ACTIVE_HC)
        rs_strbuf_puts(out, ",\"failed_active_degraded_check\":true");
    if (flags & RS_HOST_PENDING_DYNAMIC_REMOVAL)
        rs_strbuf_puts(out, ",\"pending_dynamic_removal\":true");
    if (flags & RS_HOST_PENDING_ACTIVE_HC)
        rs_strbuf_puts(out, ",\"pending_active_hc\":true");
    if (flags & RS_HOST_EXCLUDED_VIA_IMMEDIATE_HC_FAIL)
        rs_strbuf_puts(out, ",\"excluded_via_immediate_hc_fail\":true");
    if (flags & RS_HOST_ACTIVE_HC_TIMEOUT)
        rs_strbuf_puts(out, ",\"active_hc_timeout\":true");
    rs_strbuf_puts(out, "}");
}

static void json_stat(const struct rs_host *h, const struct host_stat *s, bool *first,
                      struct rs_strbuf *out)
{
    long long v = host_stat_value(h, s);
    rs_strbuf_puts(out, *first ? "{" : ",{");
    *first = false;
    if (s->gauge)
        rs_strbuf_puts(out, "\"type\":\"GAUGE\",");
    if (v != 0)
        rs_strbuf_printf(out, "\"value\":\"%lld\",", v);
    rs_strbuf_printf(out, "\"name\":\"%s\"}", s->name);
}

static void render_json_host(const struct rs_host *h, struct rs_strbuf *out)
{
    char ip[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;
    if (h->addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&h->addr;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&h->addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
    }
    rs_strbuf_printf(out, "{\"address\":{\"socket_address\":{\"address\":\"%s\"", ip);
    if (port != 0)
        rs_strbuf_printf(out, ",\"port_value\":%u", port);
    rs_strbuf_puts(out, "}},\"stats\":[");
    bool first = true;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N_HOST_STATS; i++) {
            if (host_stats_by_name[i].gauge == (pass == 1))
                json_stat(h, &host_stats_by_name[i], &first, out);
        }
    }
    rs_strbuf_puts(out, "],");
    json_health(atomic_load_explicit(&h->health_flags, memory_order_relaxed), out);
    rs_strbuf_printf(out, ",\"weight\":%u,", h->weight);
    json_locality(&h->locality, out);
    if (h->hostname[0] != '\0') {
        rs_strbuf_puts(out, ",\"hostname\":");
        rs_strbuf_json_string(out, h->hostname);
    }
    rs_strbuf_puts(out, "}");
}

static void render_json(const struct rs_cluster *c, struct rs_strbuf *out)
{
    rs_strbuf_puts(out, "{\"name\":");
    rs_strbuf_json_string(out, c->name);
    rs_strbuf_puts(out, ",\"observability_name\":");
    rs_strbuf_json_string(out, c->name);
    rs_strbuf_puts(out, ",\"circuit_breakers\":{\"thresholds\":[");
    for (size_t i = 0; i < sizeof(thresholds) / sizeof(thresholds[0]); i++) {
        rs_strbuf_puts(out, i > 0 ? ",{" : "{");
        if (thresholds[i].json_priority != NULL)
            rs_strbuf_printf(out, "\"priority\":\"%s\",", thresholds[i].json_priority);
        rs_strbuf_printf(out,
                         "\"max_connections\":%d,\"max_pending_requests\":%d,"
                         "\"max_requests\":%d,\"max_retries\":%d}",
                         DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING, DEFAULT_MAX_REQUESTS,
                         DEFAULT_MAX_RETRIES);
    }
    rs_strbuf_puts(out, "]},\"host_statuses\":[");
    const struct rs_host_set *set = rs_cluster_hosts(c);
    for (size_t i = 0; i < set->n_hosts; i++) {
        if (i > 0)
            rs_strbuf_puts(out, ",");
        render_json_host(set->hosts[i], out);
    }
    rs_strbuf_puts(out, "]}");
}

void rs_cluster_manager_render(struct rs_cluster_manager *cm, bool json, struct rs_strbuf *out)
{
    size_t n = rs_cluster_manager_count(cm);
    if (json)
        rs_strbuf_puts(out, "{\"cluster_statuses\":[");
    for (size_t i = 0; i < n; i++) {
        const struct rs_cluster *c = rs_cluster_manager_at(cm, i);
        if (json) {
            if (i > 0)
                rs_strbuf_puts(out, ",");
            render_json(c, out);
        } else {
            render_text(c, out);
        }
    }
    if (json)
        rs_strbuf_puts(out, "]}\n");
}
