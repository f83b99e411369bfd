/* Socket addresses: parsing, printing, Envoy's stat-name form, CIDR ranges and SO_ORIGINAL_DST. */
#ifndef RS_NET_ADDRESS_H
#define RS_NET_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rs_address {
    struct sockaddr_storage sa;
    socklen_t len;
};

/* An IP literal and port; false if ip is not an IPv4/IPv6 literal. */
bool rs_address_from_ip(struct rs_address *out, const char *ip, uint16_t port);
uint16_t rs_address_port(const struct rs_address *a);
/* "10.0.0.1:80" or "[::1]:80". */
void rs_address_format(const struct rs_address *a, char *out, size_t out_len);
/* Envoy's listener stat form: "10.0.0.1_80", "[::1]_80" with ':' kept inside brackets as '_'. */
void rs_address_stat_name(const struct rs_address *a, char *out, size_t out_len);
bool rs_address_equal(const struct rs_address *a, const struct rs_address *b);
bool rs_address_is_any(const struct rs_address *a);

struct rs_cidr {
    sa_family_t family;
    uint8_t bytes[16];
    uint8_t prefix_len;
};
/* prefix_len beyond the family's width is an error. */
bool rs_cidr_parse(struct rs_cidr *out, const char *ip, uint32_t prefix_len);
bool rs_cidr_contains(const struct rs_cidr *cidr, const struct rs_address *a);

/* The destination a connection had before iptables REDIRECT; falls back to the local address when
 * the connection was not redirected. Returns 0 or -errno. */
int rs_address_original_dst(int fd, struct rs_address *out);

#endif
