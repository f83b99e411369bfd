#include "test/api_wire/checks.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb-c.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "test/api_wire/json_dump.h"

struct out {
    FILE *f;
    bool first;
};

static void key(struct out *o, const char *k)
{
    fprintf(o->f, "%s\"%s\":", o->first ? "" : ",", k);
    o->first = false;
}

/* A missing intermediate message is reported as null rather than crashing the tool. */
static void put_str(struct out *o, const char *k, const char *v)
{
    key(o, k);
    if (v)
        json_dump_string(o->f, v, strlen(v));
    else
        fputs("null", o->f);
}

static void put_int(struct out *o, const char *k, bool ok, int64_t v)
{
    key(o, k);
    if (ok)
        fprintf(o->f, "%" PRId64, v);
    else
        fputs("null", o->f);
}

static const Envoy__Config__Core__V3__SocketAddress *
socket_address(const Envoy__Config__Core__V3__Address *a)
{
    if (a == NULL || a->address_case != ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS)
        return NULL;
    return a->socket_address;
}

static int64_t port(const Envoy__Config__Core__V3__Address *a, bool *ok)
{
    const Envoy__Config__Core__V3__SocketAddress *s = socket_address(a);
    *ok = s && s->port_specifier_case ==
                   ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE;
    return *ok ? s->port_value : 0;
}

static void tcp_proxy_checks(struct out *o, const Google__Protobuf__Any *any)
{
    Envoy__Extensions__Filters__Network__TcpProxy__V3__TcpProxy *tp = NULL;
    if (any && strcmp(any->type_url, "type.googleapis.com/"
                                     "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy") == 0)
        tp = envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__unpack(
            NULL, any->value.len, any->value.data);
    put_str(o, "listener.tcp_proxy.stat_prefix", tp ? tp->stat_prefix : NULL);
    bool is_cluster =
        tp &&
        tp->cluster_specifier_case ==
            ENVOY__EXTENSIONS__FILTERS__NETWORK__TCP_PROXY__V3__TCP_PROXY__CLUSTER_SPECIFIER_CLUSTER;
    put_str(o, "listener.tcp_proxy.cluster", is_cluster ? tp->cluster : NULL);
    if (tp)
        envoy__extensions__filters__network__tcp_proxy__v3__tcp_proxy__free_unpacked(tp, NULL);
}

static void bootstrap(struct out *o, const Envoy__Config__Bootstrap__V3__Bootstrap *b)
{
    bool ok;
    put_str(o, "node.id", b->node ? b->node->id : NULL);
    int64_t admin_port = port(b->admin ? b->admin->address : NULL, &ok);
    put_int(o, "admin.port", ok, admin_port);

    const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr = b->static_resources;
    const Envoy__Config__Listener__V3__Listener *l =
        sr && sr->n_listeners ? sr->listeners[0] : NULL;
    put_str(o, "listener.name", l ? l->name : NULL);
    int64_t lport = port(l ? l->address : NULL, &ok);
    put_int(o, "listener.port", ok, lport);
    const Envoy__Config__Listener__V3__Filter *f =
        l && l->n_filter_chains && l->filter_chains[0]->n_filters ? l->filter_chains[0]->filters[0]
                                                                  : NULL;
    bool typed =
        f && f->config_type_case == ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG;
    tcp_proxy_checks(o, typed ? f->typed_config : NULL);

    const Envoy__Config__Cluster__V3__Cluster *c = sr && sr->n_clusters ? sr->clusters[0] : NULL;
    put_str(o, "cluster.name", c ? c->name : NULL);
    put_int(o, "cluster.connect_timeout.seconds", c && c->connect_timeout,
            c && c->connect_timeout ? c->connect_timeout->seconds : 0);
    put_int(o, "cluster.connect_timeout.nanos", c && c->connect_timeout,
            c && c->connect_timeout ? c->connect_timeout->nanos : 0);
    put_int(o, "cluster.lb_policy", c != NULL, c ? (int64_t)c->lb_policy : 0);
    const Envoy__Config__Endpoint__V3__ClusterLoadAssignment *la = c ? c->load_assignment : NULL;
    const Envoy__Config__Endpoint__V3__LbEndpoint *ep =
        la && la->n_endpoints && la->endpoints[0]->n_lb_endpoints
            ? la->endpoints[0]->lb_endpoints[1 < la->endpoints[0]->n_lb_endpoints ? 1 : 0]
            : NULL;
    bool has_ep = ep && ep->host_identifier_case ==
                            ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__HOST_IDENTIFIER_ENDPOINT;
    int64_t eport = port(has_ep ? ep->endpoint->address : NULL, &ok);
    put_int(o, "cluster.endpoint[1].port", ok, eport);
    put_int(o, "cluster.endpoint[1].weight", ep && ep->load_balancing_weight,
            ep && ep->load_balancing_weight ? ep->load_balancing_weight->value : 0);

    const Envoy__Config__Cluster__V3__Cluster *dns =
        sr && sr->n_clusters > 1 ? sr->clusters[1] : NULL;
    bool typed_dns = dns && dns->cluster_discovery_type_case ==
                                ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE;
    put_int(o, "dns_cluster.type", typed_dns, typed_dns ? (int64_t)dns->type : 0);
    put_int(o, "dns_cluster.dns_lookup_family", dns != NULL,
            dns ? (int64_t)dns->dns_lookup_family : 0);
}

