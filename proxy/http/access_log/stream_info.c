#include "proxy/http/access_log/stream_info.h"

#include <string.h>

#include "proxy/core/strbuf.h"

/* Indexed by bit position; the order is the rendering order. */
static const char *const flag_names[RS_STREAM_INFO_FLAG_COUNT] = {
    "LH",   "UH",   "UT",   "LR",   "UR", "UF",  "UC", "UO", "NR",  "DI",
    "FI",   "RL",   "UAEX", "RLSE", "DC", "URX", "SI", "IH", "DPE", "UMSDR",
    "RFCF", "NFCF", "DT",   "UPE",  "NC", "OM",  "DF", "DO", "DR",
};

void rs_stream_info_init(struct rs_stream_info *si)
{
    memset(si, 0, sizeof *si);
    si->last_downstream_rx_byte_ns = RS_STREAM_INFO_UNSET;
    si->first_upstream_tx_byte_ns = RS_STREAM_INFO_UNSET;
    si->last_upstream_tx_byte_ns = RS_STREAM_INFO_UNSET;
    si->first_upstream_rx_byte_ns = RS_STREAM_INFO_UNSET;
    si->last_upstream_rx_byte_ns = RS_STREAM_INFO_UNSET;
    si->first_downstream_tx_byte_ns = RS_STREAM_INFO_UNSET;
    si->last_downstream_tx_byte_ns = RS_STREAM_INFO_UNSET;
    si->request_complete_ns = RS_STREAM_INFO_UNSET;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rs_stream_info_start(struct rs_stream_info *si)
{
    rs_stream_info_init(si);
    clock_gettime(CLOCK_REALTIME, &si->start_time);
    si->start_mono_ns = mono_ns();
}

int64_t rs_stream_info_elapsed_ns(const struct rs_stream_info *si)
{
    int64_t d = mono_ns() - si->start_mono_ns;
    return d < 0 ? 0 : d;
}

void rs_stream_info_mark_first(const struct rs_stream_info *si, int64_t *offset)
{
    if (*offset < 0)
        *offset = rs_stream_info_elapsed_ns(si);
}

void rs_stream_info_mark_last(const struct rs_stream_info *si, int64_t *offset)
{
    *offset = rs_stream_info_elapsed_ns(si);
}

const char *rs_stream_info_flag_name(uint64_t bit)
{
    for (int i = 0; i < RS_STREAM_INFO_FLAG_COUNT; i++) {
        if (bit == (1ull << i))
            return flag_names[i];
    }
    return NULL;
}

void rs_stream_info_flags_str(uint64_t flags, struct rs_strbuf *out)
{
    int n = 0;
    for (int i = 0; i < RS_STREAM_INFO_FLAG_COUNT; i++) {
        if (!(flags & (1ull << i)))
            continue;
        if (n++)
            rs_strbuf_append(out, ",", 1);
        rs_strbuf_puts(out, flag_names[i]);
    }
    if (n == 0)
        rs_strbuf_append(out, "-", 1);
}
