/* The connection manager as a listener's terminal network filter: the glue between a compiled
 * rs_hcm_config (plus its HTTP filter factories) and rs_network_filter. */
#include "proxy/http/conn_manager/hcm.h"

#include <stdlib.h>
#include <string.h>

#include "proxy/http/conn_manager/hcm_internal.h"
#include "proxy/net/worker.h"

static void free_shared(void *config)
{
    struct hcm_shared *sh = config;
    for (size_t i = 0; i < sh->n_factories; i++)
        if (sh->factories[i].free_config)
            sh->factories[i].free_config(sh->factories[i].config);
    free(sh->factories);
    free(sh->drained_cbs);
    rs_hcm_config_free(sh->cfg);
    free(sh);
}

static void on_worker_stop(struct rs_worker *w, void *config)
{
    struct hcm_shared *sh = config;
    for (size_t i = 0; i < sh->n_factories; i++)
        if (sh->factories[i].on_worker_stop)
            sh->factories[i].on_worker_stop(sh->factories[i].config, w->id);
}

static void on_accept(struct rs_worker *w, void *config, const struct rs_accepted *a)
{
    hcm_conn_accept(w, config, a);
}

int rs_hcm_network_filter(struct rs_hcm_config *cfg, const struct rs_http_filter_factory *factories,
                          size_t n, struct rs_network_filter *out)
{
    struct hcm_shared *sh = calloc(1, sizeof *sh);
    if (sh == NULL)
        return -1;
    sh->factories = calloc(n ? n : 1, sizeof *sh->factories);
    sh->drained_cbs = calloc(n ? n : 1, sizeof *sh->drained_cbs);
    if (sh->factories == NULL || sh->drained_cbs == NULL) {
        free(sh->factories);
        free(sh->drained_cbs);
        free(sh);
        return -1;
    }
    if (n > 0)
        memcpy(sh->factories, factories, n * sizeof *factories);
    sh->n_factories = n;
    sh->cfg = cfg;
    *out = (struct rs_network_filter){
        .name = "envoy.filters.network.http_connection_manager",
        .config = sh,
        .free_config = free_shared,
        .on_accept = on_accept,
        .on_worker_stop = on_worker_stop,
    };
    return 0;
}

void rs_hcm_set_downstream_drained_cb(struct rs_network_filter *nf, size_t factory_index,
                                      void (*cb)(struct rs_http_filter *f))
{
    struct hcm_shared *sh = nf->config;
    if (factory_index < sh->n_factories)
        sh->drained_cbs[factory_index] = cb;
}
