/* envoy.config.core.v3.Address -> rs_address (socket addresses with IP literals only). */
#ifndef RS_CONFIG_ADDRESS_CONFIG_H
#define RS_CONFIG_ADDRESS_CONFIG_H

#include <stddef.h>

#include "envoy/config/core/v3/address.pb-c.h"
#include "proxy/net/address.h"

int rs_config_address(const Envoy__Config__Core__V3__Address *pb, const char *path,
                      struct rs_address *out, char *err, size_t err_len);
int rs_config_cidr(const Envoy__Config__Core__V3__CidrRange *pb, const char *path,
                   struct rs_cidr *out, char *err, size_t err_len);

#endif
