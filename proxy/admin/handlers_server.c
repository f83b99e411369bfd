/* Endpoints answered by the proxy's main through the hooks: state, info, config views and the
 * lifecycle commands. */
#include <string.h>

#include "proxy/admin/router.h"

const char *rs_admin_server_state_name(enum rs_server_state state)
{
    switch (state) {
    case RS_SERVER_PRE_INITIALIZING:
        return "PRE_INITIALIZING";
    case RS_SERVER_INITIALIZING:
        return "INITIALIZING";
    case RS_SERVER_LIVE:
        return "LIVE";
    case RS_SERVER_DRAINING:
        return "DRAINING";
    }
    return "UNKNOWN";
}

static void not_implemented(struct rs_admin_response *resp)
{
    rs_admin_response_text(resp, 501, "not available in this server\n");
}

/* ?format=json, as Envoy reads it for /clusters and /listeners (anything else is text). */
static bool wants_json(const struct rs_admin_request *req)
{
    const char *format = rs_admin_request_param(req, "format");
    return format != NULL && strcmp(format, "json") == 0;
}

void rs_admin_handle_ready(struct rs_admin_router *r, const struct rs_admin_request *req,
                           struct rs_admin_response *resp)
{
    (void)req;
    enum rs_server_state state = RS_SERVER_LIVE;
    if (r->healthcheck_failed)
        state = RS_SERVER_DRAINING;
    else if (r->hooks->server_state != NULL)
        state = r->hooks->server_state(r->hooks->ctx);
    resp->status = state == RS_SERVER_LIVE ? 200 : 503;
    rs_strbuf_printf(&resp->body, "%s\n", rs_admin_server_state_name(state));
}

void rs_admin_handle_server_info(struct rs_admin_router *r, const struct rs_admin_request *req,
                                 struct rs_admin_response *resp)
{
    (void)req;
    if (r->hooks->server_info == NULL) {
        not_implemented(resp);
        return;
    }
    resp->content_type = RS_ADMIN_JSON;
    r->hooks->server_info(r->hooks->ctx, &resp->body);
}

void rs_admin_handle_clusters(struct rs_admin_router *r, const struct rs_admin_request *req,
                              struct rs_admin_response *resp)
{
    if (r->hooks->clusters == NULL) {
        not_implemented(resp);
        return;
    }
    bool json = wants_json(req);
    resp->content_type = json ? RS_ADMIN_JSON : RS_ADMIN_TEXT;
    r->hooks->clusters(r->hooks->ctx, json, &resp->body);
}

void rs_admin_handle_listeners(struct rs_admin_router *r, const struct rs_admin_request *req,
                               struct rs_admin_response *resp)
{
    if (r->hooks->listeners == NULL) {
        not_implemented(resp);
        return;
    }
    bool json = wants_json(req);
    resp->content_type = json ? RS_ADMIN_JSON : RS_ADMIN_TEXT;
    r->hooks->listeners(r->hooks->ctx, json, &resp->body);
}

void rs_admin_handle_config_dump(struct rs_admin_router *r, const struct rs_admin_request *req,
                                 struct rs_admin_response *resp)
{
    if (r->hooks->config_dump == NULL) {
        not_implemented(resp);
        return;
    }
    const char *resource = rs_admin_request_param(req, "resource");
    if (resource != NULL && resource[0] == '\0')
        resource = NULL;
    resp->status = r->hooks->config_dump(r->hooks->ctx, resource, &resp->body);
    if (resp->status < 100 || resp->status > 599)
        resp->status = 500;
    resp->content_type = resp->status == 200 ? RS_ADMIN_JSON : RS_ADMIN_TEXT;
}

void rs_admin_handle_quit(struct rs_admin_router *r, const struct rs_admin_request *req,
                          struct rs_admin_response *resp)
{
    (void)req;
    if (r->hooks->quit == NULL) {
        not_implemented(resp);
        return;
    }
    rs_strbuf_puts(&resp->body, "OK\n");
    resp->quit_after_send = true;
}

static void set_healthcheck(struct rs_admin_router *r, bool failed, struct rs_admin_response *resp)
{
    r->healthcheck_failed = failed;
    if (r->hooks->set_healthcheck_failed != NULL)
        r->hooks->set_healthcheck_failed(r->hooks->ctx, failed);
    rs_strbuf_puts(&resp->body, "OK\n");
}

void rs_admin_handle_healthcheck_fail(struct rs_admin_router *r, const struct rs_admin_request *req,
                                      struct rs_admin_response *resp)
{
    (void)req;
    set_healthcheck(r, true, resp);
}

void rs_admin_handle_healthcheck_ok(struct rs_admin_router *r, const struct rs_admin_request *req,
                                    struct rs_admin_response *resp)
{
    (void)req;
    set_healthcheck(r, false, resp);
}

/* A flag is set by its presence, or by a value other than "false"/"0" ("?graceful=true" works). */
static bool flag(const struct rs_admin_request *req, const char *name)
{
    const char *v = rs_admin_request_param(req, name);
    return v != NULL && strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

void rs_admin_handle_drain_listeners(struct rs_admin_router *r, const struct rs_admin_request *req,
                                     struct rs_admin_response *resp)
{
    if (r->hooks->drain_listeners != NULL)
        r->hooks->drain_listeners(r->hooks->ctx, flag(req, "graceful"), flag(req, "inboundonly"));
    rs_strbuf_puts(&resp->body, "OK\n");
}
