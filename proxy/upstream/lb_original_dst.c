/* ORIGINAL_DST (CLUSTER_PROVIDED): the upstream host is the downstream connection's original
 * destination. Each worker keeps its own small open-addressing map from address to host, so repeat
 * destinations reuse one host object (and its stats) without any cross-thread coordination; entries
 * not used for cleanup_interval are dropped lazily, at most once per interval, during a pick. A
 * dropped host lives on while connections still hold references to it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/upstream/lb_internal.h"

#define ODST_MIN_CAP 16

static uint64_t addr_hash(const struct sockaddr *sa)
{
    /* FNV-1a over the address and port bytes. */
    const unsigned char *p;
    size_t n;
    uint16_t port;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        p = (const unsigned char *)&in->sin_addr;
        n = sizeof(in->sin_addr);
        port = in->sin_port;
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        p = (const unsigned char *)&in6->sin6_addr;
        n = sizeof(in6->sin6_addr);
        port = in6->sin6_port;
    }
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)sa->sa_family;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h = (h ^ (port & 0xff)) * 0x100000001b3ull;
    h = (h ^ (port >> 8)) * 0x100000001b3ull;
    return h;
}

static struct rs_lb_odst_entry *find_slot(struct rs_lb_odst_map *m, const struct sockaddr *sa)
{
    size_t mask = m->cap - 1;
    for (size_t i = addr_hash(sa) & mask;; i = (i + 1) & mask) {
        struct rs_lb_odst_entry *e = &m->slots[i];
        if (e->host == NULL || rs_host_addr_equal((const struct sockaddr *)&e->host->addr, sa))
            return e;
    }
}

static bool rehash(struct rs_lb_odst_map *m, size_t cap)
{
    struct rs_lb_odst_entry *old = m->slots;
    size_t old_cap = m->cap;
    struct rs_lb_odst_entry *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return false;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].host != NULL)
            *find_slot(m, (const struct sockaddr *)&old[i].host->addr) = old[i];
    }
    free(old);
    return true;
}

/* Removes idle entries. Rebuilding the table (rather than deleting in place) keeps the linear
 * probing chains intact without tombstones; sweeps are rare (once per cleanup interval). */
static void sweep(struct rs_lb_odst_map *m, uint64_t now, uint64_t idle_ms)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->cap; i++) {
        struct rs_lb_odst_entry *e = &m->slots[i];
        if (e->host == NULL)
            continue;
        if (now - e->last_used_ms >= idle_ms) {
            rs_host_unref(e->host);
            e->host = NULL;
        } else {
            kept++;
        }
    }
    m->count = kept;
    if (m->cap > 0)
        rehash(m, m->cap); /* on failure the old table stays; probing still works, just longer */
}

void rs_lb_odst_map_clear(struct rs_lb_odst_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        rs_host_unref(m->slots[i].host);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static uint64_t now_ms(const struct rs_lb_context *ctx)
{
    if (ctx->now_ms != 0)
        return ctx->now_ms;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct rs_host *rs_lb_original_dst_pick(struct rs_cluster *c, struct rs_lb_worker *w,
                                        const struct rs_lb_context *ctx)
{
    if (ctx == NULL || ctx->original_dst == NULL)
        return NULL;
    struct sockaddr_storage dst;
    socklen_t len;
    if (ctx->original_dst->sa_family == AF_INET)
        len = sizeof(struct sockaddr_in);
    else if (ctx->original_dst->sa_family == AF_INET6)
        len = sizeof(struct sockaddr_in6);
    else
        return NULL;
    memcpy(&dst, ctx->original_dst, len);
    if (c->odst_port_override != 0) {
        uint16_t port = htons(c->odst_port_override);
        if (dst.ss_family == AF_INET)
            ((struct sockaddr_in *)&dst)->sin_port = port;
        else
            ((struct sockaddr_in6 *)&dst)->sin6_port = port;
    }

    struct rs_lb_odst_map *m = &w->odst;
    uint64_t now = now_ms(ctx);
    if (m->count > 0 && now >= m->next_sweep_ms) {
        sweep(m, now, c->cleanup_interval_ms);
        m->next_sweep_ms = now + c->cleanup_interval_ms;
    }
    if (m->cap == 0) {
        if (!rehash(m, ODST_MIN_CAP))
            return NULL;
        m->next_sweep_ms = now + c->cleanup_interval_ms;
    }

    struct rs_lb_odst_entry *e = find_slot(m, (const struct sockaddr *)&dst);
    if (e->host != NULL) {
        e->last_used_ms = now;
        return rs_host_ref(e->host);
    }
    /* Keep the load factor under 1/2 so probes stay short. */
    if ((m->count + 1) * 2 > m->cap) {
        if (!rehash(m, m->cap * 2))
            return NULL;
        e = find_slot(m, (const struct sockaddr *)&dst);
    }
    struct rs_host *h = rs_host_new((const struct sockaddr *)&dst, len, NULL, 1, NULL);
    if (h == NULL)
        return NULL;
    e->host = h;
    e->last_used_ms = now;
    m->count++;
    return rs_host_ref(h);
}
