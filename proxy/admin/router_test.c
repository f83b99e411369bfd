/* Every admin endpoint through the router, with fake hooks and a real stats store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/admin/router.h"
#include "proxy/core/strbuf.h"
#include "proxy/stats/stats.h"

struct fake {
    enum rs_server_state state;
    int hc_calls;
    bool hc_failed;
    int drain_calls;
    bool drain_graceful, drain_inbound;
    int quit_calls;
    bool last_json;
    char last_resource[64];
    int config_status;
};

static enum rs_server_state fake_state(void *ctx)
{
    return ((struct fake *)ctx)->state;
}
static void fake_info(void *ctx, struct rs_strbuf *out)
{
    (void)ctx;
    rs_strbuf_puts(out, "{\"version\":\"test\"}");
}
static void fake_clusters(void *ctx, bool json, struct rs_strbuf *out)
{
    ((struct fake *)ctx)->last_json = json;
    rs_strbuf_puts(out, json ? "{\"cluster_statuses\":[]}" : "backend::default_priority\n");
}
static void fake_listeners(void *ctx, bool json, struct rs_strbuf *out)
{
    ((struct fake *)ctx)->last_json = json;
    rs_strbuf_puts(out, json ? "{\"listener_statuses\":[]}" : "l::0.0.0.0:15001\n");
}
static int fake_config_dump(void *ctx, const char *resource, struct rs_strbuf *out)
{
    struct fake *f = ctx;
    snprintf(f->last_resource, sizeof(f->last_resource), "%s", resource ? resource : "(null)");
    if (f->config_status != 200) {
        rs_strbuf_puts(out, "no such resource\n");
        return f->config_status;
    }
    rs_strbuf_puts(out, "{\"configs\":[]}");
    return 200;
}
static void fake_hc(void *ctx, bool failed)
{
    struct fake *f = ctx;
    f->hc_calls++;
    f->hc_failed = failed;
}
static void fake_drain(void *ctx, bool graceful, bool inboundonly)
{
    struct fake *f = ctx;
    f->drain_calls++;
    f->drain_graceful = graceful;
    f->drain_inbound = inboundonly;
}
static void fake_quit(void *ctx)
{
    ((struct fake *)ctx)->quit_calls++;
}

struct env {
    struct fake fake;
    struct rs_admin_hooks hooks;
    struct rs_admin_router router;
    struct rs_stats_store *store;
    struct rs_admin_response resp;
};

static int setup(void **state)
{
    static struct env e;
    memset(&e, 0, sizeof(e));
    e.fake.state = RS_SERVER_LIVE;
    e.fake.config_status = 200;
    e.hooks = (struct rs_admin_hooks){
        .ctx = &e.fake,
        .server_state = fake_state,
        .server_info = fake_info,
        .clusters = fake_clusters,
        .listeners = fake_listeners,
        .config_dump = fake_config_dump,
        .set_healthcheck_failed = fake_hc,
        .drain_listeners = fake_drain,
        .quit = fake_quit,
    };
    e.store = rs_stats_store_new();
    struct rs_stats_shard *shard = rs_stats_shard_new(e.store);
    rs_stats_add(shard, rs_stats_counter(e.store, "cluster.a.upstream_rq_200"), 3);
    rs_stats_counter(e.store, "cluster.a.upstream_rq_503");
    rs_stats_gauge_add(shard, rs_stats_gauge(e.store, "server.live"), 1);
    e.router = (struct rs_admin_router){.hooks = &e.hooks, .stats = e.store};
    rs_admin_response_init(&e.resp);
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    rs_admin_response_free(&e->resp);
    rs_stats_store_free(e->store);
    return 0;
}

/* Routes "METHOD /target" and leaves the answer in e->resp. */
static struct rs_admin_response *call(struct env *e, const char *method, const char *target)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\nHost: h\r\n\r\n", method, target);
    struct rs_admin_request req;
    assert_int_equal(rs_admin_request_parse(raw, strlen(raw), 65536, &req), RS_ADMIN_PARSE_OK);
    rs_admin_response_free(&e->resp);
    rs_admin_response_init(&e->resp);
    rs_admin_route(&e->router, &req, &e->resp);
    rs_admin_request_free(&req);
    return &e->resp;
}

static void ready_follows_state_and_healthcheck(void **state)
{
    struct env *e = *state;
    struct rs_admin_response *r = call(e, "GET", "/ready");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body.data, "LIVE\n");
    assert_string_equal(r->content_type, "text/plain; charset=UTF-8");

    e->fake.state = RS_SERVER_INITIALIZING;
    r = call(e, "GET", "/ready");
    assert_int_equal(r->status, 503);
    assert_string_equal(r->body.data, "INITIALIZING\n");
    e->fake.state = RS_SERVER_LIVE;

    r = call(e, "POST", "/healthcheck/fail");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body.data, "OK\n");
    assert_int_equal(e->fake.hc_calls, 1);
    assert_true(e->fake.hc_failed);
    r = call(e, "GET", "/ready");
    assert_int_equal(r->status, 503);
    assert_string_equal(r->body.data, "DRAINING\n");

    r = call(e, "POST", "/healthcheck/ok");
    assert_int_equal(r->status, 200);
    assert_false(e->fake.hc_failed);
    r = call(e, "GET", "/ready");
    assert_int_equal(r->status, 200);
}

