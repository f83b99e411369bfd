#include "proxy/upstream/host.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rs_host_format_addr(const struct sockaddr *addr, char *out, size_t out_len)
{
    char ip[INET6_ADDRSTRLEN];
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(out, out_len, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
        return true;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(out, out_len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
        return true;
    }
    return false;
}

bool rs_host_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

struct rs_host *rs_host_new(const struct sockaddr *addr, socklen_t addr_len, const char *hostname,
                            uint32_t weight, const struct rs_locality *locality)
{
    if (addr_len > sizeof(struct sockaddr_storage))
        return NULL;
    struct rs_host *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    memcpy(&h->addr, addr, addr_len);
    h->addr_len = addr_len;
    if (!rs_host_format_addr(addr, h->addr_str, sizeof(h->addr_str))) {
        free(h);
        return NULL;
    }
    h->weight = weight > 0 ? weight : 1;
    h->hostname = dup_or_empty(hostname);
    h->locality.region = dup_or_empty(locality ? locality->region : NULL);
    h->locality.zone = dup_or_empty(locality ? locality->zone : NULL);
    h->locality.sub_zone = dup_or_empty(locality ? locality->sub_zone : NULL);
    atomic_init(&h->refs, 1);
    if (h->hostname == NULL || h->locality.region == NULL || h->locality.zone == NULL ||
        h->locality.sub_zone == NULL) {
        rs_host_unref(h);
        return NULL;
    }
    return h;
}

struct rs_host *rs_host_ref(struct rs_host *h)
{
    atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    return h;
}

void rs_host_unref(struct rs_host *h)
{
    if (h == NULL)
        return;
    /* acq_rel: the thread that frees must see every other thread's writes to the host. */
    if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(h->hostname);
    free(h->locality.region);
    free(h->locality.zone);
    free(h->locality.sub_zone);
    free(h);
}

struct rs_host_set *rs_host_set_new(struct rs_host **hosts, size_t n)
{
    struct rs_host_set *set = calloc(1, sizeof(*set) + n * sizeof(set->hosts[0]));
    uint64_t *cum = calloc(n > 0 ? n : 1, sizeof(*cum));
    if (set == NULL || cum == NULL) {
        free(set);
        free(cum);
        for (size_t i = 0; i < n; i++)
            rs_host_unref(hosts[i]);
        return NULL;
    }
    set->n_hosts = n;
    set->cum_weight = cum;
    set->equal_weights = true;
    for (size_t i = 0; i < n; i++) {
        struct rs_host *h = hosts[i];
        set->hosts[i] = h;
        set->total_weight += h->weight;
        cum[i] = set->total_weight;
        if (h->weight > set->max_weight)
            set->max_weight = h->weight;
        if (i > 0 && h->weight != hosts[0]->weight)
            set->equal_weights = false;
        if (rs_host_healthy(h))
            set->n_healthy++;
    }
    return set;
}

void rs_host_set_free(struct rs_host_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n_hosts; i++)
        rs_host_unref(set->hosts[i]);
    free(set->cum_weight);
    free(set);
}

long rs_host_set_find(const struct rs_host_set *set, const struct sockaddr *addr)
{
    for (size_t i = 0; i < set->n_hosts; i++) {
        if (rs_host_addr_equal((const struct sockaddr *)&set->hosts[i]->addr, addr))
            return (long)i;
    }
    return -1;
}
