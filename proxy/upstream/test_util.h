/* Test helpers: Cluster protos from YAML through the config codec, as the bootstrap loader does. */
#ifndef RS_UPSTREAM_TEST_UTIL_H
#define RS_UPSTREAM_TEST_UTIL_H

#include <stddef.h>

#include "proxy/upstream/cluster.h"

/* Parses one Cluster (fails the test on a parse error). Free with rs_test_cluster_pb_free. */
Envoy__Config__Cluster__V3__Cluster *rs_test_cluster_pb(const char *yaml);
void rs_test_cluster_pb_free(Envoy__Config__Cluster__V3__Cluster *pb);

/* Builds a cluster from YAML at path "static_resources.clusters[0]"; fails the test on error. */
struct rs_cluster *rs_test_cluster(const char *yaml, const struct rs_cluster_env *env);
/* Expects rs_cluster_new to reject the YAML; returns its error (static buffer). */
const char *rs_test_cluster_error(const char *yaml);

#endif