static void mutating_endpoints_need_post(void **state)
{
    struct env *e = *state;
    const char *paths[] = {"/quitquitquit", "/healthcheck/fail", "/healthcheck/ok",
                           "/drain_listeners"};
    for (size_t i = 0; i < 4; i++) {
        struct rs_admin_response *r = call(e, "GET", paths[i]);
        assert_int_equal(r->status, 405);
        assert_string_equal(r->body.data, "Method GET not allowed, POST required.\n");
        assert_false(r->quit_after_send);
    }
    assert_int_equal(e->fake.hc_calls, 0);
    assert_int_equal(e->fake.drain_calls, 0);

    struct rs_admin_response *r = call(e, "POST", "/quitquitquit");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body.data, "OK\n");
    /* The server calls quit once the answer is out, not the router. */
    assert_true(r->quit_after_send);
    assert_int_equal(e->fake.quit_calls, 0);
}

static void drain_listeners_flags(void **state)
{
    struct env *e = *state;
    call(e, "POST", "/drain_listeners");
    assert_int_equal(e->fake.drain_calls, 1);
    assert_false(e->fake.drain_graceful);
    assert_false(e->fake.drain_inbound);
    call(e, "POST", "/drain_listeners?graceful&inboundonly=true");
    assert_true(e->fake.drain_graceful);
    assert_true(e->fake.drain_inbound);
    call(e, "POST", "/drain_listeners?graceful=false&inboundonly");
    assert_false(e->fake.drain_graceful);
    assert_true(e->fake.drain_inbound);
}

static void hooks_views(void **state)
{
    struct env *e = *state;
    struct rs_admin_response *r = call(e, "GET", "/server_info");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(r->body.data, "{\"version\":\"test\"}");

    r = call(e, "GET", "/clusters");
    assert_false(e->fake.last_json);
    assert_string_equal(r->content_type, "text/plain; charset=UTF-8");
    r = call(e, "GET", "/clusters?format=json");
    assert_true(e->fake.last_json);
    assert_string_equal(r->content_type, "application/json");
    r = call(e, "GET", "/listeners?format=json");
    assert_true(e->fake.last_json);
    assert_string_equal(r->body.data, "{\"listener_statuses\":[]}");

    r = call(e, "GET", "/config_dump");
    assert_string_equal(e->fake.last_resource, "(null)");
    assert_string_equal(r->content_type, "application/json");
    r = call(e, "GET", "/config_dump?resource=dynamic_active_clusters");
    assert_string_equal(e->fake.last_resource, "dynamic_active_clusters");
    e->fake.config_status = 404;
    r = call(e, "GET", "/config_dump?resource=nope");
    assert_int_equal(r->status, 404);
    assert_string_equal(r->content_type, "text/plain; charset=UTF-8");

    /* A hook the main did not provide: 501, not a crash. */
    e->hooks.server_info = NULL;
    r = call(e, "GET", "/server_info");
    assert_int_equal(r->status, 501);
}

static void stats_endpoints(void **state)
{
    struct env *e = *state;
    struct rs_admin_response *r = call(e, "GET", "/stats");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body.data, "cluster.a.upstream_rq_200: 3\n"
                                      "cluster.a.upstream_rq_503: 0\n"
                                      "server.live: 1\n");
    r = call(e, "GET", "/stats?usedonly");
    assert_string_equal(r->body.data, "cluster.a.upstream_rq_200: 3\nserver.live: 1\n");
    r = call(e, "GET", "/stats?filter=%5Eserver%5C.");
    assert_string_equal(r->body.data, "server.live: 1\n");
    r = call(e, "GET", "/stats?filter=(");
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->body.data, "Invalid regex"));
    r = call(e, "GET", "/stats?format=json&filter=server");
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(r->body.data, "{\"stats\":[{\"name\":\"server.live\",\"value\":1}]}\n");
    r = call(e, "GET", "/stats?format=xml");
    assert_int_equal(r->status, 400);

    r = call(e, "GET", "/stats/prometheus?usedonly");
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body.data, "# TYPE envoy_cluster_upstream_rq counter\n"
                                      "envoy_cluster_upstream_rq{envoy_response_code=\"200\","
                                      "envoy_cluster_name=\"a\"} 3\n"
                                      "# TYPE envoy_server_live gauge\n"
                                      "envoy_server_live 1\n");
    struct rs_admin_response *p = call(e, "GET", "/stats?format=prometheus&usedonly");
    assert_non_null(strstr(p->body.data, "envoy_server_live 1\n"));
}

static void help_and_unknown(void **state)
{
    struct env *e = *state;
    struct rs_admin_response *r = call(e, "GET", "/help");
    assert_int_equal(r->status, 200);
    assert_true(strncmp(r->body.data, "admin commands are:\n", 20) == 0);
    const char *expected[] = {"/ready",       "/stats/prometheus", "/quitquitquit",
                              "/config_dump", "/drain_listeners",  "/healthcheck/fail",
                              "/server_info"};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        assert_non_null(strstr(r->body.data, expected[i]));
    r = call(e, "GET", "/");
    assert_int_equal(r->status, 200);
    r = call(e, "GET", "/nope");
    assert_int_equal(r->status, 404);
    assert_true(strncmp(r->body.data, "invalid path. admin commands are:\n", 34) == 0);
    /* Exact paths only. */
    r = call(e, "GET", "/readyz");
    assert_int_equal(r->status, 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ready_follows_state_and_healthcheck, setup, teardown),
        cmocka_unit_test_setup_teardown(mutating_endpoints_need_post, setup, teardown),
        cmocka_unit_test_setup_teardown(drain_listeners_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(hooks_views, setup, teardown),
        cmocka_unit_test_setup_teardown(stats_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(help_and_unknown, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
