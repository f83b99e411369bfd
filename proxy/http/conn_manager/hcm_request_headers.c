/* The request header edits Envoy's connection manager makes before the filters run
 * (ConnectionManagerUtility::mutateRequestHeaders), for what the config can express:
 *  - use_remote_address: the peer's IP is appended to x-forwarded-for; a request from an internal
 *    address (loopback, RFC 1918, unique local IPv6) is marked x-envoy-internal: true, any other is
 *    an edge request: the client's x-envoy-* control headers are removed (it must not steer
 *    retries or timeouts) and x-envoy-external-address is set.
 *  - x-forwarded-proto is set to the connection's scheme unless a trusted hop (xff_num_trusted_hops
 *    > 0) already set it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy/http/conn_manager/hcm_internal.h"
#include "proxy/http/header_map.h"

/* Envoy's "Envoy-internal request headers" cleared on edge requests. */
static const char *const internal_headers[] = {
    "x-envoy-decorator-operation",
    "x-envoy-downstream-service-cluster",
    "x-envoy-downstream-service-node",
    "x-envoy-expected-rq-timeout-ms",
    "x-envoy-force-trace",
    "x-envoy-hedge-on-per-try-timeout",
    "x-envoy-internal",
    "x-envoy-ip-tags",
    "x-envoy-max-retries",
    "x-envoy-retriable-header-names",
    "x-envoy-retriable-status-codes",
    "x-envoy-retry-grpc-on",
    "x-envoy-retry-on",
    "x-envoy-upstream-alt-stat-name",
    "x-envoy-upstream-rq-per-try-timeout-ms",
    "x-envoy-upstream-rq-timeout-alt-response",
    "x-envoy-upstream-rq-timeout-ms",
    "x-envoy-upstream-stream-duration-ms",
};

static bool peer_ip(const struct rs_address *a, char *out, size_t len)
{
    if (a->sa.ss_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->sa)->sin_addr, out,
                         (socklen_t)len) != NULL;
    if (a->sa.ss_family == AF_INET6)
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->sa)->sin6_addr, out,
                         (socklen_t)len) != NULL;
    return false;
}

/* Envoy's Utility::isInternalAddress. */
static bool is_internal(const struct rs_address *a)
{
    if (a->sa.ss_family == AF_INET) {
        uint32_t ip = ntohl(((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr);
        return (ip >> 24) == 10 || (ip >> 20) == (172u << 4 | 1) ||
               (ip >> 16) == (192u << 8 | 168) || (ip >> 24) == 127;
    }
    if (a->sa.ss_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)&a->sa)->sin6_addr.s6_addr;
        static const uint8_t loop[16] = {[15] = 1};
        return (b[0] & 0xfe) == 0xfc || memcmp(b, loop, 16) == 0;
    }
    return false;
}

bool hcm_mutate_request_headers(struct hcm_conn *c, struct rs_header_map *m)
{
    const struct rs_hcm_config *cfg = c->cfg;
    bool edge = false;
    char ip[INET6_ADDRSTRLEN];
    if (cfg->use_remote_address && peer_ip(&c->peer, ip, sizeof ip)) {
        const struct rs_hstr *xff = rs_header_map_gets(m, "x-forwarded-for");
        if (xff != NULL && xff->len > 0) {
            char joined[8192];
            int n = snprintf(joined, sizeof joined, "%.*s,%s", (int)xff->len, xff->p, ip);
            if (n > 0 && (size_t)n < sizeof joined)
                rs_header_map_set(m, "x-forwarded-for", 15, joined, (size_t)n);
        } else {
            rs_header_map_set(m, "x-forwarded-for", 15, ip, strlen(ip));
        }
        if (is_internal(&c->peer)) {
            rs_header_map_set(m, "x-envoy-internal", 16, "true", 4);
        } else {
            edge = true;
            for (size_t i = 0; i < sizeof internal_headers / sizeof internal_headers[0]; i++)
                rs_header_map_remove(m, internal_headers[i], strlen(internal_headers[i]));
            rs_header_map_set(m, "x-envoy-external-address", 24, ip, strlen(ip));
        }
    }
    if (cfg->xff_num_trusted_hops == 0 || rs_header_map_gets(m, "x-forwarded-proto") == NULL)
        rs_header_map_set(m, "x-forwarded-proto", 17, "http", 4);
    return edge;
}
