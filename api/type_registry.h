/* Lookup of protobuf-c message descriptors by proto full name, for everything in //api:envoy_pb
 * (Envoy v3 subset, google.rpc, well-known types, nested messages included). The codec uses it to
 * resolve google.protobuf.Any payloads and xDS resource types. */
#ifndef RS_API_TYPE_REGISTRY_H
#define RS_API_TYPE_REGISTRY_H

#include <protobuf-c/protobuf-c.h>

/* "envoy.config.cluster.v3.Cluster" -> its descriptor; NULL if unknown or full_name is NULL. */
const ProtobufCMessageDescriptor *rs_api_find_type(const char *full_name);

/* "type.googleapis.com/envoy.config.cluster.v3.Cluster" -> its descriptor. Only the part after the
 * last '/' counts, as for google.protobuf.Any; a URL with no '/' is not a type URL and gives NULL.
 */
const ProtobufCMessageDescriptor *rs_api_find_type_url(const char *type_url);

#endif
