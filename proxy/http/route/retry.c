/* retry_policy (route or virtual host) and request_mirror_policies (any level). */
#include <stdio.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "envoy/type/v3/percent.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "proxy/http/route/route_internal.h"

#define DEFAULT_BASE_INTERVAL_MS 25u
#define PREVIOUS_HOSTS_NAME "envoy.retry_host_predicates.previous_hosts"
#define PREVIOUS_HOSTS_TYPE "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"

struct retry_name {
    const char *name;
    uint32_t flag; /* 0: Envoy knows it, Ringside does not implement it */
};

/* Every retry_on name Envoy recognises (HTTP and gRPC). */
static const struct retry_name retry_names[] = {
    {"5xx", RS_RETRY_ON_5XX},
    {"gateway-error", RS_RETRY_ON_GATEWAY_ERROR},
    {"reset", RS_RETRY_ON_RESET},
    {"connect-failure", RS_RETRY_ON_CONNECT_FAILURE},
    {"retriable-4xx", RS_RETRY_ON_RETRIABLE_4XX},
    {"refused-stream", RS_RETRY_ON_REFUSED_STREAM},
    {"retriable-status-codes", RS_RETRY_ON_RETRIABLE_STATUS_CODES},
    {"cancelled", RS_RETRY_ON_GRPC_CANCELLED},
    {"deadline-exceeded", RS_RETRY_ON_GRPC_DEADLINE_EXCEEDED},
    {"resource-exhausted", RS_RETRY_ON_GRPC_RESOURCE_EXHAUSTED},
    {"unavailable", RS_RETRY_ON_GRPC_UNAVAILABLE},
    {"internal", RS_RETRY_ON_GRPC_INTERNAL},
    {"retriable-headers", 0},
    {"envoy-ratelimited", 0},
    {"reset-before-request", 0},
    {"http3-post-connect-failure", 0},
};

uint32_t rs_route_parse_retry_on(const char *s, size_t len, char *unsupported_buf,
                                 size_t unsupported_len)
{
    uint32_t flags = 0;
    bool reported = false;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != ',')
            end++;
        size_t a = i, b = end;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        for (size_t k = 0; k < sizeof retry_names / sizeof retry_names[0]; k++) {
            const char *n = retry_names[k].name;
            if (strlen(n) != b - a || memcmp(n, s + a, b - a) != 0)
                continue;
            flags |= retry_names[k].flag;
            if (retry_names[k].flag == 0 && !reported && unsupported_buf != NULL &&
                unsupported_len > 0) {
                snprintf(unsupported_buf, unsupported_len, "%s", n);
                reported = true;
            }
            break;
        }
        i = end + 1;
    }
    return flags;
}

static const char *const retry_fields[] = {
    "retry_on",
    "num_retries",
    "per_try_timeout",
    "retry_host_predicate",
    "host_selection_retry_max_attempts",
    "retriable_status_codes",
    "retry_back_off",
    NULL,
};
static const char *const predicate_fields[] = {"name", "typed_config", NULL};
static const char *const back_off_fields[] = {"base_interval", "max_interval", NULL};

static int compile_back_off(const Envoy__Config__Route__V3__RetryPolicy__RetryBackOff *pb,
                            const char *path, struct rs_route_retry_policy *p, char *err,
                            size_t err_len)
{
    if (!rs_pb_check_supported(&pb->base, back_off_fields, path, err, err_len))
        return -1;
    if (pb->base_interval == NULL) {
        snprintf(err, err_len, "%s.base_interval: is required", path);
        return -1;
    }
    p->base_interval_ms = rs_pb_duration_ms(pb->base_interval, 0);
    if (p->base_interval_ms == 0 || pb->base_interval->seconds < 0 ||
        pb->base_interval->nanos < 0) {
        snprintf(err, err_len, "%s.base_interval: must be greater than 0", path);
        return -1;
    }
    p->max_interval_ms = p->base_interval_ms * 10;
    if (pb->max_interval != NULL) {
        p->max_interval_ms = rs_pb_duration_ms(pb->max_interval, 0);
        if (p->max_interval_ms == 0 || pb->max_interval->seconds < 0) {
            snprintf(err, err_len, "%s.max_interval: must be greater than 0", path);
            return -1;
        }
        if (p->max_interval_ms < p->base_interval_ms) {
            snprintf(err, err_len,
                     "%s.max_interval: must be greater than or equal to the base_interval", path);
            return -1;
        }
    }
    return 0;
}

