/* Virtual host selection by :authority, in Envoy's order: exact domain, then the longest
 * wildcard suffix ("*.example.com", "*-bar.example.com"), then the longest wildcard prefix
 * ("example.*"), then the "*" default. A wildcard stands for at least one character. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http/route/route_internal.h"

struct rt_domain {
    const char *s; /* lower-cased; for wildcards, without the '*' */
    size_t len;
    const struct rs_virtual_host *vh;
};

static int cmp_exact(const void *a, const void *b)
{
    const struct rt_domain *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->s, y->s, x->len);
}

/* Longest first, so the first hit is the longest wildcard. */
static int cmp_longest_first(const void *a, const void *b)
{
    const struct rt_domain *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return memcmp(x->s, y->s, x->len);
}

int rt_vhost_index(struct rs_route_config *rc,
                   const Envoy__Config__Route__V3__RouteConfiguration *pb, const char *path,
                   char *err, size_t err_len)
{
    size_t total = 0;
    for (size_t i = 0; i < pb->n_virtual_hosts; i++)
        total += pb->virtual_hosts[i]->n_domains;
    /* Every domain, lower-cased, with where it came from: for the duplicate check. */
    struct seen {
        const char *d;
        size_t vh;
    } *seen = calloc(total ? total : 1, sizeof *seen);
    rc->exact = rt_array(rc, total, sizeof *rc->exact);
    rc->suffix = rt_array(rc, total, sizeof *rc->suffix);
    rc->prefix = rt_array(rc, total, sizeof *rc->prefix);
    if (seen == NULL || (total > 0 && (!rc->exact || !rc->suffix || !rc->prefix))) {
        free(seen);
        return rt_oom(err, err_len);
    }
    size_t n_seen = 0;
    for (size_t i = 0; i < pb->n_virtual_hosts; i++) {
        const Envoy__Config__Route__V3__VirtualHost *v = pb->virtual_hosts[i];
        for (size_t j = 0; j < v->n_domains; j++) {
            char *d = rt_strdup_lower(rc, v->domains[j]);
            if (d == NULL) {
                free(seen);
                return rt_oom(err, err_len);
            }
            size_t len = strlen(d);
            if (len == 0) {
                snprintf(err, err_len, "%s.virtual_hosts[%zu].domains[%zu]: must not be empty",
                         path, i, j);
                free(seen);
                return -1;
            }
            for (size_t k = 0; k < n_seen; k++) {
                if (strcmp(seen[k].d, d) == 0) {
                    /* Envoy rejects a domain listed twice, in one virtual host or two (and so
                     * a second "*"): the choice between them would be arbitrary. */
                    snprintf(err, err_len,
                             "%s.virtual_hosts[%zu].domains[%zu]: duplicate domain '%s' (also in "
                             "virtual host '%s')",
                             path, i, j, v->domains[j], pb->virtual_hosts[seen[k].vh]->name);
                    free(seen);
                    return -1;
                }
            }
            seen[n_seen].d = d;
            seen[n_seen++].vh = i;
            const struct rs_virtual_host *vh = &rc->vhosts[i];
            if (len == 1 && d[0] == '*') {
                rc->default_vh = vh;
            } else if (d[0] == '*') {
                rc->suffix[rc->n_suffix++] = (struct rt_domain){d + 1, len - 1, vh};
            } else if (d[len - 1] == '*') {
                rc->prefix[rc->n_prefix++] = (struct rt_domain){d, len - 1, vh};
            } else {
                rc->exact[rc->n_exact++] = (struct rt_domain){d, len, vh};
            }
        }
    }
    free(seen);
    if (rc->n_exact > 1)
        qsort(rc->exact, rc->n_exact, sizeof *rc->exact, cmp_exact);
    if (rc->n_suffix > 1)
        qsort(rc->suffix, rc->n_suffix, sizeof *rc->suffix, cmp_longest_first);
    if (rc->n_prefix > 1)
        qsort(rc->prefix, rc->n_prefix, sizeof *rc->prefix, cmp_longest_first);
    return 0;
}

/* Where a port starts in a host ("h:80", "[::1]:80"), as Envoy finds it: the last ':' not inside
 * an IPv6 literal. */
static size_t port_start(const char *h, size_t len)
{
    size_t colon = len, bracket = len;
    for (size_t i = len; i-- > 0;) {
        if (h[i] == ':' && colon == len)
            colon = i;
        if (h[i] == ']' && bracket == len)
            bracket = i;
    }
    if (colon == len)
        return len;
    if (bracket != len && bracket > colon)
        return len;
    return colon;
}

static const struct rs_virtual_host *lookup(const struct rs_route_config *rc, const char *h,
                                            size_t len)
{
    if (rc->n_exact > 0) {
        struct rt_domain key = {h, len, NULL};
        const struct rt_domain *d =
            bsearch(&key, rc->exact, rc->n_exact, sizeof *rc->exact, cmp_exact);
        if (d != NULL)
            return d->vh;
    }
    for (size_t i = 0; i < rc->n_suffix; i++) {
        const struct rt_domain *d = &rc->suffix[i];
        if (d->len < len && memcmp(h + len - d->len, d->s, d->len) == 0)
            return d->vh;
    }
    for (size_t i = 0; i < rc->n_prefix; i++) {
        const struct rt_domain *d = &rc->prefix[i];
        if (d->len < len && memcmp(h, d->s, d->len) == 0)
            return d->vh;
    }
    return rc->default_vh;
}

const struct rs_virtual_host *rs_virtual_host_select(const struct rs_route_config *rc,
                                                     const char *host, size_t host_len)
{
    if (rc->ignore_port_in_host_matching)
        host_len = port_start(host, host_len);
    /* Host names are case-insensitive; domains were lower-cased at build time. */
    char stackbuf[256];
    char *h = host_len <= sizeof stackbuf ? stackbuf : malloc(host_len);
    if (h == NULL)
        return NULL;
    for (size_t i = 0; i < host_len; i++) {
        char c = host[i];
        h[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    const struct rs_virtual_host *vh = lookup(rc, h, host_len);
    if (h != stackbuf)
        free(h);
    return vh;
}
