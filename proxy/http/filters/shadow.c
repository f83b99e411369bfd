/* request_mirror_policies: a fire-and-forget copy of the request (head and body) to another
 * cluster. The shadow owns itself: it outlives the stream if need be, reads and discards the
 * response (so a keep-alive connection can go back to the pool) and frees itself when the
 * exchange ends, fails or times out. The stream holds a pointer to it only while it still has
 * body to pass on; each side clears the other's link when it goes. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http/filters/router_internal.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb.h"

struct rs_router_shadow {
    struct rs_router_shadow **owner; /* the stream's pointer to us, or NULL once detached */
    struct rs_loop *loop;
    struct rs_stats_shard *shard;
    struct rs_router_cluster_slot *cs;
    struct rs_host *host; /* referenced */
    struct rs_h1_pool_request preq;
    struct rs_pooled_conn *pc;
    bool connecting;
    bool request_complete;
    struct rs_buffer out; /* queued until the connection is ready */
    char method[24];
    char *acc; /* response bytes not yet parsed; owned */
    size_t acc_len, acc_cap;
    bool in_body;
    bool keep_alive;
    struct rs_h1_body_decoder dec;
    struct rs_h1_header hstore[RS_ROUTER_MAX_RESPONSE_HEADERS];
    struct rs_h1_header tstore[RS_ROUTER_MAX_TRAILERS];
    struct rs_timer timer;
};

static void shadow_end(struct rs_router_shadow *sh, bool reusable)
{
    if (sh->owner != NULL)
        *sh->owner = NULL;
    if (rs_timer_armed(&sh->timer))
        rs_timer_cancel(sh->loop, &sh->timer);
    if (sh->connecting)
        rs_h1_pool_cancel(&sh->preq);
    if (sh->pc != NULL)
        rs_h1_pool_release(sh->cs->pool, sh->pc, reusable && sh->request_complete);
    rs_buffer_clear(&sh->out);
    rs_host_unref(sh->host);
    free(sh->acc);
    free(sh);
}

static void sh_on_ready(struct rs_h1_pool_request *req, struct rs_pooled_conn *pc, int err)
{
    struct rs_router_shadow *sh =
        (struct rs_router_shadow *)((char *)req - offsetof(struct rs_router_shadow, preq));
    sh->connecting = false;
    if (err != 0) {
        shadow_end(sh, false);
        return;
    }
    sh->pc = pc;
    rs_stats_inc(sh->shard, sh->cs->stats->rq_total);
    rs_pooled_conn_send(pc, &sh->out);
}

/* Discards the response, but parses it to know where it ends. */
static void sh_on_data(struct rs_pooled_conn *pc, void *user, uint16_t bid, uint32_t len)
{
    (void)pc;
    struct rs_router_shadow *sh = user;
    const char *buf = (const char *)rs_loop_buf(sh->loop, bid);
    if (sh->acc_len + len > sh->acc_cap) {
        size_t cap = sh->acc_cap ? sh->acc_cap : 1024;
        while (cap < sh->acc_len + len)
            cap *= 2;
        char *d = realloc(sh->acc, cap);
        if (d == NULL) {
            rs_loop_buf_release(sh->loop, bid);
            shadow_end(sh, false);
            return;
        }
        sh->acc = d;
        sh->acc_cap = cap;
    }
    memcpy(sh->acc + sh->acc_len, buf, len);
    sh->acc_len += len;
    rs_loop_buf_release(sh->loop, bid);
    size_t off = 0;
    while (!sh->in_body) {
        struct rs_h1_head hd;
        rs_h1_head_init(&hd, sh->hstore, RS_ROUTER_MAX_RESPONSE_HEADERS);
        size_t consumed = 0;
        struct rs_h1_error err;
        enum rs_h1_status st =
            rs_h1_parse_response_head(sh->acc + off, sh->acc_len - off, NULL, &hd, &consumed, &err);
        if (st == RS_H1_NEED_MORE)
            goto keep;
        if (st == RS_H1_ERROR) {
            shadow_end(sh, false);
            return;
        }
        off += consumed;
        if (hd.status_code >= 100 && hd.status_code < 200 && hd.status_code != 101)
            continue;
        struct rs_h1_slice m = {sh->method, strlen(sh->method)};
        rs_h1_body_decoder_init(&sh->dec, rs_h1_response_body_kind(&hd, m), hd.content_length, true,
                                NULL, sh->tstore, RS_ROUTER_MAX_TRAILERS);
        sh->keep_alive = hd.keep_alive && sh->dec.kind != RS_H1_BODY_UNTIL_CLOSE;
        sh->in_body = true;
        if (sh->dec.kind == RS_H1_BODY_NONE) {
            shadow_end(sh, sh->keep_alive && off == sh->acc_len);
            return;
        }
    }
    while (off < sh->acc_len) {
        size_t consumed = 0;
        struct rs_h1_slice data;
        struct rs_h1_error err;
        enum rs_h1_status st =
            rs_h1_body_decode(&sh->dec, sh->acc + off, sh->acc_len - off, &consumed, &data, &err);
        off += consumed;
        if (st == RS_H1_ERROR) {
            shadow_end(sh, false);
            return;
        }
        if (st == RS_H1_DONE) {
            shadow_end(sh, sh->keep_alive && off == sh->acc_len);
            return;
        }
        if (!(data.len > 0 && off < sh->acc_len))
            break;
    }
keep:
    memmove(sh->acc, sh->acc + off, sh->acc_len - off);
    sh->acc_len -= off;
}

