/* Maps an admin request to its endpoint and produces the answer: pure (hooks and the stats store
 * are its only outside world), so every endpoint is tested without sockets. */
#ifndef RS_ADMIN_ROUTER_H
#define RS_ADMIN_ROUTER_H

#include <stdbool.h>

#include "proxy/admin/admin.h"
#include "proxy/admin/request.h"
#include "proxy/admin/response.h"

struct rs_admin_router {
    const struct rs_admin_hooks *hooks; /* not owned */
    struct rs_stats_store *stats;       /* not owned; may be NULL (then /stats is empty) */
    /* Set by /healthcheck/fail, cleared by /healthcheck/ok: /ready then says DRAINING, as
     * Envoy's does, whatever server_state reports. */
    bool healthcheck_failed;
};

/* resp must be rs_admin_response_init'ed; the caller frees it. */
void rs_admin_route(struct rs_admin_router *r, const struct rs_admin_request *req,
                    struct rs_admin_response *resp);

/* ---- endpoints (one file per group) ---- */
typedef void (*rs_admin_handler)(struct rs_admin_router *r, const struct rs_admin_request *req,
                                 struct rs_admin_response *resp);
void rs_admin_handle_help(struct rs_admin_router *r, const struct rs_admin_request *req,
                          struct rs_admin_response *resp);
void rs_admin_handle_stats(struct rs_admin_router *r, const struct rs_admin_request *req,
                           struct rs_admin_response *resp);
void rs_admin_handle_stats_prometheus(struct rs_admin_router *r, const struct rs_admin_request *req,
                                      struct rs_admin_response *resp);
void rs_admin_handle_ready(struct rs_admin_router *r, const struct rs_admin_request *req,
                           struct rs_admin_response *resp);
void rs_admin_handle_server_info(struct rs_admin_router *r, const struct rs_admin_request *req,
                                 struct rs_admin_response *resp);
void rs_admin_handle_clusters(struct rs_admin_router *r, const struct rs_admin_request *req,
                              struct rs_admin_response *resp);
void rs_admin_handle_listeners(struct rs_admin_router *r, const struct rs_admin_request *req,
                               struct rs_admin_response *resp);
void rs_admin_handle_config_dump(struct rs_admin_router *r, const struct rs_admin_request *req,
                                 struct rs_admin_response *resp);
void rs_admin_handle_quit(struct rs_admin_router *r, const struct rs_admin_request *req,
                          struct rs_admin_response *resp);
void rs_admin_handle_healthcheck_fail(struct rs_admin_router *r, const struct rs_admin_request *req,
                                      struct rs_admin_response *resp);
void rs_admin_handle_healthcheck_ok(struct rs_admin_router *r, const struct rs_admin_request *req,
                                    struct rs_admin_response *resp);
void rs_admin_handle_drain_listeners(struct rs_admin_router *r, const struct rs_admin_request *req,
                                     struct rs_admin_response *resp);

/* The endpoint list as /help prints it. */
void rs_admin_help_text(struct rs_strbuf *out);

#endif
