/* Envoy's admin API (/ready, /stats, /stats/prometheus, /server_info, /clusters, /listeners,
 * /config_dump, /quitquitquit, /healthcheck/fail|ok, /drain_listeners, /help) served over a small
 * strict HTTP/1.1 server on the main thread's loop.
 *
 * Everything here runs on the thread that owns the loop: rs_admin_start, rs_admin_stop and every
 * hook call. */
#ifndef RS_ADMIN_ADMIN_H
#define RS_ADMIN_ADMIN_H

#include <stdbool.h>
#include <sys/socket.h>

struct rs_loop;
struct rs_strbuf;
struct rs_stats_store;

/* Requests (head and body) larger than this are refused: 431 for the head, 413 for the body. */
#define RS_ADMIN_MAX_REQUEST (64u * 1024u)
/* Connections past this many are closed as soon as they are accepted (and counted in
 * listener.admin.downstream_cx_overflow). */
#define RS_ADMIN_MAX_CONNECTIONS 256u
/* A connection with no request in progress (or a client that does not read) is closed after this.
 */
#define RS_ADMIN_IDLE_TIMEOUT_MS 30000u

enum rs_server_state {
    RS_SERVER_PRE_INITIALIZING,
    RS_SERVER_INITIALIZING,
    RS_SERVER_LIVE,
    RS_SERVER_DRAINING,
};
/* "PRE_INITIALIZING", "INITIALIZING", "LIVE", "DRAINING" (Envoy's names). */
const char *rs_admin_server_state_name(enum rs_server_state state);

/* Implemented by the proxy's main; ctx is passed back. A NULL function makes its endpoint answer
 * 501 (or, for set_healthcheck_failed and drain_listeners, only skip the call). */
struct rs_admin_hooks {
    void *ctx;
    enum rs_server_state (*server_state)(void *ctx);
    void (*server_info)(void *ctx, struct rs_strbuf *out); /* JSON body */
    void (*clusters)(void *ctx, bool json, struct rs_strbuf *out);
    void (*listeners)(void *ctx, bool json, struct rs_strbuf *out);
    /* resource: the ?resource= value or NULL. Returns the HTTP status; out is its body (JSON when
     * 200, a message otherwise). */
    int (*config_dump)(void *ctx, const char *resource, struct rs_strbuf *out);
    void (*set_healthcheck_failed)(void *ctx, bool failed);
    void (*drain_listeners)(void *ctx, bool graceful, bool inboundonly);
    /* /quitquitquit: called once the "OK" answer has been sent (or the send failed), so the
     * caller sees the answer before the process goes away. */
    void (*quit)(void *ctx);
    /* Optional: the admin freed itself after rs_admin_stop (all its io_uring operations have
     * completed); the loop may be freed from here on. */
    void (*stopped)(void *ctx);
};

struct rs_admin;

/* Binds and listens on addr (port 0 picks one: see rs_admin_port) and starts accepting on loop.
 * stats: where the admin's own counters live and what /stats renders. hooks is copied. Returns
 * NULL with a reason in err on failure. */
struct rs_admin *rs_admin_start(struct rs_loop *loop, const struct sockaddr *addr,
                                socklen_t addr_len, struct rs_stats_store *stats,
                                const struct rs_admin_hooks *hooks, char *err, size_t err_len);
/* The bound port (host order). */
int rs_admin_port(const struct rs_admin *admin);
/* Changes the idle timeout (RS_ADMIN_IDLE_TIMEOUT_MS by default) for timers armed from now on. */
void rs_admin_set_idle_timeout(struct rs_admin *admin, unsigned ms);
/* Closes the listener and every connection; the admin frees itself (and calls hooks->stopped)
 * once its operations have drained, so the loop must keep running until then. */
void rs_admin_stop(struct rs_admin *admin);

#endif
