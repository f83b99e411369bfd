/* One proxied TCP connection: the downstream socket, the upstream attempt(s), and the relay. */
#ifndef RS_TCP_TCP_SESSION_H
#define RS_TCP_TCP_SESSION_H

#include "proxy/net/listener.h"

struct rs_worker;

/* rs_network_filter.on_accept of tcp_proxy: config is a struct rs_tcp_proxy_config. */
void rs_tcp_session_start(struct rs_worker *w, void *config, const struct rs_accepted *a);

#endif
