/* Access loggers built from Envoy's AccessLog config (envoy.config.accesslog.v3.AccessLog):
 * envoy.access_loggers.file (FileAccessLog: path, log_format) and envoy.access_loggers.stdout /
 * envoy.access_loggers.stderr (StdoutAccessLog / StderrAccessLog: log_format). Without a
 * log_format a logger uses Envoy's default format. Lines go through the writer (writer.h), so
 * logging never blocks a worker. `filter` and every other field we do not implement are rejected
 * with their config path. */
#ifndef RS_HTTP_ACCESS_LOG_ACCESS_LOG_H
#define RS_HTTP_ACCESS_LOG_ACCESS_LOG_H

#include <stddef.h>

struct rs_access_log;
struct rs_access_log_writer;
struct rs_formatter;
struct rs_stream_info;
struct Envoy__Config__Accesslog__V3__AccessLog;
struct Envoy__Config__Core__V3__SubstitutionFormatString;

/* One logger. path names pb in the config for errors, e.g.
 * "...http_connection_manager.access_log[0]" -> "<path>.filter: field is not supported by
 * ringside", "<path>.typed_config.path: cannot open '/x/y': No such file or directory".
 * The logger holds a reference on its file until freed. */
struct rs_access_log *rs_access_log_new(const struct Envoy__Config__Accesslog__V3__AccessLog *pb,
                                        const char *path, struct rs_access_log_writer *w, char *err,
                                        size_t err_len);
/* Only once no worker can emit through log any more (the config snapshot holding it has been
 * reclaimed): the file it releases may then be closed by the writer. */
void rs_access_log_free(struct rs_access_log *log);

/* Worker `worker` logs a finished stream: formats into the worker's scratch buffer and appends
 * the line to that worker's buffer for the file. Never blocks; a full buffer drops the line (and
 * counts it). */
void rs_access_log_emit(const struct rs_access_log *log, unsigned worker,
                        const struct rs_stream_info *si);

/* A list of loggers (the HCM's access_log field): built all or nothing. The path of entry i is
 * "<path>[i]". n may be 0 (an empty list logs nothing). */
struct rs_access_log_list;
struct rs_access_log_list *
rs_access_log_list_new(struct Envoy__Config__Accesslog__V3__AccessLog *const *pbs, size_t n,
                       const char *path, struct rs_access_log_writer *w, char *err, size_t err_len);
void rs_access_log_list_emit(const struct rs_access_log_list *list, unsigned worker,
                             const struct rs_stream_info *si);
size_t rs_access_log_list_size(const struct rs_access_log_list *list);
void rs_access_log_list_free(struct rs_access_log_list *list);

/* The formatter a SubstitutionFormatString describes (text_format_source with inline_string or
 * inline_bytes, or json_format; omit_empty_values; json_format_options.sort_properties). path
 * names pb ("<...>.log_format"). Also usable for local reply body formats. */
struct rs_formatter *
rs_formatter_new_from_config(const struct Envoy__Config__Core__V3__SubstitutionFormatString *pb,
                             const char *path, char *err, size_t err_len);

#endif
