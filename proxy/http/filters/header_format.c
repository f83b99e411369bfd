/* `%...%` values of request/response_headers_to_add: compiled once at config time (one formatter
 * per header entry that has an operator, found by the entry's address), evaluated per request
 * against the stream info with Envoy's header-mode formatter. */
#include <stdlib.h>
#include <string.h>

#include "proxy/http/access_log/formatter.h"
#include "proxy/http/filters/router_internal.h"

static int add_one(struct rs_router_config *cfg, const struct rs_route_header_add *a)
{
    if (a->value == NULL || memchr(a->value, '%', a->value_len) == NULL)
        return 0;
    for (size_t i = 0; i < cfg->n_hfmt; i++)
        if (cfg->hfmt[i].add == a)
            return 0; /* config and virtual host levels are shared by many routes */
    char *v = strndup(a->value, a->value_len);
    if (v == NULL)
        return -1;
    char err[256];
    struct rs_formatter *f = rs_formatter_new_header(v, err, sizeof err);
    free(v);
    if (f == NULL)
        return 0; /* the HCM validates formats; a value it let through is sent literally */
    if (cfg->n_hfmt == cfg->cap_hfmt) {
        size_t cap = cfg->cap_hfmt ? cfg->cap_hfmt * 2 : 8;
        void *p = realloc(cfg->hfmt, cap * sizeof *cfg->hfmt);
        if (p == NULL) {
            rs_formatter_free(f);
            return -1;
        }
        cfg->hfmt = p;
        cfg->cap_hfmt = cap;
    }
    cfg->hfmt[cfg->n_hfmt].add = a;
    cfg->hfmt[cfg->n_hfmt++].f = f;
    return 0;
}

static int add_level(struct rs_router_config *cfg, const struct rs_route_header_ops *o)
{
    for (size_t i = 0; o != NULL && i < o->n_request_add; i++)
        if (add_one(cfg, &o->request_add[i]) != 0)
            return -1;
    for (size_t i = 0; o != NULL && i < o->n_response_add; i++)
        if (add_one(cfg, &o->response_add[i]) != 0)
            return -1;
    return 0;
}

static int by_add(const void *a, const void *b)
{
    const struct rs_router_hfmt *x = a, *y = b;
    return x->add < y->add ? -1 : x->add > y->add;
}

int rs_router_header_formats_build(struct rs_router_config *cfg, const struct rs_route_config *rc)
{
    for (size_t v = 0; v < rs_route_config_vhost_count(rc); v++) {
        const struct rs_virtual_host *vh = rs_route_config_vhost(rc, v);
        if (add_level(cfg, &vh->headers) != 0)
            return -1;
        for (size_t r = 0; r < vh->n_routes; r++) {
            const struct rs_route *rt = &vh->routes[r];
            for (int k = 0; k < 3; k++)
                if (add_level(cfg, rt->header_levels[k]) != 0)
                    return -1;
            if (add_level(cfg, &rt->headers) != 0)
                return -1;
            for (size_t w = 0; w < rt->forward.n_weighted; w++)
                if (add_level(cfg, &rt->forward.weighted[w].headers) != 0)
                    return -1;
        }
    }
    if (cfg->n_hfmt > 1)
        qsort(cfg->hfmt, cfg->n_hfmt, sizeof *cfg->hfmt, by_add);
    return 0;
}

void rs_router_header_formats_free(struct rs_router_config *cfg)
{
    for (size_t i = 0; i < cfg->n_hfmt; i++)
        rs_formatter_free(cfg->hfmt[i].f);
    free(cfg->hfmt);
    cfg->hfmt = NULL;
    cfg->n_hfmt = cfg->cap_hfmt = 0;
}

const struct rs_formatter *rs_router_header_format(const struct rs_router_config *cfg,
                                                   const struct rs_route_header_add *a)
{
    if (cfg->n_hfmt == 0 || memchr(a->value, '%', a->value_len) == NULL)
        return NULL;
    struct rs_router_hfmt key = {.add = a};
    const struct rs_router_hfmt *hit =
        bsearch(&key, cfg->hfmt, cfg->n_hfmt, sizeof *cfg->hfmt, by_add);
    return hit != NULL ? hit->f : NULL;
}
