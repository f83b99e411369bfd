#include "proxy/upstream/cluster_config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "envoy/config/core/v3/address.pb-c.h"
#include "envoy/config/core/v3/base.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint_components.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_BUFFER_LIMIT (1024u * 1024u)
#define DEFAULT_DNS_REFRESH_MS 5000u
#define DEFAULT_CLEANUP_MS 5000u
#define DEFAULT_CHOICE_COUNT 2u

/* Paths grow as we descend; 512 bytes is far beyond any real config's nesting. */
#define PATH_LEN 512

/* vsnprintf through a helper: paths are truncated (never overflowed) in absurdly deep configs, and
 * GCC's -Wformat-truncation cannot prove the bound for these nested paths. */
__attribute__((format(printf, 3, 4))) static void path_fmt(char *out, size_t len, const char *fmt,
                                                           ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 5, 6))) static bool fail(char *err, size_t err_len, const char *path,
                                                       const char *field, const char *fmt, ...)
{
    int n = snprintf(err, err_len, "%s%s%s: ", path, field[0] ? "." : "", field);
    if (n >= 0 && (size_t)n < err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool rs_cluster_parse_ip(const char *ip, uint16_t port, struct sockaddr_storage *out,
                         socklen_t *out_len)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        *out_len = sizeof(*in);
        return true;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *out_len = sizeof(*in6);
        return true;
    }
    return false;
}

/* A Duration that Envoy constrains to be > 0. */
static bool positive_duration(const Google__Protobuf__Duration *d, unsigned long long fallback,
                              uint64_t *out, const char *path, const char *field, char *err,
                              size_t err_len)
{
    if (d != NULL && (d->seconds < 0 || d->nanos < 0 || (d->seconds == 0 && d->nanos == 0)))
        return fail(err, err_len, path, field, "must be greater than 0");
    *out = rs_pb_duration_ms(d, fallback);
    return true;
}

static bool parse_locality(const Envoy__Config__Core__V3__Locality *pb, struct rs_locality *out,
                           const char *path, char *err, size_t err_len)
{
    static const char *const supported[] = {"region", "zone", "sub_zone", NULL};
    if (pb != NULL && !rs_pb_check_supported(&pb->base, supported, path, err, err_len))
        return false;
    out->region = strdup(pb != NULL ? pb->region : "");
    out->zone = strdup(pb != NULL ? pb->zone : "");
    out->sub_zone = strdup(pb != NULL ? pb->sub_zone : "");
    if (out->region == NULL || out->zone == NULL || out->sub_zone == NULL)
        return fail(err, err_len, path, "", "out of memory");
    return true;
}

static bool parse_lb_endpoint(struct rs_cluster *c,
                              const Envoy__Config__Endpoint__V3__LbEndpoint *pb, const char *path,
                              const Envoy__Config__Core__V3__Locality *locality,
                              const char *locality_path, char *err, size_t err_len)
{
    static const char *const lb_supported[] = {"endpoint", "load_balancing_weight", NULL};
    static const char *const ep_supported[] = {"address", "hostname", NULL};
    static const char *const addr_supported[] = {"socket_address", NULL};
    static const char *const sa_supported[] = {"address", "port_value", NULL};
    char p[PATH_LEN];

    if (!rs_pb_check_supported(&pb->base, lb_supported, path, err, err_len))
        return false;
    if (pb->host_identifier_case !=
        ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__HOST_IDENTIFIER_ENDPOINT)
        return fail(err, err_len, path, "endpoint", "is required");
    uint32_t weight = 1;
    if (pb->load_balancing_weight != NULL) {
        weight = pb->load_balancing_weight->value;
        if (weight < 1)
            return fail(err, err_len, path, "load_balancing_weight", "must be at least 1");
    }

    const Envoy__Config__Endpoint__V3__Endpoint *ep = pb->endpoint;
    path_fmt(p, sizeof(p), "%s.endpoint", path);
    if (!rs_pb_check_supported(&ep->base, ep_supported, p, err, err_len))
        return false;
    if (ep->address == NULL)
        return fail(err, err_len, p, "address", "is required");
    path_fmt(p, sizeof(p), "%s.endpoint.address", path);
    if (!rs_pb_check_supported(&ep->address->base, addr_supported, p, err, err_len))
        return false;
    if (ep->address->address_case != ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS)
        return fail(err, err_len, p, "socket_address", "is required");
    const Envoy__Config__Core__V3__SocketAddress *sa = ep->address->socket_address;
    path_fmt(p, sizeof(p), "%s.endpoint.address.socket_address", path);
    if (!rs_pb_check_supported(&sa->base, sa_supported, p, err, err_len))
        return false;
    if (sa->address[0] == '\0')
        return fail(err, err_len, p, "address", "must not be empty");
    uint32_t port = sa->port_specifier_case ==
                            ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE
                        ? sa->port_value
                        : 0;
    if (port > 65535)
        return fail(err, err_len, p, "port_value", "must be at most 65535, got %u", port);

    if (c->type == RS_CLUSTER_STATIC) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (!rs_cluster_parse_ip(sa->address, (uint16_t)port, &ss, &len))
            return fail(err, err_len, p, "address",
                        "'%s' is not an IP address; a STATIC cluster needs IP literals (use type "
                        "STRICT_DNS for host names)",
                        sa->address);
    }

    struct rs_cluster_endpoint *e = &c->endpoints[c->n_endpoints++];
    e->port = (uint16_t)port;
    e->weight = weight;
    e->address = strdup(sa->address);
    e->hostname = strdup(ep->hostname);
    if (e->address == NULL || e->hostname == NULL)
        return fail(err, err_len, path, "", "out of memory");
    return parse_locality(locality, &e->locality, locality_path, err, err_len);
}