static void sh_on_closed(struct rs_pooled_conn *pc, void *user)
{
    (void)pc;
    shadow_end(user, false);
}

static void sh_on_error(struct rs_pooled_conn *pc, void *user, int res)
{
    (void)res;
    sh_on_closed(pc, user);
}

static const struct rs_pooled_conn_callbacks shadow_callbacks = {
    .on_data = sh_on_data,
    .on_eof = sh_on_closed,
    .on_error = sh_on_error,
};

static void sh_on_timeout(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    shadow_end((struct rs_router_shadow *)((char *)t - offsetof(struct rs_router_shadow, timer)),
               false);
}

/* Envoy's shadow host: "-shadow" appended to the host, before any port. */
static void shadow_authority(const struct rs_hstr *a, char *out, size_t cap)
{
    size_t hl = a->len;
    for (size_t i = a->len; i > 0; i--) {
        if (a->p[i - 1] == ']')
            break;
        if (a->p[i - 1] == ':') {
            hl = i - 1;
            break;
        }
    }
    snprintf(out, cap, "%.*s-shadow%.*s", (int)hl, a->p, (int)(a->len - hl), a->p + hl);
}

static struct rs_router_shadow *start_one(struct rs_router_filter *rf,
                                          const struct rs_route_mirror_policy *m,
                                          struct rs_header_map *h, bool end_stream)
{
    const char *name = m->cluster;
    char hname[256];
    if (name == NULL && m->cluster_header != NULL) {
        const struct rs_hstr *v = rs_header_map_gets(h, m->cluster_header);
        if (v == NULL || v->len == 0 || v->len >= sizeof hname)
            return NULL;
        memcpy(hname, v->p, v->len);
        hname[v->len] = '\0';
        name = hname;
    }
    if (name == NULL ||
        (m->per_million < 1000000 && rs_router_random(rf) % 1000000 >= m->per_million))
        return NULL;
    struct rs_cluster *c = rf->cfg->lookup(rf->cfg->lookup_ctx, name);
    struct rs_router_cluster_slot *cs = c != NULL ? rs_router_slot_get(rf, c) : NULL;
    if (cs == NULL)
        return NULL;
    struct rs_lb_context lb = {.now_ms = rs_loop_now_ms(rf->loop)};
    struct rs_host *host = rs_cluster_pick_host(c, rf->worker_id, &lb);
    if (host == NULL) {
        rs_stats_inc(rf->shard, c->stats.upstream_cx_none_healthy);
        return NULL;
    }
    struct rs_router_shadow *sh = calloc(1, sizeof *sh);
    if (sh == NULL) {
        rs_host_unref(host);
        return NULL;
    }
    sh->loop = rf->loop;
    sh->shard = rf->shard;
    sh->cs = cs;
    sh->host = host;
    sh->request_complete = end_stream;
    snprintf(sh->method, sizeof sh->method, "%s", rf->method);
    rs_buffer_init(&sh->out, rf->loop);
    rs_timer_init(&sh->timer, sh_on_timeout);

