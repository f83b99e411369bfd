/* Private to upstream/: validation of envoy.config.cluster.v3.Cluster into struct rs_cluster's
 * configuration fields. Split from cluster.c so that file only deals with the object's life. */
#ifndef RS_UPSTREAM_CLUSTER_CONFIG_H
#define RS_UPSTREAM_CLUSTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/upstream/cluster.h"

/* Fills c's configuration fields (name, type, policy, timeouts, endpoints). On failure returns
 * false with the message in err; whatever was allocated stays in c for rs_cluster_config_clear. */
bool rs_cluster_config_parse(struct rs_cluster *c, const Envoy__Config__Cluster__V3__Cluster *pb,
                             const char *path, char *err, size_t err_len);
void rs_cluster_config_clear(struct rs_cluster *c);

/* Parses an IP literal and port into a socket address; false if `ip` is not an IP literal. */
bool rs_cluster_parse_ip(const char *ip, uint16_t port, struct sockaddr_storage *out,
                         socklen_t *out_len);

#endif
