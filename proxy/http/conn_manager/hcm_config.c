#include "proxy/http/conn_manager/hcm_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "envoy/extensions/filters/http/router/v3/router.pb-c.h"
#include "proxy/http/access_log/access_log.h"
#include "proxy/http/route/route.h"

#define ROUTER_NAME "envoy.filters.http.router"
#define ROUTER_TYPE "envoy.extensions.filters.http.router.v3.Router"

#define MS_PER_MIN (60u * 1000u)
#define MS_PER_HOUR (60u * MS_PER_MIN)

typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager
    hcm_pb;
typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpFilter http_filter_pb;

static const char *const supported_fields[] = {
    "codec_type",
    "stat_prefix",
    "route_config",
    "http_filters",
    "upgrade_configs",
    "stream_idle_timeout",
    "request_timeout",
    "request_headers_timeout",
    "common_http_protocol_options",
    "http_protocol_options",
    "max_request_headers_kb",
    "use_remote_address",
    "xff_num_trusted_hops",
    "generate_request_id",
    "server_name",
    "access_log",
    NULL,
};

void rs_hcm_config_free(struct rs_hcm_config *cfg)
{
    if (cfg == NULL)
        return;
    rs_route_config_free(cfg->routes);
    rs_access_log_list_free(cfg->access_logs);
    free(cfg->stat_prefix);
    free(cfg->server_name);
    free(cfg->default_host_for_http_10);
    free(cfg);
}

static void register_stats(struct rs_hcm_config *cfg, struct rs_stats_store *st)
{
    struct rs_hcm_stats *s = &cfg->stats;
    const char *p = cfg->stat_prefix;
#define C(field) s->field = rs_stats_counterf(st, "http.%s." #field, p)
#define G(field) s->field = rs_stats_gaugef(st, "http.%s." #field, p)
#define H(field) s->field = rs_stats_histogramf(st, "http.%s." #field, p)
    C(downstream_cx_total);
    G(downstream_cx_active);
    C(downstream_cx_destroy);
    C(downstream_cx_http1_total);
    G(downstream_cx_http1_active);
    C(downstream_cx_protocol_error);
    C(downstream_cx_idle_timeout);
    C(downstream_cx_rx_bytes_total);
    C(downstream_cx_tx_bytes_total);
    H(downstream_cx_length_ms);
    C(downstream_rq_total);
    C(downstream_rq_http1_total);
    G(downstream_rq_active);
    for (int i = 0; i < 5; i++)
        s->downstream_rq_xx[i] = rs_stats_counterf(st, "http.%s.downstream_rq_%dxx", p, i + 1);
    C(downstream_rq_completed);
    H(downstream_rq_time);
    C(downstream_rq_timeout);
    C(downstream_rq_idle_timeout);
    C(downstream_rq_header_timeout);
    C(downstream_rq_rx_reset);
    C(downstream_rq_tx_reset);
    C(downstream_rq_too_large);
    C(downstream_rq_ws_on_non_ws_route);
    C(no_route);
    C(no_cluster);
    C(rq_redirect);
    C(rq_direct_response);
#undef C
#undef G
#undef H
}

static const char *any_type(const Google__Protobuf__Any *any)
{
    const char *slash = strrchr(any->type_url, '/');
    return slash ? slash + 1 : any->type_url;
}

/* Only the router is implemented: it must be present, last, and configured with fields we
 * implement. Any other filter is refused by name (Envoy would load it; we cannot pretend to). */
