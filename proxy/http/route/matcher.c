/* Compiling RouteMatch, HeaderMatcher, QueryParameterMatcher and StringMatcher. */
#include <stdio.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "proxy/http/route/route_internal.h"

/* RFC 9110 token characters: what a header name may hold (plus a leading ':' for pseudo
 * headers, which matchers may name, e.g. ":method"). */
bool rt_header_name_valid(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return false;
    const char *p = s[0] == ':' ? s + 1 : s;
    if (*p == '\0')
        return false;
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (strchr("!#$%&'*+-.^_`|~", c) == NULL)
            return false;
    }
    return true;
}

static const char *const string_matcher_fields[] = {
    "exact", "prefix", "suffix", "safe_regex", "contains", "ignore_case", NULL,
};

int rt_string_matcher_compile(struct rs_route_config *rc,
                              const Envoy__Type__Matcher__V3__StringMatcher *pb, const char *path,
                              struct rs_route_string_matcher *out, char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, string_matcher_fields, path, err, err_len))
        return -1;
    const char *v = NULL;
    const char *field = NULL;
    switch (pb->match_pattern_case) {
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_EXACT:
        out->kind = RS_ROUTE_STR_EXACT;
        v = pb->exact;
        break;
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_PREFIX:
        out->kind = RS_ROUTE_STR_PREFIX;
        v = pb->prefix;
        field = "prefix";
        break;
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SUFFIX:
        out->kind = RS_ROUTE_STR_SUFFIX;
        v = pb->suffix;
        field = "suffix";
        break;
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_CONTAINS:
        out->kind = RS_ROUTE_STR_CONTAINS;
        v = pb->contains;
        field = "contains";
        break;
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SAFE_REGEX:
        if (pb->ignore_case) {
            snprintf(err, err_len, "%s.ignore_case: has no effect for safe_regex", path);
            return -1;
        }
        out->kind = RS_ROUTE_STR_REGEX;
        snprintf(sub, sizeof sub, "%s.safe_regex", path);
        out->regex = rt_regex_compile(rc, pb->safe_regex, sub, err, err_len);
        return out->regex == NULL ? -1 : 0;
    default:
        snprintf(err, err_len,
                 "%s: one of exact, prefix, suffix, contains or safe_regex is required", path);
        return -1;
    }
    /* Envoy's validation: prefix, suffix and contains need at least one character (exact may
     * be empty). */
    if (field != NULL && (v == NULL || v[0] == '\0')) {
        snprintf(err, err_len, "%s.%s: must not be empty", path, field);
        return -1;
    }
    out->ignore_case = pb->ignore_case;
    out->value = rt_strdup(rc, v ? v : "");
    out->len = strlen(out->value);
    return out->value == NULL ? rt_oom(err, err_len) : 0;
}

static const char *const header_matcher_fields[] = {
    "name",         "range_match",  "present_match",
    "string_match", "invert_match", "treat_missing_header_as_empty",
    NULL,
};

static int compile_header_matcher(struct rs_route_config *rc,
                                  const Envoy__Config__Route__V3__HeaderMatcher *pb,
                                  const char *path, struct rs_route_header_matcher *out, char *err,
                                  size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, header_matcher_fields, path, err, err_len))
        return -1;
    if (!rt_header_name_valid(pb->name)) {
        snprintf(err, err_len, "%s.name: invalid header name '%s'", path, pb->name);
        return -1;
    }
    out->name = rt_strdup_lower(rc, pb->name);
    if (out->name == NULL)
        return rt_oom(err, err_len);
    out->name_len = strlen(out->name);
    out->invert = pb->invert_match;
    out->treat_missing_as_empty = pb->treat_missing_header_as_empty;
    switch (pb->header_match_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_STRING_MATCH:
        out->kind = RS_ROUTE_HDR_STRING;
        snprintf(sub, sizeof sub, "%s.string_match", path);
        return rt_string_matcher_compile(rc, pb->string_match, sub, &out->str, err, err_len);
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_RANGE_MATCH:
        out->kind = RS_ROUTE_HDR_RANGE;
        out->range_start = pb->range_match->start;
        out->range_end = pb->range_match->end;
        return 0;
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_PRESENT_MATCH:
        out->kind = RS_ROUTE_HDR_PRESENT;
        out->present = pb->present_match;
        return 0;
    default:
        /* Envoy: a matcher with no specifier matches on presence. */
        out->kind = RS_ROUTE_HDR_PRESENT;
        out->present = true;
        return 0;
    }
}

static const char *const query_matcher_fields[] = {"name", "string_match", "present_match", NULL};

