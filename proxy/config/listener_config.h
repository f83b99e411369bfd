/* envoy.config.listener.v3.Listener -> rs_listener. */
#ifndef RS_CONFIG_LISTENER_CONFIG_H
#define RS_CONFIG_LISTENER_CONFIG_H

#include <stddef.h>

#include "envoy/config/listener/v3/listener.pb-c.h"
#include "proxy/config/config.h"

struct rs_listener *rs_config_listener(const Envoy__Config__Listener__V3__Listener *pb,
                                       const char *path, struct rs_config *cfg,
                                       const struct rs_config_env *env, char *err, size_t err_len);

#endif
