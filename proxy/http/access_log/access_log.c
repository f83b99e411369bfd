/* Access loggers from config, and logging a stream through the writer. */
#include "proxy/http/access_log/access_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "envoy/config/accesslog/v3/accesslog.pb-c.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb-c.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb-c.h"
#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/formatter.h"
#include "proxy/http/access_log/writer.h"

#define FILE_TYPE "envoy.extensions.access_loggers.file.v3.FileAccessLog"
#define STDOUT_TYPE "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
#define STDERR_TYPE "envoy.extensions.access_loggers.stream.v3.StderrAccessLog"
#define SUPPORTED                                                                                  \
    "envoy.access_loggers.file, envoy.access_loggers.stdout, envoy.access_loggers.stderr"

struct rs_access_log {
    struct rs_formatter *formatter;
    struct rs_access_log_writer *writer;
    struct rs_access_log_file *file;
};

struct rs_access_log_list {
    struct rs_access_log **logs;
    size_t n;
};

/* The logger-specific part of the config once unpacked: where to write and how to format. */
struct sink {
    ProtobufCMessage *msg; /* the unpacked typed_config, freed after building */
    const char *file_path;
    const Envoy__Config__Core__V3__SubstitutionFormatString *log_format;
};

static const char *type_name_of(const Google__Protobuf__Any *any)
{
    const char *slash = strrchr(any->type_url, '/');
    return slash ? slash + 1 : any->type_url;
}

static int unpack_sink(const Google__Protobuf__Any *any, const char *name, const char *path,
                       struct sink *s, char *err, size_t err_len)
{
    const char *type = type_name_of(any);
    const ProtobufCMessageDescriptor *desc = NULL;
    if (strcmp(type, FILE_TYPE) == 0)
        desc = &envoy__extensions__access_loggers__file__v3__file_access_log__descriptor;
    else if (strcmp(type, STDOUT_TYPE) == 0)
        desc = &envoy__extensions__access_loggers__stream__v3__stdout_access_log__descriptor;
    else if (strcmp(type, STDERR_TYPE) == 0)
        desc = &envoy__extensions__access_loggers__stream__v3__stderr_access_log__descriptor;
    if (desc == NULL) {
        snprintf(err, err_len,
                 "%s.typed_config: access logger '%s' (%s) is not supported by ringside; "
                 "supported: %s",
                 path, name ? name : "", type, SUPPORTED);
        return -1;
    }
    s->msg = protobuf_c_message_unpack(desc, NULL, any->value.len, any->value.data);
    if (s->msg == NULL) {
        snprintf(err, err_len, "%s.typed_config: cannot decode %s", path, type);
        return -1;
    }
    if (desc == &envoy__extensions__access_loggers__file__v3__file_access_log__descriptor) {
        const Envoy__Extensions__AccessLoggers__File__V3__FileAccessLog *f = (const void *)s->msg;
        s->file_path = f->path;
        if (f->access_log_format_case ==
            ENVOY__EXTENSIONS__ACCESS_LOGGERS__FILE__V3__FILE_ACCESS_LOG__ACCESS_LOG_FORMAT_LOG_FORMAT)
            s->log_format = f->log_format;
        if (s->file_path == NULL || s->file_path[0] == '\0') {
            snprintf(err, err_len, "%s.typed_config.path: must not be empty", path);
            return -1;
        }
    } else if (desc ==
               &envoy__extensions__access_loggers__stream__v3__stdout_access_log__descriptor) {
        const Envoy__Extensions__AccessLoggers__Stream__V3__StdoutAccessLog *o =
            (const void *)s->msg;
        s->file_path = "/dev/stdout";
        if (o->access_log_format_case ==
            ENVOY__EXTENSIONS__ACCESS_LOGGERS__STREAM__V3__STDOUT_ACCESS_LOG__ACCESS_LOG_FORMAT_LOG_FORMAT)
            s->log_format = o->log_format;
    } else {
        const Envoy__Extensions__AccessLoggers__Stream__V3__StderrAccessLog *e =
            (const void *)s->msg;
        s->file_path = "/dev/stderr";
        if (e->access_log_format_case ==
            ENVOY__EXTENSIONS__ACCESS_LOGGERS__STREAM__V3__STDERR_ACCESS_LOG__ACCESS_LOG_FORMAT_LOG_FORMAT)
            s->log_format = e->log_format;
    }
    return 0;
}

