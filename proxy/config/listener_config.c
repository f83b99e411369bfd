#include "proxy/config/listener_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "api/type_registry.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb-c.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb-c.h"
#include "proxy/config/address_config.h"
#include "proxy/http/conn_manager/hcm.h"
#include "proxy/http/conn_manager/hcm_config.h"
#include "proxy/http/filters/router.h"
#include "proxy/net/listener.h"
#include "proxy/tcp/tcp_proxy.h"
#include "proxy/upstream/cluster.h"

#define TCP_PROXY_NAME "envoy.filters.network.tcp_proxy"
#define TCP_PROXY_TYPE "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
#define HCM_NAME "envoy.filters.network.http_connection_manager"
#define HCM_TYPE "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ORIGINAL_DST_NAME "envoy.filters.listener.original_dst"
#define ORIGINAL_DST_TYPE "envoy.extensions.filters.listener.original_dst.v3.OriginalDst"
#define DEFAULT_BUFFER_LIMIT (1024u * 1024u)

static const char *type_name_of(const Google__Protobuf__Any *any)
{
    const char *slash = strrchr(any->type_url, '/');
    return slash ? slash + 1 : any->type_url;
}

static struct rs_cluster *lookup_cluster(void *ctx, const char *name)
{
    struct rs_cluster *c = rs_config_find_cluster(ctx, name);
    return c ? rs_cluster_ref(c) : NULL;
}

static bool cluster_exists(void *ctx, const char *name)
{
    return rs_config_find_cluster(ctx, name) != NULL;
}

/* Borrowed: the cluster manager lives as long as the config snapshot the router belongs to. */
static struct rs_cluster *router_cluster(void *ctx, const char *name)
{
    return rs_config_find_cluster(ctx, name);
}

/* The HTTP connection manager with its only HTTP filter so far, the router (hcm_config refuses
 * any other filter by name). */