static bool parse_load_assignment(struct rs_cluster *c,
                                  const Envoy__Config__Endpoint__V3__ClusterLoadAssignment *la,
                                  const char *path, char *err, size_t err_len)
{
    static const char *const la_supported[] = {"cluster_name", "endpoints", NULL};
    static const char *const lle_supported[] = {"locality", "lb_endpoints", "priority", NULL};
    char p[PATH_LEN], ep_path[PATH_LEN], loc_path[PATH_LEN];

    path_fmt(p, sizeof(p), "%s.load_assignment", path);
    if (!rs_pb_check_supported(&la->base, la_supported, p, err, err_len))
        return false;
    if (la->cluster_name[0] == '\0')
        return fail(err, err_len, p, "cluster_name", "must not be empty");

    size_t total = 0;
    for (size_t i = 0; i < la->n_endpoints; i++)
        total += la->endpoints[i]->n_lb_endpoints;
    c->endpoints = calloc(total > 0 ? total : 1, sizeof(*c->endpoints));
    if (c->endpoints == NULL)
        return fail(err, err_len, p, "", "out of memory");

    for (size_t i = 0; i < la->n_endpoints; i++) {
        const Envoy__Config__Endpoint__V3__LocalityLbEndpoints *lle = la->endpoints[i];
        path_fmt(p, sizeof(p), "%s.load_assignment.endpoints[%zu]", path, i);
        if (!rs_pb_check_supported(&lle->base, lle_supported, p, err, err_len))
            return false;
        if (lle->priority != 0)
            return fail(err, err_len, p, "priority",
                        "priorities other than 0 are not supported yet (got %u)", lle->priority);
        path_fmt(loc_path, sizeof(loc_path), "%s.locality", p);
        for (size_t j = 0; j < lle->n_lb_endpoints; j++) {
            path_fmt(ep_path, sizeof(ep_path), "%s.lb_endpoints[%zu]", p, j);
            if (!parse_lb_endpoint(c, lle->lb_endpoints[j], ep_path, lle->locality, loc_path, err,
                                   err_len))
                return false;
        }
    }
    return true;
}

static bool parse_type(struct rs_cluster *c, const Envoy__Config__Cluster__V3__Cluster *pb,
                       const char *path, char *err, size_t err_len)
{
    /* An unset oneof means the proto3 default, STATIC. */
    Envoy__Config__Cluster__V3__Cluster__DiscoveryType t =
        pb->cluster_discovery_type_case ==
                ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE
            ? pb->type
            : ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STATIC;
    switch (t) {
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STATIC:
        c->type = RS_CLUSTER_STATIC;
        return true;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STRICT_DNS:
        c->type = RS_CLUSTER_STRICT_DNS;
        return true;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__ORIGINAL_DST:
        c->type = RS_CLUSTER_ORIGINAL_DST;
        return true;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__LOGICAL_DNS:
        return fail(err, err_len, path, "type", "LOGICAL_DNS is not supported yet");
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__EDS:
        return fail(err, err_len, path, "type", "EDS is not supported yet");
    default:
        return fail(err, err_len, path, "type", "unknown discovery type %d", (int)t);
    }
}

