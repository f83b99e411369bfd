/* Envoy's substitution formatter: a format string with %COMMAND(arg)%:len operators is compiled
 * once (at config time) into a program, then evaluated per request against a stream_info.
 * A compiled formatter is immutable, so every worker may evaluate the same one concurrently.
 *
 * Three output modes share the compiler and the operators:
 *   text   (access logs' text_format_source and the default format): missing values are "-";
 *   json   (access logs' json_format): one compact JSON object per line, single-operator values
 *          typed as Envoy types them (numbers for codes, sizes and durations; null when missing);
 *   header (request_headers_to_add / response_headers_to_add values): missing values are empty
 *          and no newline is added, as Envoy's header formatter does. */
#ifndef RS_HTTP_ACCESS_LOG_FORMATTER_H
#define RS_HTTP_ACCESS_LOG_FORMATTER_H

#include <stdbool.h>
#include <stddef.h>

struct rs_formatter;
struct rs_stream_info;
struct rs_strbuf;
struct Google__Protobuf__Struct;

/* Envoy's default access log format (used when an access logger has no log_format). */
extern const char rs_formatter_default_format[];

struct rs_formatter_options {
    bool omit_empty_values; /* text: missing values render as ""; json: such keys are left out */
    bool sort_properties;   /* json: keys sorted (JsonFormatOptions.sort_properties) */
};

/* Text mode. format NULL means Envoy's default format. Returns NULL on a bad format with a
 * message naming the offending operator or position in err, e.g.
 * "unknown command operator %FOO%" or "unterminated command operator at position 3". */
struct rs_formatter *rs_formatter_new(const char *format, char *err, size_t err_len);
struct rs_formatter *rs_formatter_new_text(const char *format,
                                           const struct rs_formatter_options *opt, char *err,
                                           size_t err_len);
/* Header-value mode (see above). */
struct rs_formatter *rs_formatter_new_header(const char *value, char *err, size_t err_len);
/* JSON mode from json_format. String values are format strings, nested Structs become nested
 * objects, lists become arrays of formatted values, numbers/bools/null are copied as they are.
 * Errors name the key path: "json_format.a.b: unknown command operator %FOO%". */
struct rs_formatter *rs_formatter_new_json(const struct Google__Protobuf__Struct *format,
                                           const struct rs_formatter_options *opt, char *err,
                                           size_t err_len);

/* Appends the formatted value for si to out. Thread-safe for concurrent callers. */
void rs_formatter_format(const struct rs_formatter *f, const struct rs_stream_info *si,
                         struct rs_strbuf *out);

/* True if the formatter contains no operator (its output never depends on the request): lets
 * header users skip evaluation. */
bool rs_formatter_is_constant(const struct rs_formatter *f);

void rs_formatter_free(struct rs_formatter *f);

#endif