static int compile_predicate(const Envoy__Config__Route__V3__RetryPolicy__RetryHostPredicate *pb,
                             const char *path, char *err, size_t err_len)
{
    if (!rs_pb_check_supported(&pb->base, predicate_fields, path, err, err_len))
        return -1;
    /* The extension is chosen by typed_config's type when present, else by name (Envoy). */
    const char *type = NULL;
    if (pb->config_type_case ==
            ENVOY__CONFIG__ROUTE__V3__RETRY_POLICY__RETRY_HOST_PREDICATE__CONFIG_TYPE_TYPED_CONFIG &&
        pb->typed_config != NULL && pb->typed_config->type_url != NULL) {
        const char *slash = strrchr(pb->typed_config->type_url, '/');
        type = slash ? slash + 1 : pb->typed_config->type_url;
    }
    if (type != NULL ? strcmp(type, PREVIOUS_HOSTS_TYPE) != 0
                     : (pb->name == NULL || strcmp(pb->name, PREVIOUS_HOSTS_NAME) != 0)) {
        snprintf(err, err_len,
                 "%s: retry host predicate '%s' is not supported by ringside (only %s)", path,
                 type ? type : (pb->name ? pb->name : ""), PREVIOUS_HOSTS_NAME);
        return -1;
    }
    return 0;
}

const struct rs_route_retry_policy *
rt_retry_policy_compile(struct rs_route_config *rc, const Envoy__Config__Route__V3__RetryPolicy *pb,
                        const char *path, char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, retry_fields, path, err, err_len))
        return NULL;
    struct rs_route_retry_policy *p = rt_alloc(rc, sizeof *p);
    if (p == NULL) {
        rt_oom(err, err_len);
        return NULL;
    }
    const char *on = pb->retry_on ? pb->retry_on : "";
    char unsupported[64] = "";
    p->retry_on = rs_route_parse_retry_on(on, strlen(on), unsupported, sizeof unsupported);
    if (unsupported[0] != '\0') {
        snprintf(err, err_len, "%s.retry_on: '%s' is not supported by ringside", path, unsupported);
        return NULL;
    }
    p->num_retries = pb->num_retries ? pb->num_retries->value : 1;
    p->per_try_timeout_ms = rs_pb_duration_ms(pb->per_try_timeout, 0);
    p->base_interval_ms = DEFAULT_BASE_INTERVAL_MS;
    p->max_interval_ms = DEFAULT_BASE_INTERVAL_MS * 10;
    if (pb->retry_back_off != NULL) {
        snprintf(sub, sizeof sub, "%s.retry_back_off", path);
        if (compile_back_off(pb->retry_back_off, sub, p, err, err_len) < 0)
            return NULL;
    }
    for (size_t i = 0; i < pb->n_retry_host_predicate; i++) {
        snprintf(sub, sizeof sub, "%s.retry_host_predicate[%zu]", path, i);
        if (compile_predicate(pb->retry_host_predicate[i], sub, err, err_len) < 0)
            return NULL;
        p->previous_hosts = true;
    }
    if (pb->host_selection_retry_max_attempts < 0) {
        snprintf(err, err_len, "%s.host_selection_retry_max_attempts: must not be negative", path);
        return NULL;
    }
    p->host_selection_max_attempts = pb->host_selection_retry_max_attempts > 0
                                         ? (uint32_t)pb->host_selection_retry_max_attempts
                                         : 1;
    if (pb->n_retriable_status_codes > 0) {
        uint32_t *codes = rt_array(rc, pb->n_retriable_status_codes, sizeof *codes);
        if (codes == NULL) {
            rt_oom(err, err_len);
            return NULL;
        }
        memcpy(codes, pb->retriable_status_codes, pb->n_retriable_status_codes * sizeof *codes);
        p->retriable_status_codes = codes;
        p->n_retriable_status_codes = pb->n_retriable_status_codes;
    }
    return p;
}

