#include "proxy/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec.h"
#include "api/pbutil/pbutil.h"
#include "api/type_registry.h"
#include "proxy/config/address_config.h"
#include "proxy/config/listener_config.h"
#include "proxy/net/listener.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/cluster_manager.h"

#define MAX_CONFIG_BYTES (64u * 1024u * 1024u)

struct rs_cluster *rs_config_find_cluster(const struct rs_config *cfg, const char *name)
{
    return rs_cluster_manager_find(cfg->clusters, name);
}

void rs_config_free(struct rs_config *cfg)
{
    if (cfg == NULL)
        return;
    for (unsigned i = 0; i < cfg->n_listeners; i++)
        rs_listener_free(cfg->listeners[i]);
    free(cfg->listeners);
    /* Listeners first: their filters hold cluster references. */
    if (cfg->clusters)
        rs_cluster_manager_free(cfg->clusters);
    if (cfg->bootstrap)
        protobuf_c_message_free_unpacked(&cfg->bootstrap->base, NULL);
    free(cfg);
}

static int check_bootstrap(const Envoy__Config__Bootstrap__V3__Bootstrap *b, char *err,
                           size_t err_len)
{
    static const char *const fields[] = {"node", "static_resources", "admin", NULL};
    if (!rs_pb_check_supported(&b->base, fields, "", err, err_len))
        return -1;
    if (b->static_resources) {
        static const char *const sr[] = {"listeners", "clusters", NULL};
        if (!rs_pb_check_supported(&b->static_resources->base, sr, "static_resources", err,
                                   err_len))
            return -1;
    }
    if (b->admin) {
        static const char *const ad[] = {"address", NULL};
        if (!rs_pb_check_supported(&b->admin->base, ad, "admin", err, err_len))
            return -1;
    }
    return 0;
}

static int build_clusters(struct rs_config *cfg, const struct rs_config_env *env, char *err,
                          size_t err_len)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr =
        cfg->bootstrap->static_resources;
    struct rs_cluster_manager_options opt = {
        .main_loop = env->main_loop,
        .n_workers = env->n_workers,
        .qsbr = env->qsbr,
        .stats = env->stats,
        .main_shard = env->main_shard,
    };
    cfg->clusters = rs_cluster_manager_new(&opt, sr ? sr->clusters : NULL, sr ? sr->n_clusters : 0,
                                           "static_resources.clusters", err, err_len);
    return cfg->clusters ? 0 : -1;
}

static int build_listeners(struct rs_config *cfg, const struct rs_config_env *env, char *err,
                           size_t err_len)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr =
        cfg->bootstrap->static_resources;
    size_t n = sr ? sr->n_listeners : 0;
    cfg->listeners = calloc(n + 1, sizeof *cfg->listeners);
    if (cfg->listeners == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "static_resources.listeners[%zu]", i);
        struct rs_listener *l = rs_config_listener(sr->listeners[i], path, cfg, env, err, err_len);
        if (l == NULL)
            return -1;
        for (unsigned j = 0; j < cfg->n_listeners; j++) {
            const struct rs_listener *o = cfg->listeners[j];
            if (strcmp(o->name, l->name) == 0) {
                snprintf(err, err_len, "%s.name: duplicate listener name '%s'", path, l->name);
                rs_listener_free(l);
                return -1;
            }
            if (o->bind_to_port && l->bind_to_port && rs_address_equal(&o->addr, &l->addr) &&
                rs_address_port(&l->addr) != 0) {
                snprintf(err, err_len, "%s.address: listener '%s' already uses this address", path,
                         o->name);
                rs_listener_free(l);
                return -1;
            }
        }
        cfg->listeners[cfg->n_listeners++] = l;
    }
    return 0;
}

struct rs_config *rs_config_load_text(const char *text, size_t len, const struct rs_config_env *env,
                                      char *err, size_t err_len)
{
    ProtobufCMessage *msg =
        rs_codec_parse_yaml(&envoy__config__bootstrap__v3__bootstrap__descriptor, text, len,
                            rs_api_find_type_url, err, err_len);
    if (msg == NULL)
        return NULL;
    struct rs_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    cfg->bootstrap = (Envoy__Config__Bootstrap__V3__Bootstrap *)msg;
    if (check_bootstrap(cfg->bootstrap, err, err_len) < 0)
        goto fail;
    const Envoy__Config__Core__V3__Node *node = cfg->bootstrap->node;
    cfg->node_id = env->service_node ? env->service_node : (node && node->id ? node->id : "");
    cfg->node_cluster =
        env->service_cluster ? env->service_cluster : (node && node->cluster ? node->cluster : "");
    if (cfg->bootstrap->admin && cfg->bootstrap->admin->address) {
        if (rs_config_address(cfg->bootstrap->admin->address, "admin.address", &cfg->admin_addr,
                              err, err_len) < 0)
            goto fail;
        cfg->has_admin = true;
    }
    if (build_clusters(cfg, env, err, err_len) < 0 || build_listeners(cfg, env, err, err_len) < 0)
        goto fail;
    return cfg;
fail:
    rs_config_free(cfg);
    return NULL;
}

struct rs_config *rs_config_load_file(const char *path, const struct rs_config_env *env, char *err,
                                      size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(text, cap + 1);
            if (p == NULL || cap > MAX_CONFIG_BYTES) {
                free(p ? p : text);
                fclose(f);
                snprintf(err, err_len, "'%s' is too large", path);
                return NULL;
            }
            text = p;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(text);
        snprintf(err, err_len, "cannot read '%s'", path);
        return NULL;
    }
    text[len] = '\0';
    struct rs_config *cfg = rs_config_load_text(text, len, env, err, err_len);
    free(text);
    return cfg;
}
