#include "proxy/upstream/test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "api/codec/codec.h"

Envoy__Config__Cluster__V3__Cluster *rs_test_cluster_pb(const char *yaml)
{
    char err[512] = "";
    ProtobufCMessage *m = rs_codec_parse_yaml(&envoy__config__cluster__v3__cluster__descriptor,
                                              yaml, strlen(yaml), NULL, err, sizeof(err));
    if (m == NULL)
        fail_msg("YAML does not parse: %s\n%s", err, yaml);
    return (Envoy__Config__Cluster__V3__Cluster *)m;
}

void rs_test_cluster_pb_free(Envoy__Config__Cluster__V3__Cluster *pb)
{
    protobuf_c_message_free_unpacked(&pb->base, NULL);
}

struct rs_cluster *rs_test_cluster(const char *yaml, const struct rs_cluster_env *env)
{
    char err[512] = "";
    Envoy__Config__Cluster__V3__Cluster *pb = rs_test_cluster_pb(yaml);
    struct rs_cluster *c =
        rs_cluster_new(pb, "static_resources.clusters[0]", env, err, sizeof(err));
    rs_test_cluster_pb_free(pb);
    if (c == NULL)
        fail_msg("cluster rejected: %s\n%s", err, yaml);
    return c;
}

const char *rs_test_cluster_error(const char *yaml)
{
    static char err[512];
    err[0] = '\0';
    Envoy__Config__Cluster__V3__Cluster *pb = rs_test_cluster_pb(yaml);
    struct rs_cluster *c =
        rs_cluster_new(pb, "static_resources.clusters[0]", NULL, err, sizeof(err));
    rs_test_cluster_pb_free(pb);
    if (c != NULL) {
        rs_cluster_unref(c);
        fail_msg("cluster accepted, expected an error:\n%s", yaml);
    }
    return err;
}
