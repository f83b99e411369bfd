/* The proxy process: configuration, workers, admin, signals, and the drain-then-exit lifecycle. */
#ifndef RS_SERVER_H
#define RS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct rs_server_options {
    const char *config_path;
    const char *config_yaml;
    unsigned concurrency;
    unsigned drain_time_s;
    const char *service_node;
    const char *service_cluster;
    bool validate_only;
};

/* Runs the server until it is told to stop; returns the process exit code. */
int rs_server_run(const struct rs_server_options *opt);

#endif