static void route_configuration(struct out *o,
                                const Envoy__Config__Route__V3__RouteConfiguration *rc)
{
    put_str(o, "name", rc->name);
    const Envoy__Config__Route__V3__VirtualHost *vh =
        rc->n_virtual_hosts ? rc->virtual_hosts[0] : NULL;
    put_str(o, "vhost.domain[0]", vh && vh->n_domains ? vh->domains[0] : NULL);
    const Envoy__Config__Route__V3__Route *r = vh && vh->n_routes ? vh->routes[0] : NULL;
    bool is_route = r && r->action_case == ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_ROUTE;
    const Envoy__Config__Route__V3__RouteAction *ra = is_route ? r->route : NULL;
    bool weighted =
        ra && ra->cluster_specifier_case ==
                  ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS;
    const Envoy__Config__Route__V3__WeightedCluster__ClusterWeight *cw =
        weighted && ra->weighted_clusters->n_clusters > 1 ? ra->weighted_clusters->clusters[1]
                                                          : NULL;
    put_str(o, "route.weighted[1].name", cw ? cw->name : NULL);
    put_int(o, "route.weighted[1].weight", cw && cw->weight,
            cw && cw->weight ? cw->weight->value : 0);
    const Envoy__Config__Route__V3__RetryPolicy *rp = ra ? ra->retry_policy : NULL;
    put_int(o, "route.retry.num_retries", rp && rp->num_retries,
            rp && rp->num_retries ? rp->num_retries->value : 0);
    put_str(o, "route.retry.retry_on", rp ? rp->retry_on : NULL);
}

static void http_connection_manager(
    struct out *o,
    const Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager *h)
{
    put_str(o, "stat_prefix", h->stat_prefix);
    put_int(o, "codec_type", true, h->codec_type);
    put_str(o, "http_filter[0].name", h->n_http_filters ? h->http_filters[0]->name : NULL);
}

static void
upstream_tls_context(struct out *o,
                     const Envoy__Extensions__TransportSockets__Tls__V3__UpstreamTlsContext *t)
{
    put_str(o, "sni", t->sni);
    const Envoy__Extensions__TransportSockets__Tls__V3__CommonTlsContext *c = t->common_tls_context;
    put_str(o, "alpn[0]", c && c->n_alpn_protocols ? c->alpn_protocols[0] : NULL);
}

static void discovery_request(struct out *o,
                              const Envoy__Service__Discovery__V3__DiscoveryRequest *r)
{
    put_str(o, "type_url", r->type_url);
    put_str(o, "response_nonce", r->response_nonce);
    put_int(o, "error_detail.code", r->error_detail != NULL,
            r->error_detail ? r->error_detail->code : 0);
}

static void discovery_response(struct out *o,
                               const Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    put_str(o, "version_info", r->version_info);
    put_int(o, "n_resources", true, (int64_t)r->n_resources);
    put_str(o, "resource[0].type_url", r->n_resources ? r->resources[0]->type_url : NULL);
}

void checks_write(FILE *f, const ProtobufCMessage *msg)
{
    struct out o = {f, true};
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    fputc('{', f);
    if (d == &envoy__config__bootstrap__v3__bootstrap__descriptor)
        bootstrap(&o, (const void *)msg);
    else if (d == &envoy__config__route__v3__route_configuration__descriptor)
        route_configuration(&o, (const void *)msg);
    else if (
        d ==
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor)
        http_connection_manager(&o, (const void *)msg);
    else if (d == &envoy__extensions__transport_sockets__tls__v3__upstream_tls_context__descriptor)
        upstream_tls_context(&o, (const void *)msg);
    else if (d == &envoy__service__discovery__v3__discovery_request__descriptor)
        discovery_request(&o, (const void *)msg);
    else if (d == &envoy__service__discovery__v3__discovery_response__descriptor)
        discovery_response(&o, (const void *)msg);
    fputc('}', f);
}