static bool parse_lb_policy(struct rs_cluster *c, const Envoy__Config__Cluster__V3__Cluster *pb,
                            const char *path, char *err, size_t err_len)
{
    switch (pb->lb_policy) {
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__ROUND_ROBIN:
        c->lb_policy = RS_LB_ROUND_ROBIN;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__LEAST_REQUEST:
        c->lb_policy = RS_LB_LEAST_REQUEST;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__RANDOM:
        c->lb_policy = RS_LB_RANDOM;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__CLUSTER_PROVIDED:
        c->lb_policy = RS_LB_CLUSTER_PROVIDED;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__RING_HASH:
        return fail(err, err_len, path, "lb_policy", "RING_HASH is not supported yet");
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__MAGLEV:
        return fail(err, err_len, path, "lb_policy", "MAGLEV is not supported yet");
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__LOAD_BALANCING_POLICY_CONFIG:
        return fail(err, err_len, path, "lb_policy",
                    "LOAD_BALANCING_POLICY_CONFIG is not supported yet");
    default:
        return fail(err, err_len, path, "lb_policy", "unknown policy %d", (int)pb->lb_policy);
    }
    /* As Envoy: ORIGINAL_DST clusters pick their host from the connection, so only
     * CLUSTER_PROVIDED makes sense for them, and CLUSTER_PROVIDED means nothing elsewhere. */
    if (c->type == RS_CLUSTER_ORIGINAL_DST && c->lb_policy != RS_LB_CLUSTER_PROVIDED)
        return fail(err, err_len, path, "lb_policy",
                    "%s is not valid for cluster type ORIGINAL_DST; only CLUSTER_PROVIDED is",
                    rs_cluster_lb_policy_name(c->lb_policy));
    if (c->type != RS_CLUSTER_ORIGINAL_DST && c->lb_policy == RS_LB_CLUSTER_PROVIDED)
        return fail(err, err_len, path, "lb_policy",
                    "CLUSTER_PROVIDED is only valid for cluster type ORIGINAL_DST, not %s",
                    rs_cluster_type_name(c->type));
    return true;
}

static bool parse_lb_config(struct rs_cluster *c, const Envoy__Config__Cluster__V3__Cluster *pb,
                            const char *path, char *err, size_t err_len)
{
    char p[PATH_LEN];
    c->lr_choice_count = DEFAULT_CHOICE_COUNT;
    switch (pb->lb_config_case) {
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG__NOT_SET:
        return true;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG_ROUND_ROBIN_LB_CONFIG: {
        static const char *const supported[] = {NULL};
        path_fmt(p, sizeof(p), "%s.round_robin_lb_config", path);
        if (c->lb_policy != RS_LB_ROUND_ROBIN)
            return fail(err, err_len, p, "", "only valid with lb_policy ROUND_ROBIN");
        return rs_pb_check_supported(&pb->round_robin_lb_config->base, supported, p, err, err_len);
    }
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG_LEAST_REQUEST_LB_CONFIG: {
        static const char *const supported[] = {"choice_count", NULL};
        const Envoy__Config__Cluster__V3__Cluster__LeastRequestLbConfig *lr =
            pb->least_request_lb_config;
        path_fmt(p, sizeof(p), "%s.least_request_lb_config", path);
        if (c->lb_policy != RS_LB_LEAST_REQUEST)
            return fail(err, err_len, p, "", "only valid with lb_policy LEAST_REQUEST");
        if (!rs_pb_check_supported(&lr->base, supported, p, err, err_len))
            return false;
        if (lr->choice_count != NULL) {
            if (lr->choice_count->value < 2)
                return fail(err, err_len, p, "choice_count", "must be at least 2, got %u",
                            lr->choice_count->value);
            c->lr_choice_count = lr->choice_count->value;
        }
        return true;
    }
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG_ORIGINAL_DST_LB_CONFIG: {
        static const char *const supported[] = {"use_http_header", "upstream_port_override", NULL};
        const Envoy__Config__Cluster__V3__Cluster__OriginalDstLbConfig *od =
            pb->original_dst_lb_config;
        path_fmt(p, sizeof(p), "%s.original_dst_lb_config", path);
        if (c->type != RS_CLUSTER_ORIGINAL_DST)
            return fail(err, err_len, p, "", "only valid with cluster type ORIGINAL_DST");
        if (!rs_pb_check_supported(&od->base, supported, p, err, err_len))
            return false;
        if (od->use_http_header)
            return fail(err, err_len, p, "use_http_header", "not supported yet");
        if (od->upstream_port_override != NULL) {
            uint32_t port = od->upstream_port_override->value;
            if (port == 0 || port > 65535)
                return fail(err, err_len, p, "upstream_port_override",
                            "must be between 1 and 65535, got %u", port);
            c->odst_port_override = (uint16_t)port;
        }
        return true;
    }
    default:
        /* ring_hash_lb_config and maglev_lb_config go with policies rejected above. */
        return rs_pb_check_supported(
            &pb->base, (const char *const[]){"round_robin_lb_config", NULL}, path, err, err_len);
    }
}

