/* Logging to stderr with Envoy's level names (--log-level
 * trace|debug|info|warning|error|critical|off). */
#ifndef RS_CORE_LOG_H
#define RS_CORE_LOG_H

enum rs_log_level {
    RS_LOG_TRACE,
    RS_LOG_DEBUG,
    RS_LOG_INFO,
    RS_LOG_WARNING,
    RS_LOG_ERROR,
    RS_LOG_CRITICAL,
    RS_LOG_OFF,
};

/* Returns -1 for an unknown name. */
int rs_log_level_from_name(const char *name);
void rs_log_set_level(enum rs_log_level level);
enum rs_log_level rs_log_get_level(void);
void rs_log_write(enum rs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define RS_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= rs_log_get_level())                                                         \
            rs_log_write((level), __VA_ARGS__);                                                    \
    } while (0)
#define RS_TRACE(...) RS_LOG(RS_LOG_TRACE, __VA_ARGS__)
#define RS_DEBUG(...) RS_LOG(RS_LOG_DEBUG, __VA_ARGS__)
#define RS_INFO(...) RS_LOG(RS_LOG_INFO, __VA_ARGS__)
#define RS_WARN(...) RS_LOG(RS_LOG_WARNING, __VA_ARGS__)
#define RS_ERROR(...) RS_LOG(RS_LOG_ERROR, __VA_ARGS__)

#endif