static int parse_filters(struct rs_hcm_config *cfg, const hcm_pb *pb, const char *path, char *err,
                         size_t err_len)
{
    char sub[512];
    if (pb->n_http_filters == 0) {
        snprintf(err, err_len, "%s.http_filters: the router (%s) is required", path, ROUTER_NAME);
        return -1;
    }
    cfg->router.dynamic_stats = true;
    for (size_t i = 0; i < pb->n_http_filters; i++) {
        const http_filter_pb *f = pb->http_filters[i];
        snprintf(sub, sizeof sub, "%s.http_filters[%zu]", path, i);
        static const char *const ffields[] = {"name", "typed_config", NULL};
        if (!rs_pb_check_supported(&f->base, ffields, sub, err, err_len))
            return -1;
        bool typed =
            f->config_type_case ==
            ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__CONFIG_TYPE_TYPED_CONFIG;
        bool is_router = typed ? strcmp(any_type(f->typed_config), ROUTER_TYPE) == 0
                               : (f->name && strcmp(f->name, ROUTER_NAME) == 0);
        if (!is_router) {
            snprintf(err, err_len,
                     "%s: http filter '%s' is not supported by ringside; supported: %s", sub,
                     f->name ? f->name : "", ROUTER_NAME);
            return -1;
        }
        if (i + 1 != pb->n_http_filters) {
            snprintf(err, err_len, "%s: the router must be the last http filter", sub);
            return -1;
        }
        if (!typed)
            continue;
        Envoy__Extensions__Filters__Http__Router__V3__Router *r =
            envoy__extensions__filters__http__router__v3__router__unpack(
                NULL, f->typed_config->value.len, f->typed_config->value.data);
        if (r == NULL) {
            snprintf(err, err_len, "%s.typed_config: cannot decode %s", sub, ROUTER_TYPE);
            return -1;
        }
        static const char *const rfields[] = {"dynamic_stats", "suppress_envoy_headers", NULL};
        snprintf(sub, sizeof sub, "%s.http_filters[%zu].typed_config", path, i);
        bool ok = rs_pb_check_supported(&r->base, rfields, sub, err, err_len);
        if (ok) {
            cfg->router.suppress_envoy_headers = r->suppress_envoy_headers;
            if (r->dynamic_stats)
                cfg->router.dynamic_stats = r->dynamic_stats->value;
        }
        envoy__extensions__filters__http__router__v3__router__free_unpacked(r, NULL);
        if (!ok)
            return -1;
    }
    return 0;
}

static int parse_upgrades(struct rs_hcm_config *cfg, const hcm_pb *pb, const char *path, char *err,
                          size_t err_len)
{
    for (size_t i = 0; i < pb->n_upgrade_configs; i++) {
        const Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager__UpgradeConfig
            *u = pb->upgrade_configs[i];
        char sub[512];
        snprintf(sub, sizeof sub, "%s.upgrade_configs[%zu]", path, i);
        static const char *const ufields[] = {"upgrade_type", "enabled", NULL};
        if (!rs_pb_check_supported(&u->base, ufields, sub, err, err_len))
            return -1;
        if (u->upgrade_type == NULL || strcasecmp(u->upgrade_type, "websocket") != 0) {
            snprintf(err, err_len,
                     "%s.upgrade_type: '%s' is not supported by ringside; supported: websocket",
                     sub, u->upgrade_type ? u->upgrade_type : "");
            return -1;
        }
        cfg->websocket = u->enabled ? u->enabled->value : true;
    }
    return 0;
}

static int parse_protocol_options(struct rs_hcm_config *cfg, const hcm_pb *pb, const char *path,
                                  char *err, size_t err_len)
{
    const Envoy__Config__Core__V3__HttpProtocolOptions *o = pb->common_http_protocol_options;
    cfg->idle_timeout_ms = MS_PER_HOUR;
    cfg->max_headers_count = 100;
    if (o == NULL)
        return 0;
    char sub[512];
    snprintf(sub, sizeof sub, "%s.common_http_protocol_options", path);
    static const char *const ofields[] = {"idle_timeout", "max_headers_count", NULL};
    if (!rs_pb_check_supported(&o->base, ofields, sub, err, err_len))
        return -1;
    cfg->idle_timeout_ms = rs_pb_duration_ms(o->idle_timeout, MS_PER_HOUR);
    if (o->max_headers_count) {
        if (o->max_headers_count->value < 1) {
            snprintf(err, err_len, "%s.max_headers_count: must be at least 1", sub);
            return -1;
        }
        cfg->max_headers_count = o->max_headers_count->value;
    }
    return 0;
}

static int parse_http1_options(struct rs_hcm_config *cfg, const hcm_pb *pb, const char *path,
                               char *err, size_t err_len)
{
    const Envoy__Config__Core__V3__Http1ProtocolOptions *o = pb->http_protocol_options;
    if (o == NULL)
        return 0;
    char sub[512];
    snprintf(sub, sizeof sub, "%s.http_protocol_options", path);
    static const char *const fields[] = {"accept_http_10", "default_host_for_http_10", NULL};
    if (!rs_pb_check_supported(&o->base, fields, sub, err, err_len))
        return -1;
    cfg->accept_http_10 = o->accept_http_10;
    if (o->default_host_for_http_10 && o->default_host_for_http_10[0]) {
        cfg->default_host_for_http_10 = strdup(o->default_host_for_http_10);
        if (cfg->default_host_for_http_10 == NULL)
            return -1;
    }
    return 0;
}

