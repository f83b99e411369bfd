#include "proxy/net/address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

bool rs_address_from_ip(struct rs_address *out, const char *ip, uint16_t port)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->sa;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        out->len = sizeof *v4;
        return true;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        out->len = sizeof *v6;
        return true;
    }
    return false;
}

uint16_t rs_address_port(const struct rs_address *a)
{
    if (a->sa.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
    if (a->sa.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
    return 0;
}

static void format_ip(const struct rs_address *a, char *ip, size_t ip_len)
{
    ip[0] = '\0';
    if (a->sa.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->sa)->sin_addr, ip, (socklen_t)ip_len);
    else if (a->sa.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->sa)->sin6_addr, ip,
                  (socklen_t)ip_len);
}

void rs_address_format(const struct rs_address *a, char *out, size_t out_len)
{
    char ip[INET6_ADDRSTRLEN];
    format_ip(a, ip, sizeof ip);
    if (a->sa.ss_family == AF_INET6)
        snprintf(out, out_len, "[%s]:%u", ip, rs_address_port(a));
    else
        snprintf(out, out_len, "%s:%u", ip, rs_address_port(a));
}

void rs_address_stat_name(const struct rs_address *a, char *out, size_t out_len)
{
    char ip[INET6_ADDRSTRLEN];
    format_ip(a, ip, sizeof ip);
    if (a->sa.ss_family == AF_INET6) {
        /* Stat names use '.' as a separator and ':' is awkward in them: Envoy writes [::1]_80. */
        for (char *p = ip; *p; p++) {
            if (*p == ':')
                *p = '_';
        }
        snprintf(out, out_len, "[%s]_%u", ip, rs_address_port(a));
    } else {
        snprintf(out, out_len, "%s_%u", ip, rs_address_port(a));
    }
}

bool rs_address_equal(const struct rs_address *a, const struct rs_address *b)
{
    if (a->sa.ss_family != b->sa.ss_family)
        return false;
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->sa, *y = (const void *)&b->sa;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->sa, *y = (const void *)&b->sa;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

bool rs_address_is_any(const struct rs_address *a)
{
    if (a->sa.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->sa.ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr);
    return false;
}

bool rs_cidr_parse(struct rs_cidr *out, const char *ip, uint32_t prefix_len)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, ip, out->bytes) == 1) {
        out->family = AF_INET;
        if (prefix_len > 32)
            return false;
    } else if (inet_pton(AF_INET6, ip, out->bytes) == 1) {
        out->family = AF_INET6;
        if (prefix_len > 128)
            return false;
    } else {
        return false;
    }
    out->prefix_len = (uint8_t)prefix_len;
    return true;
}

bool rs_cidr_contains(const struct rs_cidr *cidr, const struct rs_address *a)
{
    const uint8_t *bytes;
    if (a->sa.ss_family != cidr->family)
        return false;
    if (a->sa.ss_family == AF_INET)
        bytes = (const uint8_t *)&((const struct sockaddr_in *)&a->sa)->sin_addr;
    else
        bytes = (const uint8_t *)&((const struct sockaddr_in6 *)&a->sa)->sin6_addr;
    unsigned full = cidr->prefix_len / 8, rest = cidr->prefix_len % 8;
    if (memcmp(bytes, cidr->bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (bytes[full] & mask) == (cidr->bytes[full] & mask);
}

int rs_address_original_dst(int fd, struct rs_address *out)
{
    struct rs_address local;
    local.len = sizeof local.sa;
    if (getsockname(fd, (struct sockaddr *)&local.sa, &local.len) < 0)
        return -errno;
    *out = local;
    socklen_t len = sizeof out->sa;
    int rc;
    if (local.sa.ss_family == AF_INET)
        rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &out->sa, &len);
    else
        rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &out->sa, &len);
    if (rc == 0)
        out->len = len;
    else
        *out =
            local; /* not redirected (no conntrack entry): the local address is the destination */
    return 0;
}
