/* ringside-control: the control plane. This release parses its flags; serving xDS, the mesh CA,
 * the injector and the trace collector arrive with the control-plane issues. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define RS_CONTROL_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ringside-control [options]\n"
            "\n"
            "Ringside's control plane: streams listeners, routes, clusters and endpoints to\n"
            "proxies over xDS (gRPC).\n"
            "\n"
            "Options:\n"
            "  --xds-address HOST:PORT    where proxies connect for xDS (default 0.0.0.0:15010)\n"
            "  --snapshot PATH            resources to serve, YAML or JSON, by group name\n"
            "  --debug-address HOST:PORT  debug endpoint (GET /debug/proxies)\n"
            "  --version                  print the version and exit\n"
            "  -h, --help                 this text\n"
            "\n"
            "Status: flags only in this release; serving xDS is not implemented yet.\n");
}

static int check_host_port(const char *flag, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v || colon[1] == '\0') {
        fprintf(stderr, "ringside-control: %s: expected HOST:PORT, got '%s'\n", flag, v);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_XDS = 1000, OPT_SNAPSHOT, OPT_DEBUG, OPT_VERSION };
    static const struct option options[] = {
        {"xds-address", required_argument, NULL, OPT_XDS},
        {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
        {"debug-address", required_argument, NULL, OPT_DEBUG},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case OPT_XDS:
        case OPT_DEBUG:
            if (check_host_port(c == OPT_XDS ? "--xds-address" : "--debug-address", optarg) < 0)
                return 1;
            break;
        case OPT_SNAPSHOT:
            break;
        case OPT_VERSION:
            printf("ringside-control version %s\n", RS_CONTROL_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    fprintf(stderr, "ringside-control: serving xDS is not implemented yet (see --help)\n");
    return 1;
}