static int compile_query_matcher(struct rs_route_config *rc,
                                 const Envoy__Config__Route__V3__QueryParameterMatcher *pb,
                                 const char *path, struct rs_route_query_matcher *out, char *err,
                                 size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, query_matcher_fields, path, err, err_len))
        return -1;
    if (pb->name == NULL || pb->name[0] == '\0') {
        snprintf(err, err_len, "%s.name: must not be empty", path);
        return -1;
    }
    /* Query parameter names are case-sensitive, unlike header names. */
    out->name = rt_strdup(rc, pb->name);
    if (out->name == NULL)
        return rt_oom(err, err_len);
    out->name_len = strlen(out->name);
    if (pb->query_parameter_match_specifier_case ==
        ENVOY__CONFIG__ROUTE__V3__QUERY_PARAMETER_MATCHER__QUERY_PARAMETER_MATCH_SPECIFIER_STRING_MATCH) {
        out->has_string = true;
        snprintf(sub, sizeof sub, "%s.string_match", path);
        return rt_string_matcher_compile(rc, pb->string_match, sub, &out->str, err, err_len);
    }
    if (pb->query_parameter_match_specifier_case ==
        ENVOY__CONFIG__ROUTE__V3__QUERY_PARAMETER_MATCHER__QUERY_PARAMETER_MATCH_SPECIFIER_PRESENT_MATCH) {
        out->has_present = true;
        out->present = pb->present_match;
    }
    return 0;
}

static const char *const route_match_fields[] = {
    "prefix",         "path",    "safe_regex",       "path_separated_prefix",
    "case_sensitive", "headers", "query_parameters", NULL,
};

int rt_route_match_compile(struct rs_route_config *rc,
                           const Envoy__Config__Route__V3__RouteMatch *pb, const char *path,
                           struct rs_route_match *out, char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, route_match_fields, path, err, err_len))
        return -1;
    const char *v = NULL;
    switch (pb->path_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PREFIX:
        out->kind = RS_ROUTE_PATH_PREFIX;
        v = pb->prefix;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH:
        out->kind = RS_ROUTE_PATH_EXACT;
        v = pb->path;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH_SEPARATED_PREFIX: {
        out->kind = RS_ROUTE_PATH_SEPARATED_PREFIX;
        v = pb->path_separated_prefix;
        /* Envoy's constraint: ^[^?#]+[^?#/]$ */
        size_t n = v ? strlen(v) : 0;
        if (n == 0 || strpbrk(v, "?#") != NULL || v[n - 1] == '/') {
            snprintf(err, err_len,
                     "%s.path_separated_prefix: must be non-empty, contain no '?' or '#', and not "
                     "end with '/'",
                     path);
            return -1;
        }
        break;
    }
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_SAFE_REGEX:
        out->kind = RS_ROUTE_PATH_REGEX;
        snprintf(sub, sizeof sub, "%s.safe_regex", path);
        out->regex = rt_regex_compile(rc, pb->safe_regex, sub, err, err_len);
        if (out->regex == NULL)
            return -1;
        break;
    default:
        snprintf(err, err_len,
                 "%s: one of prefix, path, safe_regex or path_separated_prefix is required", path);
        return -1;
    }
    if (v != NULL) {
        out->value = rt_strdup(rc, v);
        if (out->value == NULL)
            return rt_oom(err, err_len);
        out->len = strlen(v);
    }
    out->case_sensitive = pb->case_sensitive ? pb->case_sensitive->value : true;

    struct rs_route_header_matcher *hm = rt_array(rc, pb->n_headers, sizeof *hm);
    if (pb->n_headers > 0 && hm == NULL)
        return rt_oom(err, err_len);
    for (size_t i = 0; i < pb->n_headers; i++) {
        snprintf(sub, sizeof sub, "%s.headers[%zu]", path, i);
        if (compile_header_matcher(rc, pb->headers[i], sub, &hm[i], err, err_len) < 0)
            return -1;
    }
    out->headers = hm;
    out->n_headers = pb->n_headers;

    struct rs_route_query_matcher *qm = rt_array(rc, pb->n_query_parameters, sizeof *qm);
    if (pb->n_query_parameters > 0 && qm == NULL)
        return rt_oom(err, err_len);
    for (size_t i = 0; i < pb->n_query_parameters; i++) {
        snprintf(sub, sizeof sub, "%s.query_parameters[%zu]", path, i);
        if (compile_query_matcher(rc, pb->query_parameters[i], sub, &qm[i], err, err_len) < 0)
            return -1;
    }
    out->query = qm;
    out->n_query = pb->n_query_parameters;
    return 0;
}