static int check_clusters(const struct rs_hcm_config *cfg, const struct rs_hcm_env *env, char *err,
                          size_t err_len)
{
    /* Envoy validates an inline route configuration's clusters unless told not to. */
    if (rs_route_config_validate_clusters(cfg->routes) == 0 || env->cluster_exists == NULL)
        return 0;
    for (size_t i = 0; i < rs_route_config_cluster_count(cfg->routes); i++) {
        const char *name = rs_route_config_cluster_name(cfg->routes, i);
        if (!env->cluster_exists(env->cluster_ctx, name)) {
            snprintf(err, err_len, "%s: unknown cluster '%s'",
                     rs_route_config_cluster_path(cfg->routes, i), name);
            return -1;
        }
    }
    return 0;
}

static int parse_limits(struct rs_hcm_config *cfg, const hcm_pb *pb, const char *path, char *err,
                        size_t err_len)
{
    cfg->max_request_headers_kb = 60;
    if (pb->max_request_headers_kb) {
        uint32_t kb = pb->max_request_headers_kb->value;
        /* Envoy's bounds for this field. */
        if (kb < 1 || kb > 8192) {
            snprintf(err, err_len, "%s.max_request_headers_kb: %u is out of range (1-8192)", path,
                     kb);
            return -1;
        }
        cfg->max_request_headers_kb = kb;
    }
    cfg->stream_idle_timeout_ms = rs_pb_duration_ms(pb->stream_idle_timeout, 5 * MS_PER_MIN);
    cfg->request_timeout_ms = rs_pb_duration_ms(pb->request_timeout, 0);
    cfg->request_headers_timeout_ms = rs_pb_duration_ms(pb->request_headers_timeout, 0);
    cfg->use_remote_address = pb->use_remote_address ? pb->use_remote_address->value : false;
    cfg->xff_num_trusted_hops = pb->xff_num_trusted_hops;
    cfg->generate_request_id = pb->generate_request_id ? pb->generate_request_id->value : true;
    cfg->server_name = strdup(pb->server_name && pb->server_name[0] ? pb->server_name : "envoy");
    return cfg->server_name ? 0 : -1;
}

struct rs_hcm_config *rs_hcm_config_new(const hcm_pb *pb, const char *path,
                                        const struct rs_hcm_env *env, char *err, size_t err_len)
{
    char sub[512];
    if (!rs_pb_check_supported(&pb->base, supported_fields, path, err, err_len))
        return NULL;
    if (pb->stat_prefix == NULL || pb->stat_prefix[0] == '\0') {
        snprintf(err, err_len, "%s.stat_prefix: must not be empty", path);
        return NULL;
    }
    if (pb->codec_type !=
            ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__CODEC_TYPE__AUTO &&
        pb->codec_type !=
            ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__CODEC_TYPE__HTTP1) {
        snprintf(err, err_len, "%s.codec_type: only AUTO and HTTP1 are supported by ringside",
                 path);
        return NULL;
    }
    if (pb->route_specifier_case !=
        ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_ROUTE_CONFIG) {
        snprintf(err, err_len, "%s.route_config: an inline route_config is required", path);
        return NULL;
    }
    struct rs_hcm_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    cfg->codec =
        pb->codec_type ==
                ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__CODEC_TYPE__HTTP1
            ? RS_HCM_CODEC_HTTP1
            : RS_HCM_CODEC_AUTO;
    cfg->stat_prefix = strdup(pb->stat_prefix);
    if (cfg->stat_prefix == NULL)
        goto fail;
    if (parse_limits(cfg, pb, path, err, err_len) < 0 ||
        parse_protocol_options(cfg, pb, path, err, err_len) < 0 ||
        parse_http1_options(cfg, pb, path, err, err_len) < 0 ||
        parse_upgrades(cfg, pb, path, err, err_len) < 0 ||
        parse_filters(cfg, pb, path, err, err_len) < 0)
        goto fail;
    snprintf(sub, sizeof sub, "%s.route_config", path);
    cfg->routes = rs_route_config_new(pb->route_config, sub, err, err_len);
    if (cfg->routes == NULL || check_clusters(cfg, env, err, err_len) < 0)
        goto fail;
    if (pb->n_access_log > 0) {
        snprintf(sub, sizeof sub, "%s.access_log", path);
        if (env->access_log_writer == NULL) {
            snprintf(err, err_len, "%s: access logs are not available here", sub);
            goto fail;
        }
        cfg->access_logs = rs_access_log_list_new(pb->access_log, pb->n_access_log, sub,
                                                  env->access_log_writer, err, err_len);
        if (cfg->access_logs == NULL)
            goto fail;
    }
    register_stats(cfg, env->stats);
    return cfg;
fail:
    if (err[0] == '\0')
        snprintf(err, err_len, "out of memory");
    rs_hcm_config_free(cfg);
    return NULL;
}
