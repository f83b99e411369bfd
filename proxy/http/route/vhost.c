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

/* Every domain with where it came from, for the duplicate check. */
struct seen {
    const char *d; /* lower-cased */
    size_t vh, idx, order;
};

static int cmp_seen(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    int c = strcmp(x->d, y->d);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Envoy rejects a domain listed twice, in one virtual host or two (and so a second "*"): the
 * choice between them would be arbitrary. Sorting finds duplicates in O(n log n) (a mesh route
 * table can hold thousands of domains); the error names the first repeat in config order, as a
 * sequential check would. */
static int check_duplicates(const Envoy__Config__Route__V3__RouteConfiguration *pb,
                            struct seen *seen, size_t n, const char *path, char *err,
                            size_t err_len)
{
    qsort(seen, n, sizeof *seen, cmp_seen);
    const struct seen *dup = NULL, *orig = NULL;
    for (size_t k = 1; k < n; k++) {
        if (strcmp(seen[k - 1].d, seen[k].d) != 0)
            continue;
        /* Within a run of equal domains, seen[k] repeats the run's first entry. */
        size_t first = k - 1;
        while (first > 0 && strcmp(seen[first - 1].d, seen[k].d) == 0)
            first--;
        if (dup == NULL || seen[k].order < dup->order) {
            dup = &seen[k];
            orig = &seen[first];
        }
    }
    if (dup == NULL)
        return 0;
    snprintf(err, err_len,
             "%s.virtual_hosts[%zu].domains[%zu]: duplicate domain '%s' (also in virtual host "
             "'%s')",
             path, dup->vh, dup->idx, pb->virtual_hosts[dup->vh]->domains[dup->idx],
             pb->virtual_hosts[orig->vh]->name);
    return -1;
}

int rt_vhost_index(struct rs_route_config *rc,
                   const Envoy__Config__Route__V3__RouteConfiguration *pb, const char *path,
                   char *err, size_t err_len)
{
    size_t total = 0;
    for (size_t i = 0; i < pb->n_virtual_hosts; i++)
        total += pb->virtual_hosts[i]->n_domains;
    struct seen *seen = calloc(total ? total : 1, sizeof *seen);
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
            seen[n_seen] = (struct seen){d, i, j, n_seen};
            n_seen++;
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
    int r = check_duplicates(pb, seen, n_seen, path, err, err_len);
    free(seen);
    if (r < 0)
        return -1;
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
