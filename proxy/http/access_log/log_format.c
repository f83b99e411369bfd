/* SubstitutionFormatString (config) -> formatter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "envoy/config/core/v3/substitution_format_string.pb-c.h"
#include "proxy/http/access_log/access_log.h"
#include "proxy/http/access_log/formatter.h"

struct rs_formatter *
rs_formatter_new_from_config(const Envoy__Config__Core__V3__SubstitutionFormatString *pb,
                             const char *path, char *err, size_t err_len)
{
    static const char *const fields[] = {"text_format_source", "json_format", "omit_empty_values",
                                         "json_format_options", NULL};
    char sub[512];
    char inner[384];
    if (!rs_pb_check_supported(&pb->base, fields, path, err, err_len))
        return NULL;
    struct rs_formatter_options opt = {.omit_empty_values = pb->omit_empty_values};
    if (pb->json_format_options != NULL) {
        static const char *const jfields[] = {"sort_properties", NULL};
        snprintf(sub, sizeof sub, "%s.json_format_options", path);
        if (!rs_pb_check_supported(&pb->json_format_options->base, jfields, sub, err, err_len))
            return NULL;
        opt.sort_properties = pb->json_format_options->sort_properties;
    }
    struct rs_formatter *f = NULL;
    switch (pb->format_case) {
    case ENVOY__CONFIG__CORE__V3__SUBSTITUTION_FORMAT_STRING__FORMAT_JSON_FORMAT:
        f = rs_formatter_new_json(pb->json_format, &opt, inner, sizeof inner);
        if (f == NULL)
            snprintf(err, err_len, "%s.%s", path, inner);
        return f;
    case ENVOY__CONFIG__CORE__V3__SUBSTITUTION_FORMAT_STRING__FORMAT_TEXT_FORMAT_SOURCE:
        break;
    default:
        snprintf(err, err_len, "%s: one of text_format_source or json_format is required", path);
        return NULL;
    }
    const Envoy__Config__Core__V3__DataSource *ds = pb->text_format_source;
    static const char *const dfields[] = {"inline_string", "inline_bytes", NULL};
    snprintf(sub, sizeof sub, "%s.text_format_source", path);
    if (!rs_pb_check_supported(&ds->base, dfields, sub, err, err_len))
        return NULL;
    char *text = NULL;
    if (ds->specifier_case == ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_BYTES) {
        if (memchr(ds->inline_bytes.data, '\0', ds->inline_bytes.len) != NULL) {
            snprintf(err, err_len, "%s.inline_bytes: must not contain NUL bytes", sub);
            return NULL;
        }
        text = strndup((const char *)ds->inline_bytes.data, ds->inline_bytes.len);
    } else if (ds->specifier_case ==
               ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_STRING) {
        text = strdup(ds->inline_string);
    } else {
        snprintf(err, err_len, "%s: one of inline_string or inline_bytes is required", sub);
        return NULL;
    }
    if (text == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    f = rs_formatter_new_text(text, &opt, inner, sizeof inner);
    free(text);
    if (f == NULL)
        snprintf(err, err_len, "%s: %s", sub, inner);
    return f;
}