    /* The same head as the main request but for :authority, restored afterwards. */
    const struct rs_hstr *a = rs_header_map_gets(h, ":authority");
    char orig[512] = "", shadow[600] = "";
    bool have_auth = a != NULL && a->len < sizeof orig;
    if (have_auth) {
        memcpy(orig, a->p, a->len);
        orig[a->len] = '\0';
        if (m->disable_shadow_host_suffix_append)
            snprintf(shadow, sizeof shadow, "%s", orig);
        else
            shadow_authority(a, shadow, sizeof shadow);
        rs_header_map_set(h, ":authority", 10, shadow, strlen(shadow));
    }
    bool chunked = rf->request_chunked;
    struct rs_h1_buf head = {0};
    int r = rs_router_build_request_head(rf, h, end_stream, &head);
    rf->request_chunked = chunked;
    if (have_auth)
        rs_header_map_set(h, ":authority", 10, orig, strlen(orig));
    if (r != 0 || rs_buffer_add_owned(&sh->out, (uint8_t *)head.data, head.len) != 0) {
        free(head.data);
        rs_buffer_clear(&sh->out);
        rs_host_unref(host);
        free(sh);
        return NULL;
    }
    if (rf->timeout_ms > 0)
        rs_timer_arm(rf->loop, &sh->timer, rf->timeout_ms);
    sh->connecting = true;
    sh->preq.on_ready = sh_on_ready;
    sh->preq.cb = &shadow_callbacks;
    sh->preq.user = sh;
    rs_h1_pool_acquire(cs->pool, host, &sh->preq);
    return sh;
}

void rs_router_shadows_start(struct rs_router_filter *rf, struct rs_header_map *h, bool end_stream)
{
    const struct rs_route_forward *fw = &rf->route->forward;
    for (size_t i = 0; i < fw->n_mirrors && rf->n_shadows < RS_ROUTER_MAX_SHADOWS; i++) {
        struct rs_router_shadow *sh = start_one(rf, &fw->mirrors[i], h, end_stream);
        if (sh == NULL)
            continue;
        size_t k = rf->n_shadows++;
        rf->shadows[k] = sh;
        /* Complete requests need no more from the stream: detach at once. */
        sh->owner = end_stream ? NULL : &rf->shadows[k];
        if (end_stream)
            rf->shadows[k] = NULL;
    }
}

/* Copies framed body bytes to every attached shadow (loop slices shared by reference). */
void rs_router_shadows_send(struct rs_router_filter *rf, const struct rs_buffer *framed,
                            bool end_stream)
{
    for (size_t k = 0; k < rf->n_shadows; k++) {
        struct rs_router_shadow *sh = rf->shadows[k];
        if (sh == NULL)
            continue;
        struct rs_buffer copy;
        rs_buffer_init(&copy, sh->loop);
        for (uint32_t i = 0; i < framed->count; i++) {
            const struct rs_slice *s = &framed->slices[(framed->head + i) % framed->cap];
            if (s->bid >= 0)
                rs_buffer_add_loop(&copy, (uint16_t)s->bid,
                                   (uint32_t)(s->data - rs_loop_buf(sh->loop, (uint16_t)s->bid)),
                                   s->len);
            else
                rs_buffer_add_copy(&copy, s->data, s->len);
        }
        if (sh->pc != NULL)
            rs_pooled_conn_send(sh->pc, &copy);
        else
            rs_buffer_move(&sh->out, &copy, rs_buffer_len(&copy));
        rs_buffer_clear(&copy);
        if (end_stream) {
            sh->request_complete = true;
            sh->owner = NULL;
            rf->shadows[k] = NULL;
        }
    }
}

/* The stream goes away: a shadow still waiting for body can never complete its request. */
void rs_router_shadows_abort(struct rs_router_filter *rf)
{
    for (size_t k = 0; k < rf->n_shadows; k++)
        if (rf->shadows[k] != NULL)
            shadow_end(rf->shadows[k], false);
    rf->n_shadows = 0;
}