static const char *const mirror_fields[] = {
    "cluster", "cluster_header", "runtime_fraction", "disable_shadow_host_suffix_append", NULL,
};
/* runtime_key is accepted: with no runtime layer, Envoy too uses default_value when the key is
 * absent from its runtime. */
static const char *const fraction_fields[] = {"default_value", "runtime_key", NULL};
static const char *const percent_fields[] = {"numerator", "denominator", NULL};

static int compile_fraction(const Envoy__Config__Core__V3__RuntimeFractionalPercent *pb,
                            const char *path, uint32_t *per_million, char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, fraction_fields, path, err, err_len))
        return -1;
    if (pb->default_value == NULL) {
        snprintf(err, err_len, "%s.default_value: is required", path);
        return -1;
    }
    snprintf(sub, sizeof sub, "%s.default_value", path);
    if (!rs_pb_check_supported(&pb->default_value->base, percent_fields, sub, err, err_len))
        return -1;
    uint64_t scale;
    switch (pb->default_value->denominator) {
    case ENVOY__TYPE__V3__FRACTIONAL_PERCENT__DENOMINATOR_TYPE__HUNDRED:
        scale = 10000;
        break;
    case ENVOY__TYPE__V3__FRACTIONAL_PERCENT__DENOMINATOR_TYPE__TEN_THOUSAND:
        scale = 100;
        break;
    case ENVOY__TYPE__V3__FRACTIONAL_PERCENT__DENOMINATOR_TYPE__MILLION:
        scale = 1;
        break;
    default:
        snprintf(err, err_len, "%s.denominator: unknown value", sub);
        return -1;
    }
    /* Envoy caps a numerator above its denominator at 100%. */
    uint64_t v = (uint64_t)pb->default_value->numerator * scale;
    *per_million = v > 1000000u ? 1000000u : (uint32_t)v;
    return 0;
}

int rt_mirrors_compile(struct rs_route_config *rc,
                       Envoy__Config__Route__V3__RouteAction__RequestMirrorPolicy *const *pb,
                       size_t n, const char *path, const struct rs_route_mirror_policy **out,
                       char *err, size_t err_len)
{
    char sub[RT_PATH_MAX], fsub[RT_PATH_MAX];
    struct rs_route_mirror_policy *m = rt_array(rc, n, sizeof *m);
    if (n > 0 && m == NULL)
        return rt_oom(err, err_len);
    for (size_t i = 0; i < n; i++) {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (!rs_pb_check_supported(&pb[i]->base, mirror_fields, sub, err, err_len))
            return -1;
        bool has_cluster = pb[i]->cluster && pb[i]->cluster[0];
        bool has_header = pb[i]->cluster_header && pb[i]->cluster_header[0];
        if (has_cluster == has_header) {
            snprintf(err, err_len, "%s: exactly one of cluster or cluster_header is required", sub);
            return -1;
        }
        if (has_cluster) {
            m[i].cluster = rt_strdup(rc, pb[i]->cluster);
            snprintf(fsub, sizeof fsub, "%s.cluster", sub);
            if (m[i].cluster == NULL || rt_add_cluster(rc, pb[i]->cluster, fsub, err, err_len) < 0)
                return m[i].cluster == NULL ? rt_oom(err, err_len) : -1;
        } else {
            if (!rt_header_name_valid(pb[i]->cluster_header)) {
                snprintf(err, err_len, "%s.cluster_header: invalid header name '%s'", sub,
                         pb[i]->cluster_header);
                return -1;
            }
            m[i].cluster_header = rt_strdup_lower(rc, pb[i]->cluster_header);
            if (m[i].cluster_header == NULL)
                return rt_oom(err, err_len);
        }
        m[i].per_million = 1000000u;
        if (pb[i]->runtime_fraction != NULL) {
            snprintf(fsub, sizeof fsub, "%s.runtime_fraction", sub);
            if (compile_fraction(pb[i]->runtime_fraction, fsub, &m[i].per_million, err, err_len) <
                0)
                return -1;
        }
        m[i].disable_shadow_host_suffix_append = pb[i]->disable_shadow_host_suffix_append;
    }
    *out = m;
    return 0;
}
