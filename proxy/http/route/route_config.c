/* RouteConfiguration and VirtualHost compilation, the config's arena, referenced clusters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "proxy/http/route/route_internal.h"

/* Envoy's default for max_direct_response_body_size_bytes. */
#define DEFAULT_MAX_DIRECT_RESPONSE_BODY 4096u

struct rt_arena_block {
    struct rt_arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *rt_alloc(struct rs_route_config *rc, size_t size)
{
    size = (size + 15u) & ~(size_t)15u;
    struct rt_arena_block *b = rc->arena;
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->next = rc->arena;
        b->used = 0;
        b->cap = cap;
        rc->arena = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *rt_array(struct rs_route_config *rc, size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return rt_alloc(rc, n * size);
}

char *rt_strndup(struct rs_route_config *rc, const char *s, size_t len)
{
    char *p = rt_alloc(rc, len + 1);
    if (p != NULL && len > 0)
        memcpy(p, s, len);
    return p;
}

char *rt_strdup(struct rs_route_config *rc, const char *s)
{
    return rt_strndup(rc, s, strlen(s));
}

char *rt_strdup_lower(struct rs_route_config *rc, const char *s)
{
    char *p = rt_strdup(rc, s);
    for (char *c = p; c != NULL && *c; c++) {
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    }
    return p;
}

int rt_oom(char *err, size_t err_len)
{
    snprintf(err, err_len, "out of memory");
    return -1;
}

int rt_add_cluster(struct rs_route_config *rc, const char *name, const char *path, char *err,
                   size_t err_len)
{
    for (size_t i = 0; i < rc->n_clusters; i++) {
        if (strcmp(rc->cluster_names[i], name) == 0)
            return 0;
    }
    if (rc->n_clusters == rc->cap_clusters) {
        size_t cap = rc->cap_clusters ? rc->cap_clusters * 2 : 8;
        const char **n = rt_array(rc, cap, sizeof *n);
        const char **p = rt_array(rc, cap, sizeof *p);
        if (n == NULL || p == NULL)
            return rt_oom(err, err_len);
        if (rc->n_clusters > 0) {
            memcpy(n, rc->cluster_names, rc->n_clusters * sizeof *n);
            memcpy(p, rc->cluster_paths, rc->n_clusters * sizeof *p);
        }
        rc->cluster_names = n;
        rc->cluster_paths = p;
        rc->cap_clusters = cap;
    }
    rc->cluster_names[rc->n_clusters] = rt_strdup(rc, name);
    rc->cluster_paths[rc->n_clusters] = rt_strdup(rc, path);
    if (rc->cluster_names[rc->n_clusters] == NULL || rc->cluster_paths[rc->n_clusters] == NULL)
        return rt_oom(err, err_len);
    rc->n_clusters++;
    return 0;
}

static const char *const vhost_fields[] = {
    "name",
    "domains",
    "routes",
    "request_headers_to_add",
    "request_headers_to_remove",
    "response_headers_to_add",
    "response_headers_to_remove",
    "retry_policy",
    "request_mirror_policies",
    "per_request_buffer_limit_bytes",
    /* Metadata is data for filters and logs; it has no behaviour of its own to implement. */
    "metadata",
    NULL,
};

static int compile_vhost(struct rs_route_config *rc,
                         const Envoy__Config__Route__V3__VirtualHost *pb, const char *path,
                         struct rs_virtual_host *vh, char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, vhost_fields, path, err, err_len))
        return -1;
    if (pb->name == NULL || pb->name[0] == '\0') {
        snprintf(err, err_len, "%s.name: must not be empty", path);
        return -1;
    }
    if (pb->n_domains == 0) {
        snprintf(err, err_len, "%s.domains: must not be empty", path);
        return -1;
    }
    vh->name = rt_strdup(rc, pb->name);
    if (vh->name == NULL)
        return rt_oom(err, err_len);
    if (rt_header_ops_compile(rc, path, pb->request_headers_to_add, pb->n_request_headers_to_add,
                              pb->request_headers_to_remove, pb->n_request_headers_to_remove,
                              pb->response_headers_to_add, pb->n_response_headers_to_add,
                              pb->response_headers_to_remove, pb->n_response_headers_to_remove,
                              &vh->headers, err, err_len) < 0)
        return -1;

    /* Route-level policies replace these whole; the virtual host's replace the config's. */
    struct rt_vhost_defaults defs = {.mirrors = rc->mirrors, .n_mirrors = rc->n_mirrors};
    if (pb->retry_policy != NULL) {
        snprintf(sub, sizeof sub, "%s.retry_policy", path);
        defs.retry = rt_retry_policy_compile(rc, pb->retry_policy, sub, err, err_len);
        if (defs.retry == NULL)
            return -1;
    }
    if (pb->n_request_mirror_policies > 0) {
        snprintf(sub, sizeof sub, "%s.request_mirror_policies", path);
        if (rt_mirrors_compile(rc, pb->request_mirror_policies, pb->n_request_mirror_policies, sub,
                               &defs.mirrors, err, err_len) < 0)
            return -1;
        defs.n_mirrors = pb->n_request_mirror_policies;
    }