struct rs_access_log *rs_access_log_new(const Envoy__Config__Accesslog__V3__AccessLog *pb,
                                        const char *path, struct rs_access_log_writer *w, char *err,
                                        size_t err_len)
{
    static const char *const fields[] = {"name", "typed_config", NULL};
    if (!rs_pb_check_supported(&pb->base, fields, path, err, err_len))
        return NULL;
    if (pb->config_type_case !=
            ENVOY__CONFIG__ACCESSLOG__V3__ACCESS_LOG__CONFIG_TYPE_TYPED_CONFIG ||
        pb->typed_config == NULL) {
        snprintf(err, err_len, "%s.typed_config: is required", path);
        return NULL;
    }
    struct sink s = {0};
    struct rs_access_log *log = NULL;
    char sub[512];
    char inner[384];
    if (unpack_sink(pb->typed_config, pb->name, path, &s, err, err_len) != 0)
        goto out;
    log = calloc(1, sizeof *log);
    if (log == NULL) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    log->writer = w;
    if (s.log_format != NULL) {
        snprintf(sub, sizeof sub, "%s.typed_config.log_format", path);
        log->formatter = rs_formatter_new_from_config(s.log_format, sub, err, err_len);
    } else {
        log->formatter = rs_formatter_new(NULL, inner, sizeof inner);
        if (log->formatter == NULL)
            snprintf(err, err_len, "%s: %s", path, inner);
    }
    if (log->formatter == NULL)
        goto fail;
    log->file = rs_access_log_writer_open(w, s.file_path, inner, sizeof inner);
    if (log->file == NULL) {
        snprintf(err, err_len, "%s.typed_config.path: %s", path, inner);
        goto fail;
    }
    goto out;
fail:
    rs_access_log_free(log);
    log = NULL;
out:
    if (s.msg != NULL)
        protobuf_c_message_free_unpacked(s.msg, NULL);
    return log;
}

void rs_access_log_free(struct rs_access_log *log)
{
    if (log == NULL)
        return;
    rs_access_log_file_release(log->file);
    rs_formatter_free(log->formatter);
    free(log);
}

void rs_access_log_emit(const struct rs_access_log *log, unsigned worker,
                        const struct rs_stream_info *si)
{
    struct rs_strbuf *sb = rs_access_log_writer_scratch(log->writer, worker);
    if (sb == NULL)
        return;
    sb->len = 0;
    rs_formatter_format(log->formatter, si, sb);
    if (sb->len > 0)
        rs_access_log_file_write(log->file, worker, sb->data, sb->len);
}

struct rs_access_log_list *
rs_access_log_list_new(Envoy__Config__Accesslog__V3__AccessLog *const *pbs, size_t n,
                       const char *path, struct rs_access_log_writer *w, char *err, size_t err_len)
{
    struct rs_access_log_list *list = calloc(1, sizeof *list);
    if (list == NULL || (n > 0 && (list->logs = calloc(n, sizeof *list->logs)) == NULL)) {
        free(list);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        list->logs[i] = rs_access_log_new(pbs[i], sub, w, err, err_len);
        if (list->logs[i] == NULL) {
            rs_access_log_list_free(list);
            return NULL;
        }
        list->n++;
    }
    return list;
}

void rs_access_log_list_emit(const struct rs_access_log_list *list, unsigned worker,
                             const struct rs_stream_info *si)
{
    for (size_t i = 0; i < list->n; i++)
        rs_access_log_emit(list->logs[i], worker, si);
}

size_t rs_access_log_list_size(const struct rs_access_log_list *list)
{
    return list->n;
}

void rs_access_log_list_free(struct rs_access_log_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->n; i++)
        rs_access_log_free(list->logs[i]);
    free(list->logs);
    free(list);
}
