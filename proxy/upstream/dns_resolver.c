/* The resolver thread: a mutex-protected FIFO of queries (never touched by workers, so the lock is
 * off the data path), getaddrinfo on the thread, results posted to the main loop. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/core/log.h"
#include "proxy/core/loop.h"
#include "proxy/upstream/dns.h"

struct rs_dns_query {
    struct rs_dns_query *next;
    struct rs_loop *loop;
    char *name;
    uint16_t port;
    enum rs_dns_family family;
    rs_dns_cb cb;
    void *arg;
    /* Set by the main thread, read by the main thread when the result arrives; atomic only so the
     * resolver thread may also skip cancelled work. */
    atomic_bool cancelled;
    struct rs_dns_result result;
};

struct rs_dns_resolver {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rs_dns_query *head, *tail; /* guarded by mu */
    bool stop;                        /* guarded by mu */
    struct rs_loop *loop;
};

static void query_free(struct rs_dns_query *q)
{
    free(q->result.addrs);
    free(q->name);
    free(q);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return rs_host_addr_equal((const struct sockaddr *)a, (const struct sockaddr *)b);
}

void rs_dns_filter_family(struct rs_dns_result *res, enum rs_dns_family family)
{
    bool has4 = false, has6 = false;
    for (size_t i = 0; i < res->n_addrs; i++) {
        has4 |= res->addrs[i].ss_family == AF_INET;
        has6 |= res->addrs[i].ss_family == AF_INET6;
    }
    bool keep4, keep6;
    switch (family) {
    case RS_DNS_V4_ONLY:
        keep4 = true, keep6 = false;
        break;
    case RS_DNS_V6_ONLY:
        keep4 = false, keep6 = true;
        break;
    case RS_DNS_V4_PREFERRED:
        keep4 = true, keep6 = !has4;
        break;
    case RS_DNS_ALL:
        keep4 = true, keep6 = true;
        break;
    case RS_DNS_AUTO:
    default:
        keep4 = !has6, keep6 = true;
        break;
    }
    size_t out = 0;
    for (size_t i = 0; i < res->n_addrs; i++) {
        int fam = res->addrs[i].ss_family;
        if (!((fam == AF_INET && keep4) || (fam == AF_INET6 && keep6)))
            continue;
        bool dup = false;
        for (size_t j = 0; j < out && !dup; j++)
            dup = same_addr(&res->addrs[j], &res->addrs[i]);
        if (!dup)
            res->addrs[out++] = res->addrs[i];
    }
    res->n_addrs = out;
}

static void lookup(struct rs_dns_query *q)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    hints.ai_family = q->family == RS_DNS_V4_ONLY   ? AF_INET
                      : q->family == RS_DNS_V6_ONLY ? AF_INET6
                                                    : AF_UNSPEC;
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(q->name, NULL, &hints, &ai);
    if (rc == EAI_NONAME || rc == EAI_NODATA) {
        /* As Envoy: a name that does not exist (or has no address of the family) is a successful
         * answer with no address, which empties the cluster; only lookup failures keep hosts. */
        q->result.status = 0;
        return;
    }
    if (rc != 0) {
        q->result.status = rc;
        return;
    }
    size_t n = 0;
    for (struct addrinfo *p = ai; p != NULL; p = p->ai_next)
        n++;
    q->result.addrs = calloc(n > 0 ? n : 1, sizeof(*q->result.addrs));
    if (q->result.addrs == NULL) {
        freeaddrinfo(ai);
        q->result.status = EAI_MEMORY;
        return;
    }
    for (struct addrinfo *p = ai; p != NULL; p = p->ai_next) {
        if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) ||
            p->ai_addrlen > sizeof(struct sockaddr_storage))
            continue;
        struct sockaddr_storage *ss = &q->result.addrs[q->result.n_addrs++];
        memcpy(ss, p->ai_addr, p->ai_addrlen);
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = htons(q->port);
        else
            ((struct sockaddr_in6 *)ss)->sin6_port = htons(q->port);
    }
    freeaddrinfo(ai);
    rs_dns_filter_family(&q->result, q->family);
}

static void deliver(struct rs_loop *loop, void *arg)
{
    (void)loop;
    struct rs_dns_query *q = arg;
    if (!atomic_load_explicit(&q->cancelled, memory_order_relaxed))
        q->cb(q->arg, &q->result);
    query_free(q);
}

static void *resolver_main(void *arg)
{
    struct rs_dns_resolver *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->head == NULL && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        struct rs_dns_query *q = r->head;
        r->head = q->next;
        if (r->head == NULL)
            r->tail = NULL;
        pthread_mutex_unlock(&r->mu);

        if (!atomic_load_explicit(&q->cancelled, memory_order_relaxed))
            lookup(q);
        /* Cancelled queries still go through the loop: only the main thread frees queries, so a
         * cancel racing with this thread never touches freed memory. Posting only fails if the
         * loop is broken; retry briefly rather than leak silently. */
        int rc = -1;
        for (int attempt = 0; attempt < 100 && rc != 0; attempt++) {
            rc = rs_loop_post(NULL, q->loop, deliver, q);
            if (rc != 0)
                usleep(10000);
        }
        if (rc != 0)
            RS_ERROR("dns: cannot post the result for %s to the main loop: %s", q->name,
                     strerror(-rc));

        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct rs_dns_resolver *rs_dns_resolver_new(struct rs_loop *loop, char *err, size_t err_len)
{
    struct rs_dns_resolver *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, err_len, "dns resolver: out of memory");
        return NULL;
    }
    r->loop = loop;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    int rc = pthread_create(&r->thread, NULL, resolver_main, r);
    if (rc != 0) {
        snprintf(err, err_len, "dns resolver: cannot start thread: %s", strerror(rc));
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    pthread_setname_np(r->thread, "rs-dns");
    return r;
}

void rs_dns_resolver_free(struct rs_dns_resolver *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    /* Queries never picked up: their owners cancelled them (see dns.h), so nobody else holds them.
     */
    for (struct rs_dns_query *q = r->head, *next; q != NULL; q = next) {
        next = q->next;
        if (!atomic_load_explicit(&q->cancelled, memory_order_relaxed))
            RS_WARN("dns: dropping the pending lookup of %s at shutdown", q->name);
        query_free(q);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

struct rs_dns_query *rs_dns_resolve(struct rs_dns_resolver *r, const char *name, uint16_t port,
                                    enum rs_dns_family family, rs_dns_cb cb, void *arg)
{
    struct rs_dns_query *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->name = strdup(name);
    if (q->name == NULL) {
        free(q);
        return NULL;
    }
    q->loop = r->loop;
    q->port = port;
    q->family = family;
    q->cb = cb;
    q->arg = arg;
    atomic_init(&q->cancelled, false);
    pthread_mutex_lock(&r->mu);
    if (r->tail != NULL)
        r->tail->next = q;
    else
        r->head = q;
    r->tail = q;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return q;
}

void rs_dns_cancel(struct rs_dns_query *q)
{
    if (q != NULL)
        atomic_store_explicit(&q->cancelled, true, memory_order_relaxed);
}