    struct rs_route *routes = rt_array(rc, pb->n_routes, sizeof *routes);
    if (pb->n_routes > 0 && routes == NULL)
        return rt_oom(err, err_len);
    vh->routes = routes;
    vh->n_routes = pb->n_routes;
    for (size_t i = 0; i < pb->n_routes; i++) {
        snprintf(sub, sizeof sub, "%s.routes[%zu]", path, i);
        if (rt_route_compile(rc, pb->routes[i], sub, &defs, &routes[i], err, err_len) < 0)
            return -1;
        routes[i].most_specific_header_mutations_wins = rc->most_specific_header_mutations_wins;
        if (rc->most_specific_header_mutations_wins) {
            routes[i].header_levels[0] = &rc->headers;
            routes[i].header_levels[1] = &vh->headers;
            routes[i].header_levels[2] = &routes[i].headers;
        } else {
            routes[i].header_levels[0] = &routes[i].headers;
            routes[i].header_levels[1] = &vh->headers;
            routes[i].header_levels[2] = &rc->headers;
        }
        if (routes[i].per_request_buffer_limit_bytes < 0 &&
            pb->per_request_buffer_limit_bytes != NULL)
            routes[i].per_request_buffer_limit_bytes = pb->per_request_buffer_limit_bytes->value;
    }
    return 0;
}

static const char *const config_fields[] = {
    "name",
    "virtual_hosts",
    "response_headers_to_add",
    "response_headers_to_remove",
    "request_headers_to_add",
    "request_headers_to_remove",
    "most_specific_header_mutations_wins",
    "validate_clusters",
    "max_direct_response_body_size_bytes",
    "request_mirror_policies",
    "ignore_port_in_host_matching",
    "metadata",
    NULL,
};

static struct rs_route_config *build(const Envoy__Config__Route__V3__RouteConfiguration *pb,
                                     const char *path, struct rs_route_config *rc, char *err,
                                     size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, config_fields, path, err, err_len))
        return NULL;
    if (rt_regex_init(rc, err, err_len) < 0)
        return NULL;
    rc->name = rt_strdup(rc, pb->name ? pb->name : "");
    if (rc->name == NULL) {
        rt_oom(err, err_len);
        return NULL;
    }
    rc->most_specific_header_mutations_wins = pb->most_specific_header_mutations_wins;
    rc->ignore_port_in_host_matching = pb->ignore_port_in_host_matching;
    rc->validate_clusters = pb->validate_clusters ? pb->validate_clusters->value : -1;
    rc->max_direct_response_body = pb->max_direct_response_body_size_bytes
                                       ? pb->max_direct_response_body_size_bytes->value
                                       : DEFAULT_MAX_DIRECT_RESPONSE_BODY;
    if (rt_header_ops_compile(rc, path, pb->request_headers_to_add, pb->n_request_headers_to_add,
                              pb->request_headers_to_remove, pb->n_request_headers_to_remove,
                              pb->response_headers_to_add, pb->n_response_headers_to_add,
                              pb->response_headers_to_remove, pb->n_response_headers_to_remove,
                              &rc->headers, err, err_len) < 0)
        return NULL;
    if (pb->n_request_mirror_policies > 0) {
        snprintf(sub, sizeof sub, "%s.request_mirror_policies", path);
        if (rt_mirrors_compile(rc, pb->request_mirror_policies, pb->n_request_mirror_policies, sub,
                               &rc->mirrors, err, err_len) < 0)
            return NULL;
        rc->n_mirrors = pb->n_request_mirror_policies;
    }
    rc->vhosts = rt_array(rc, pb->n_virtual_hosts, sizeof *rc->vhosts);
    if (pb->n_virtual_hosts > 0 && rc->vhosts == NULL) {
        rt_oom(err, err_len);
        return NULL;
    }
    rc->n_vhosts = pb->n_virtual_hosts;
    for (size_t i = 0; i < pb->n_virtual_hosts; i++) {
        snprintf(sub, sizeof sub, "%s.virtual_hosts[%zu]", path, i);
        if (compile_vhost(rc, pb->virtual_hosts[i], sub, &rc->vhosts[i], err, err_len) < 0)
            return NULL;
    }
    if (rt_vhost_index(rc, pb, path, err, err_len) < 0)
        return NULL;
    return rc;
}

struct rs_route_config *rs_route_config_new(const Envoy__Config__Route__V3__RouteConfiguration *pb,
                                            const char *path, char *err, size_t err_len)
{
    struct rs_route_config *rc = calloc(1, sizeof *rc);
    if (rc == NULL) {
        rt_oom(err, err_len);
        return NULL;
    }
    if (build(pb, path, rc, err, err_len) == NULL) {
        rs_route_config_free(rc);
        return NULL;
    }
    return rc;
}

void rs_route_config_free(struct rs_route_config *rc)
{
    if (rc == NULL)
        return;
    rt_regex_free_all(rc);
    struct rt_arena_block *b = rc->arena;
    while (b != NULL) {
        struct rt_arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(rc);
}

const char *rs_route_config_name(const struct rs_route_config *rc)
{
    return rc->name;
}

size_t rs_route_config_vhost_count(const struct rs_route_config *rc)
{
    return rc->n_vhosts;
}

const struct rs_virtual_host *rs_route_config_vhost(const struct rs_route_config *rc, size_t i)
{
    return i < rc->n_vhosts ? &rc->vhosts[i] : NULL;
}

int rs_route_config_validate_clusters(const struct rs_route_config *rc)
{
    return rc->validate_clusters;
}

size_t rs_route_config_cluster_count(const struct rs_route_config *rc)
{
    return rc->n_clusters;
}

const char *rs_route_config_cluster_name(const struct rs_route_config *rc, size_t i)
{
    return i < rc->n_clusters ? rc->cluster_names[i] : NULL;
}

const char *rs_route_config_cluster_path(const struct rs_route_config *rc, size_t i)
{
    return i < rc->n_clusters ? rc->cluster_paths[i] : NULL;
}