bool rs_cluster_config_parse(struct rs_cluster *c, const Envoy__Config__Cluster__V3__Cluster *pb,
                             const char *path, char *err, size_t err_len)
{
    static const char *const supported[] = {
        "name",
        "type",
        "connect_timeout",
        "per_connection_buffer_limit_bytes",
        "lb_policy",
        "load_assignment",
        "dns_refresh_rate",
        "dns_lookup_family",
        "cleanup_interval",
        "original_dst_lb_config",
        "least_request_lb_config",
        "round_robin_lb_config",
        NULL,
    };

    if (!parse_type(c, pb, path, err, err_len))
        return false;
    if (!rs_pb_check_supported(&pb->base, supported, path, err, err_len))
        return false;
    if (pb->name[0] == '\0')
        return fail(err, err_len, path, "name", "must not be empty");
    c->name = strdup(pb->name);
    if (c->name == NULL)
        return fail(err, err_len, path, "name", "out of memory");

    if (!parse_lb_policy(c, pb, path, err, err_len) || !parse_lb_config(c, pb, path, err, err_len))
        return false;

    if (!positive_duration(pb->connect_timeout, DEFAULT_CONNECT_TIMEOUT_MS, &c->connect_timeout_ms,
                           path, "connect_timeout", err, err_len) ||
        !positive_duration(pb->dns_refresh_rate, DEFAULT_DNS_REFRESH_MS, &c->dns_refresh_rate_ms,
                           path, "dns_refresh_rate", err, err_len) ||
        !positive_duration(pb->cleanup_interval, DEFAULT_CLEANUP_MS, &c->cleanup_interval_ms, path,
                           "cleanup_interval", err, err_len))
        return false;

    c->per_connection_buffer_limit_bytes = pb->per_connection_buffer_limit_bytes != NULL
                                               ? pb->per_connection_buffer_limit_bytes->value
                                               : DEFAULT_BUFFER_LIMIT;

    switch (pb->dns_lookup_family) {
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__AUTO:
        c->dns_family = RS_DNS_AUTO;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__V4_ONLY:
        c->dns_family = RS_DNS_V4_ONLY;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__V6_ONLY:
        c->dns_family = RS_DNS_V6_ONLY;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__V4_PREFERRED:
        c->dns_family = RS_DNS_V4_PREFERRED;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DNS_LOOKUP_FAMILY__ALL:
        c->dns_family = RS_DNS_ALL;
        break;
    default:
        return fail(err, err_len, path, "dns_lookup_family", "unknown value %d",
                    (int)pb->dns_lookup_family);
    }

    if (c->type == RS_CLUSTER_ORIGINAL_DST) {
        /* As Envoy: the destination comes from each connection, so endpoints make no sense. */
        if (pb->load_assignment != NULL)
            return fail(err, err_len, path, "load_assignment",
                        "ORIGINAL_DST clusters must not have a load_assignment");
        return true;
    }
    if (pb->load_assignment == NULL)
        return true; /* no endpoints: picks return no host, as Envoy's empty clusters */
    return parse_load_assignment(c, pb->load_assignment, path, err, err_len);
}

void rs_cluster_config_clear(struct rs_cluster *c)
{
    for (size_t i = 0; i < c->n_endpoints; i++) {
        struct rs_cluster_endpoint *e = &c->endpoints[i];
        free(e->address);
        free(e->hostname);
        free(e->locality.region);
        free(e->locality.zone);
        free(e->locality.sub_zone);
    }
    free(c->endpoints);
    free(c->name);
    c->endpoints = NULL;
    c->n_endpoints = 0;
    c->name = NULL;
}
