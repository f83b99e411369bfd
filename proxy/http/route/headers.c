/* request/response_headers_to_add and _to_remove at any level. Values stay raw format strings:
 * the router substitutes %...% per request. */
#include <stdio.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "proxy/http/route/route_internal.h"

/* Envoy refuses to let route config touch pseudo-headers or host: they define the request
 * itself and have dedicated features (host_rewrite_*, prefix_rewrite). */
static bool modifiable(const char *lower_name)
{
    return lower_name[0] != ':' && strcmp(lower_name, "host") != 0;
}

static const char *const hvo_fields[] = {"header", "append_action", "keep_empty_value", NULL};
static const char *const hv_fields[] = {"key", "value", NULL};

static int compile_adds(struct rs_route_config *rc, const char *path, const char *field,
                        Envoy__Config__Core__V3__HeaderValueOption *const *pb, size_t n,
                        const struct rs_route_header_add **out, size_t *n_out, char *err,
                        size_t err_len)
{
    char sub[RT_PATH_MAX], hsub[RT_PATH_MAX];
    struct rs_route_header_add *a = rt_array(rc, n, sizeof *a);
    if (n > 0 && a == NULL)
        return rt_oom(err, err_len);
    for (size_t i = 0; i < n; i++) {
        snprintf(sub, sizeof sub, "%s.%s[%zu]", path, field, i);
        if (!rs_pb_check_supported(&pb[i]->base, hvo_fields, sub, err, err_len))
            return -1;
        if (pb[i]->header == NULL) {
            snprintf(err, err_len, "%s.header: is required", sub);
            return -1;
        }
        snprintf(hsub, sizeof hsub, "%s.header", sub);
        if (!rs_pb_check_supported(&pb[i]->header->base, hv_fields, hsub, err, err_len))
            return -1;
        const char *key = pb[i]->header->key;
        if (!rt_header_name_valid(key)) {
            snprintf(err, err_len, "%s.key: invalid header name '%s'", hsub, key ? key : "");
            return -1;
        }
        a[i].name = rt_strdup_lower(rc, key);
        if (a[i].name == NULL)
            return rt_oom(err, err_len);
        if (!modifiable(a[i].name)) {
            snprintf(err, err_len, "%s.key: :-prefixed or host headers may not be modified", hsub);
            return -1;
        }
        a[i].name_len = strlen(a[i].name);
        const char *v = pb[i]->header->value ? pb[i]->header->value : "";
        if (strpbrk(v, "\r\n") != NULL) {
            /* A CR or LF would split the serialized header (response splitting). */
            snprintf(err, err_len, "%s.value: must not contain CR or LF", hsub);
            return -1;
        }
        a[i].value = rt_strdup(rc, v);
        if (a[i].value == NULL)
            return rt_oom(err, err_len);
        a[i].value_len = strlen(v);
        a[i].action = (enum rs_route_append_action)pb[i]->append_action;
        if (pb[i]->append_action >
            ENVOY__CONFIG__CORE__V3__HEADER_VALUE_OPTION__HEADER_APPEND_ACTION__OVERWRITE_IF_EXISTS) {
            snprintf(err, err_len, "%s.append_action: unknown value %d", sub,
                     (int)pb[i]->append_action);
            return -1;
        }
        a[i].keep_empty_value = pb[i]->keep_empty_value;
    }
    *out = a;
    *n_out = n;
    return 0;
}

static int compile_removes(struct rs_route_config *rc, const char *path, const char *field,
                           char *const *pb, size_t n, const char *const **out, size_t *n_out,
                           char *err, size_t err_len)
{
    const char **r = rt_array(rc, n, sizeof *r);
    if (n > 0 && r == NULL)
        return rt_oom(err, err_len);
    for (size_t i = 0; i < n; i++) {
        if (!rt_header_name_valid(pb[i])) {
            snprintf(err, err_len, "%s.%s[%zu]: invalid header name '%s'", path, field, i, pb[i]);
            return -1;
        }
        r[i] = rt_strdup_lower(rc, pb[i]);
        if (r[i] == NULL)
            return rt_oom(err, err_len);
        if (!modifiable(r[i])) {
            snprintf(err, err_len, "%s.%s[%zu]: :-prefixed or host headers may not be removed",
                     path, field, i);
            return -1;
        }
    }
    *out = r;
    *n_out = n;
    return 0;
}

int rt_header_ops_compile(struct rs_route_config *rc, const char *path,
                          Envoy__Config__Core__V3__HeaderValueOption *const *req_add,
                          size_t n_req_add, char *const *req_remove, size_t n_req_remove,
                          Envoy__Config__Core__V3__HeaderValueOption *const *resp_add,
                          size_t n_resp_add, char *const *resp_remove, size_t n_resp_remove,
                          struct rs_route_header_ops *out, char *err, size_t err_len)
{
    if (compile_adds(rc, path, "request_headers_to_add", req_add, n_req_add, &out->request_add,
                     &out->n_request_add, err, err_len) < 0 ||
        compile_removes(rc, path, "request_headers_to_remove", req_remove, n_req_remove,
                        &out->request_remove, &out->n_request_remove, err, err_len) < 0 ||
        compile_adds(rc, path, "response_headers_to_add", resp_add, n_resp_add, &out->response_add,
                     &out->n_response_add, err, err_len) < 0 ||
        compile_removes(rc, path, "response_headers_to_remove", resp_remove, n_resp_remove,
                        &out->response_remove, &out->n_response_remove, err, err_len) < 0)
        return -1;
    return 0;
}
