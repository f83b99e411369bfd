/* The endpoint table and dispatch: exact path match, POST enforced on endpoints that change the
 * server's state, 404 with the endpoint list otherwise (Envoy's behaviour for all three). */
#include <string.h>

#include "proxy/admin/router.h"

struct endpoint {
    const char *path;
    const char *help;
    bool mutates; /* POST only */
    rs_admin_handler handle;
};

/* Sorted by path: /help prints them in this order. */
static const struct endpoint endpoints[] = {
    {"/", "this list of endpoints", false, rs_admin_handle_help},
    {"/clusters", "upstream clusters, their hosts and health (?format=json)", false,
     rs_admin_handle_clusters},
    {"/config_dump", "the configuration in effect (?resource=<field> selects one part)", false,
     rs_admin_handle_config_dump},
    {"/drain_listeners",
     "drain every listener (?graceful waits for the drain period first, "
     "?inboundonly leaves outbound listeners alone)",
     true, rs_admin_handle_drain_listeners},
    {"/healthcheck/fail", "report failure to health checks and /ready (start of a drain)", true,
     rs_admin_handle_healthcheck_fail},
    {"/healthcheck/ok", "undo /healthcheck/fail", true, rs_admin_handle_healthcheck_ok},
    {"/help", "this list of endpoints", false, rs_admin_handle_help},
    {"/listeners", "active listeners and their addresses (?format=json)", false,
     rs_admin_handle_listeners},
    {"/quitquitquit", "exit the server", true, rs_admin_handle_quit},
    {"/ready", "200 with LIVE when the server serves traffic, 503 with its state otherwise", false,
     rs_admin_handle_ready},
    {"/server_info", "version, state, uptime and command line options (JSON)", false,
     rs_admin_handle_server_info},
    {"/stats",
     "counters, gauges and histograms (?format=json|prometheus, ?filter=<regex>, "
     "?usedonly)",
     false, rs_admin_handle_stats},
    {"/stats/prometheus", "the stats in Prometheus exposition format (?filter=<regex>, ?usedonly)",
     false, rs_admin_handle_stats_prometheus},
};

void rs_admin_help_text(struct rs_strbuf *out)
{
    rs_strbuf_puts(out, "admin commands are:\n");
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
        rs_strbuf_printf(out, "  %s: %s\n", endpoints[i].path, endpoints[i].help);
}

void rs_admin_handle_help(struct rs_admin_router *r, const struct rs_admin_request *req,
                          struct rs_admin_response *resp)
{
    (void)r;
    (void)req;
    rs_admin_help_text(&resp->body);
}

void rs_admin_route(struct rs_admin_router *r, const struct rs_admin_request *req,
                    struct rs_admin_response *resp)
{
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        const struct endpoint *e = &endpoints[i];
        if (strcmp(req->path, e->path) != 0)
            continue;
        if (e->mutates && strcmp(req->method, "POST") != 0) {
            resp->status = 405;
            rs_strbuf_printf(&resp->body, "Method %s not allowed, POST required.\n", req->method);
            return;
        }
        e->handle(r, req, resp);
        return;
    }
    resp->status = 404;
    rs_strbuf_puts(&resp->body, "invalid path. ");
    rs_admin_help_text(&resp->body);
}