static int build_hcm(const Google__Protobuf__Any *any, const char *path, struct rs_config *cfg,
                     const struct rs_config_env *env, struct rs_network_filter *out, char *err,
                     size_t err_len)
{
    Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager *pb =
        envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__unpack(
            NULL, any->value.len, any->value.data);
    if (pb == NULL) {
        snprintf(err, err_len, "%s: cannot decode %s", path, HCM_TYPE);
        return -1;
    }
    struct rs_hcm_env henv = {
        .stats = env->stats,
        .access_log_writer = env->access_log_writer,
        .cluster_exists = cluster_exists,
        .cluster_ctx = cfg,
    };
    struct rs_hcm_config *hcm = rs_hcm_config_new(pb, path, &henv, err, err_len);
    envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__free_unpacked(
        pb, NULL);
    if (hcm == NULL)
        return -1;
    struct rs_router_options ropt = {
        .suppress_envoy_headers = hcm->router.suppress_envoy_headers,
        .dynamic_stats = hcm->router.dynamic_stats,
    };
    struct rs_router_env renv = {
        .lookup = router_cluster,
        .lookup_ctx = cfg,
        .stats = env->stats,
        .n_workers = env->n_workers,
        .routes = hcm->routes,
    };
    struct rs_http_filter_factory router;
    if (rs_router_factory_init(&router, &ropt, &renv) < 0) {
        rs_hcm_config_free(hcm);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (rs_hcm_network_filter(hcm, &router, 1, out) < 0) {
        router.free_config(router.config);
        rs_hcm_config_free(hcm);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    rs_hcm_set_downstream_drained_cb(out, 0, rs_router_on_downstream_drained);
    return 0;
}

static int build_network_filter(const Envoy__Config__Listener__V3__Filter *pb, const char *path,
                                struct rs_config *cfg, const struct rs_config_env *env,
                                struct rs_network_filter *out, char *err, size_t err_len)
{
    if (pb->config_type_case != ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG) {
        snprintf(err, err_len, "%s.typed_config: is required", path);
        return -1;
    }
    const char *type = type_name_of(pb->typed_config);
    if (strcmp(type, HCM_TYPE) == 0) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.typed_config", path);
        return build_hcm(pb->typed_config, sub, cfg, env, out, err, err_len);
    }
    if (strcmp(type, TCP_PROXY_TYPE) != 0) {
        snprintf(err, err_len,
                 "%s: network filter '%s' (%s) is not supported by ringside; supported: %s, %s",
                 path, pb->name, type, TCP_PROXY_NAME, HCM_NAME);
        return -1;
    }
    Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy *tp =
        envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__unpack(
            NULL, pb->typed_config->value.len, pb->typed_config->value.data);
    if (tp == NULL) {
        snprintf(err, err_len, "%s.typed_config: cannot decode %s", path, type);
        return -1;
    }
    char sub[512];
    snprintf(sub, sizeof sub, "%s.typed_config", path);
    int rc = rs_tcp_proxy_filter_new(tp, sub, lookup_cluster, cfg, env->stats, out, err, err_len);
    envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__free_unpacked(tp, NULL);
    return rc;
}

static int build_chain(const Envoy__Config__Listener__V3__FilterChain *pb, const char *path,
                       struct rs_config *cfg, const struct rs_config_env *env,
                       struct rs_filter_chain *out, char *err, size_t err_len)
{
    char sub[512];
    static const char *const fields[] = {"filter_chain_match", "filters", "name", "metadata", NULL};
    if (!rs_pb_check_supported(&pb->base, fields, path, err, err_len))
        return -1;
    out->name = strdup(pb->name ? pb->name : "");
    const Envoy__Config__Listener__V3__FilterChainMatch *m = pb->filter_chain_match;
    if (m != NULL) {
        static const char *const mfields[] = {"destination_port", "prefix_ranges",
                                              "source_prefix_ranges", "source_ports", NULL};
        snprintf(sub, sizeof sub, "%s.filter_chain_match", path);
        if (!rs_pb_check_supported(&m->base, mfields, sub, err, err_len))
            return -1;
        if (m->destination_port) {
            if (m->destination_port->value < 1 || m->destination_port->value > 65535) {
                snprintf(err, err_len, "%s.destination_port: %u is out of range (1-65535)", sub,
                         m->destination_port->value);
                return -1;
            }
            out->destination_port = m->destination_port->value;
        }
        out->prefix_ranges = calloc(m->n_prefix_ranges + 1, sizeof(struct rs_cidr));
        out->source_prefix_ranges = calloc(m->n_source_prefix_ranges + 1, sizeof(struct rs_cidr));
        out->source_ports = calloc(m->n_source_ports + 1, sizeof(uint32_t));
        if (!out->prefix_ranges || !out->source_prefix_ranges || !out->source_ports) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < m->n_prefix_ranges; i++) {
            snprintf(sub, sizeof sub, "%s.filter_chain_match.prefix_ranges[%zu]", path, i);
            if (rs_config_cidr(m->prefix_ranges[i], sub, &out->prefix_ranges[i], err, err_len))
                return -1;
        }
        out->n_prefix_ranges = (unsigned)m->n_prefix_ranges;
        for (size_t i = 0; i < m->n_source_prefix_ranges; i++) {
            snprintf(sub, sizeof sub, "%s.filter_chain_match.source_prefix_ranges[%zu]", path, i);
            if (rs_config_cidr(m->source_prefix_ranges[i], sub, &out->source_prefix_ranges[i], err,
                               err_len))
                return -1;
        }
        out->n_source_prefix_ranges = (unsigned)m->n_source_prefix_ranges;
        for (size_t i = 0; i < m->n_source_ports; i++) {
            if (m->source_ports[i] < 1 || m->source_ports[i] > 65535) {
                snprintf(err, err_len, "%s.filter_chain_match.source_ports[%zu]: out of range",
                         path, i);
                return -1;
            }
            out->source_ports[i] = m->source_ports[i];
        }
        out->n_source_ports = (unsigned)m->n_source_ports;
    }
    if (pb->n_filters != 1) {
        snprintf(err, err_len,
                 "%s.filters: exactly one network filter (%s or %s) is supported by ringside, "
                 "got %zu",
                 path, TCP_PROXY_NAME, HCM_NAME, pb->n_filters);
        return -1;
    }
    snprintf(sub, sizeof sub, "%s.filters[0]", path);
    return build_network_filter(pb->filters[0], sub, cfg, env, &out->filter, err, err_len);
}

