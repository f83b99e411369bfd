/* Envoy's default tag extraction: which parts of a stat name become Prometheus labels
 * ("cluster.backend.upstream_rq_200" -> "cluster.upstream_rq" with envoy.response_code="200" and
 * envoy.cluster_name="backend"). Each extractor looks at the full original name, as Envoy's do;
 * the parts they claim are removed together at the end. */
#ifndef RS_STATS_TAGS_H
#define RS_STATS_TAGS_H

#include <stddef.h>

#define RS_STATS_MAX_TAGS 16 /* one per extractor */

struct rs_stats_tag {
    const char *name; /* Envoy's tag name, e.g. "envoy.cluster_name" (static) */
    size_t value_off; /* the value is name[value_off, value_off + value_len) */
    size_t value_len;
};

/* Writes the tag-extracted name to `extracted` (room for strlen(name) + 1 bytes) and up to
 * RS_STATS_MAX_TAGS tags, in Envoy's extractor order. Returns the number of tags. */
size_t rs_stats_extract_tags(const char *name, char *extracted, struct rs_stats_tag *tags);

#endif
