#include "proxy/config/address_config.h"

#include <stdio.h>

#include "api/pbutil/pbutil.h"

int rs_config_address(const Envoy__Config__Core__V3__Address *pb, const char *path,
                      struct rs_address *out, char *err, size_t err_len)
{
    if (pb == NULL) {
        snprintf(err, err_len, "%s: address is required", path);
        return -1;
    }
    if (pb->address_case != ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS) {
        snprintf(err, err_len, "%s: only socket_address is supported by ringside", path);
        return -1;
    }
    const Envoy__Config__Core__V3__SocketAddress *sa = pb->socket_address;
    char sub[512];
    snprintf(sub, sizeof sub, "%s.socket_address", path);
    static const char *const fields[] = {"protocol", "address", "port_value", NULL};
    if (!rs_pb_check_supported(&sa->base, fields, sub, err, err_len))
        return -1;
    if (sa->protocol != ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PROTOCOL__TCP) {
        snprintf(err, err_len, "%s.protocol: only TCP is supported by ringside", sub);
        return -1;
    }
    if (sa->port_specifier_case !=
            ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE &&
        sa->port_specifier_case !=
            ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER__NOT_SET) {
        snprintf(err, err_len, "%s: only port_value is supported by ringside", sub);
        return -1;
    }
    uint32_t port = sa->port_specifier_case ==
                            ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__PORT_SPECIFIER_PORT_VALUE
                        ? sa->port_value
                        : 0;
    if (port > 65535) {
        snprintf(err, err_len, "%s.port_value: %u is out of range (0-65535)", sub, port);
        return -1;
    }
    if (sa->address == NULL || sa->address[0] == '\0') {
        snprintf(err, err_len, "%s.address: is required", sub);
        return -1;
    }
    if (!rs_address_from_ip(out, sa->address, (uint16_t)port)) {
        snprintf(err, err_len, "%s.address: '%s' is not an IP address", sub, sa->address);
        return -1;
    }
    return 0;
}

int rs_config_cidr(const Envoy__Config__Core__V3__CidrRange *pb, const char *path,
                   struct rs_cidr *out, char *err, size_t err_len)
{
    uint32_t len = pb->prefix_len ? pb->prefix_len->value : 0;
    if (!rs_cidr_parse(out, pb->address_prefix ? pb->address_prefix : "", len)) {
        snprintf(err, err_len, "%s: invalid CIDR range '%s/%u'", path,
                 pb->address_prefix ? pb->address_prefix : "", len);
        return -1;
    }
    return 0;
}