static int build_listener_filters(const Envoy__Config__Listener__V3__Listener *pb, const char *path,
                                  struct rs_listener *l, char *err, size_t err_len)
{
    for (size_t i = 0; i < pb->n_listener_filters; i++) {
        const Envoy__Config__Listener__V3__ListenerFilter *f = pb->listener_filters[i];
        char sub[512];
        snprintf(sub, sizeof sub, "%s.listener_filters[%zu]", path, i);
        static const char *const fields[] = {"name", "typed_config", NULL};
        if (!rs_pb_check_supported(&f->base, fields, sub, err, err_len))
            return -1;
        bool by_type = f->config_type_case ==
                           ENVOY__CONFIG__LISTENER__V3__LISTENER_FILTER__CONFIG_TYPE_TYPED_CONFIG &&
                       strcmp(type_name_of(f->typed_config), ORIGINAL_DST_TYPE) == 0;
        bool by_name = f->config_type_case !=
                           ENVOY__CONFIG__LISTENER__V3__LISTENER_FILTER__CONFIG_TYPE_TYPED_CONFIG &&
                       f->name && strcmp(f->name, ORIGINAL_DST_NAME) == 0;
        if (!by_type && !by_name) {
            snprintf(err, err_len,
                     "%s: listener filter '%s' is not supported by ringside; supported: %s", sub,
                     f->name ? f->name : "", ORIGINAL_DST_NAME);
            return -1;
        }
        l->original_dst_filter = true;
    }
    return 0;
}

struct rs_listener *rs_config_listener(const Envoy__Config__Listener__V3__Listener *pb,
                                       const char *path, struct rs_config *cfg,
                                       const struct rs_config_env *env, char *err, size_t err_len)
{
    static const char *const fields[] = {
        "name",
        "address",
        "stat_prefix",
        "filter_chains",
        "use_original_dst",
        "default_filter_chain",
        "per_connection_buffer_limit_bytes",
        "metadata",
        "listener_filters",
        "traffic_direction",
        "bind_to_port",
        NULL,
    };
    if (!rs_pb_check_supported(&pb->base, fields, path, err, err_len))
        return NULL;
    struct rs_listener *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    char sub[512];
    snprintf(sub, sizeof sub, "%s.address", path);
    if (rs_config_address(pb->address, sub, &l->addr, err, err_len) < 0)
        goto fail;
    if (pb->name && pb->name[0]) {
        l->name = strdup(pb->name);
    } else {
        char a[80];
        rs_address_format(&l->addr, a, sizeof a);
        l->name = strdup(a);
    }
    if (pb->stat_prefix && pb->stat_prefix[0])
        snprintf(l->stat_name, sizeof l->stat_name, "%s", pb->stat_prefix);
    else
        rs_address_stat_name(&l->addr, l->stat_name, sizeof l->stat_name);
    l->bind_to_port = pb->bind_to_port ? pb->bind_to_port->value : true;
    l->use_original_dst = pb->use_original_dst ? pb->use_original_dst->value : false;
    l->buffer_limit = pb->per_connection_buffer_limit_bytes
                          ? pb->per_connection_buffer_limit_bytes->value
                          : DEFAULT_BUFFER_LIMIT;
    if (build_listener_filters(pb, path, l, err, err_len) < 0)
        goto fail;
    if (pb->n_filter_chains == 0 && pb->default_filter_chain == NULL) {
        snprintf(err, err_len, "%s.filter_chains: at least one filter chain is required", path);
        goto fail;
    }
    l->chains = calloc(pb->n_filter_chains + 1, sizeof *l->chains);
    if (l->chains == NULL)
        goto fail;
    for (size_t i = 0; i < pb->n_filter_chains; i++) {
        snprintf(sub, sizeof sub, "%s.filter_chains[%zu]", path, i);
        l->n_chains = (unsigned)i + 1;
        if (build_chain(pb->filter_chains[i], sub, cfg, env, &l->chains[i], err, err_len) < 0)
            goto fail;
    }
    if (pb->default_filter_chain) {
        l->default_chain = calloc(1, sizeof *l->default_chain);
        snprintf(sub, sizeof sub, "%s.default_filter_chain", path);
        if (l->default_chain == NULL ||
            build_chain(pb->default_filter_chain, sub, cfg, env, l->default_chain, err, err_len))
            goto fail;
    }
    rs_listener_register_stats(l, env->stats);
    return l;
fail:
    rs_listener_free(l);
    return NULL;
}
