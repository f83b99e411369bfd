/* /stats and /stats/prometheus. */
#include <string.h>

#include "proxy/admin/router.h"
#include "proxy/stats/stats.h"

static void render(struct rs_admin_router *r, const struct rs_admin_request *req,
                   struct rs_admin_response *resp,
                   int (*fn)(struct rs_stats_store *, const struct rs_stats_render_options *,
                             struct rs_strbuf *))
{
    struct rs_stats_render_options opt = {
        .filter = rs_admin_request_param(req, "filter"),
        /* Present at all means yes: "?usedonly" is how Envoy's docs spell it. */
        .used_only = rs_admin_request_param(req, "usedonly") != NULL,
    };
    if (r->stats == NULL)
        return;
    if (fn(r->stats, &opt, &resp->body) != 0) {
        resp->status = 400; /* the renderer wrote the regex error as the body */
        resp->content_type = RS_ADMIN_TEXT;
    }
}

void rs_admin_handle_stats(struct rs_admin_router *r, const struct rs_admin_request *req,
                           struct rs_admin_response *resp)
{
    const char *format = rs_admin_request_param(req, "format");
    if (format == NULL || strcmp(format, "text") == 0) {
        render(r, req, resp, rs_stats_render_text);
    } else if (strcmp(format, "json") == 0) {
        resp->content_type = RS_ADMIN_JSON;
        render(r, req, resp, rs_stats_render_json);
    } else if (strcmp(format, "prometheus") == 0) {
        render(r, req, resp, rs_stats_render_prometheus);
    } else {
        rs_admin_response_text(resp, 400, "usage: /stats?format=(json|prometheus|text)\n");
    }
}

void rs_admin_handle_stats_prometheus(struct rs_admin_router *r, const struct rs_admin_request *req,
                                      struct rs_admin_response *resp)
{
    render(r, req, resp, rs_stats_render_prometheus);
}
