/* Evaluation of one command operator against a stream_info, with Envoy's notion of a missing
 * value (rendered "-" in text, null in JSON) and of typed values (numbers in JSON). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/formatter_internal.h"
#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/header_map.h"

static enum rs_fmt_value str_value(const char *s, struct rs_strbuf *out)
{
    if (s == NULL || s[0] == '\0')
        return RS_FMT_MISSING;
    rs_strbuf_puts(out, s);
    return RS_FMT_STRING;
}

static enum rs_fmt_value num_value(uint64_t v, struct rs_strbuf *out)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
    rs_strbuf_append(out, buf, (size_t)n);
    return RS_FMT_NUMBER;
}

/* Envoy reports durations in whole milliseconds, truncated. */
static enum rs_fmt_value ms_value(int64_t ns, struct rs_strbuf *out)
{
    if (ns < 0)
        return RS_FMT_MISSING;
    return num_value((uint64_t)ns / 1000000u, out);
}

static enum rs_fmt_value header_value(const struct rs_header_map *m, const struct rs_fmt_op *op,
                                      struct rs_strbuf *out)
{
    if (m == NULL)
        return RS_FMT_MISSING;
    const struct rs_hstr *v = rs_header_map_get(m, op->text, op->text_len);
    if (v == NULL && op->alt != NULL)
        v = rs_header_map_get(m, op->alt, op->alt_len);
    if (v == NULL)
        return RS_FMT_MISSING;
    rs_strbuf_append(out, v->p, v->len);
    return RS_FMT_STRING;
}

/* "1.2.3.4:80" -> "1.2.3.4", "[::1]:80" -> "::1"; a value with no port stays as it is. */
static enum rs_fmt_value without_port(const char *addr, struct rs_strbuf *out)
{
    if (addr == NULL || addr[0] == '\0')
        return RS_FMT_MISSING;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close != NULL) {
            rs_strbuf_append(out, addr + 1, (size_t)(close - addr - 1));
            return RS_FMT_STRING;
        }
    }
    const char *colon = strchr(addr, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        rs_strbuf_append(out, addr, (size_t)(colon - addr));
        return RS_FMT_STRING;
    }
    rs_strbuf_puts(out, addr);
    return RS_FMT_STRING;
}

/* The port of "1.2.3.4:80" or "[::1]:80" as a number; missing when there is none. */
static enum rs_fmt_value port_of(const char *addr, struct rs_strbuf *out)
{
    if (addr == NULL)
        return RS_FMT_MISSING;
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (addr[0] != '[' && strchr(addr, ':') != colon) ||
        (addr[0] == '[' && colon[-1] != ']'))
        return RS_FMT_MISSING;
    uint64_t port = 0;
    const char *p = colon + 1;
    if (*p == '\0')
        return RS_FMT_MISSING;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return RS_FMT_MISSING;
        port = port * 10 + (uint64_t)(*p - '0');
    }
    if (port > 65535)
        return RS_FMT_MISSING;
    return num_value(port, out);
}

static enum rs_fmt_value eval(const struct rs_fmt_op *op, const struct rs_stream_info *si,
                              struct rs_strbuf *out)
{
    switch (op->kind) {
    case RS_FMT_LITERAL:
        rs_strbuf_append(out, op->text, op->text_len);
        return RS_FMT_STRING;
    case RS_FMT_START_TIME:
        rs_fmt_time(op->text, &si->start_time, out);
        return RS_FMT_STRING;
    case RS_FMT_REQ:
        return header_value(si->request_headers, op, out);
    case RS_FMT_RESP:
        return header_value(si->response_headers, op, out);
    case RS_FMT_TRAILER:
        return header_value(si->response_trailers, op, out);
    case RS_FMT_PROTOCOL:
        return str_value(si->protocol, out);
    case RS_FMT_RESPONSE_CODE:
        /* Envoy logs 0 when no response was sent, never "-". */
        return num_value(si->response_code, out);
    case RS_FMT_RESPONSE_CODE_DETAILS:
        return str_value(si->response_code_details, out);
    case RS_FMT_RESPONSE_FLAGS:
        /* "-" for none is the flags' own rendering (a string in JSON, as Envoy's). */
        rs_stream_info_flags_str(si->response_flags, out);
        return RS_FMT_STRING;
    case RS_FMT_BYTES_RECEIVED:
        return num_value(si->bytes_received, out);
    case RS_FMT_BYTES_SENT:
        return num_value(si->bytes_sent, out);
    case RS_FMT_DURATION:
        return ms_value(si->request_complete_ns, out);
    case RS_FMT_REQUEST_DURATION:
        return ms_value(si->last_downstream_rx_byte_ns, out);
    case RS_FMT_RESPONSE_DURATION:
        return ms_value(si->first_upstream_rx_byte_ns, out);
    case RS_FMT_RESPONSE_TX_DURATION:
        if (si->first_upstream_rx_byte_ns < 0 || si->last_downstream_tx_byte_ns < 0 ||
            si->last_downstream_tx_byte_ns < si->first_upstream_rx_byte_ns)
            return RS_FMT_MISSING;
        return ms_value(si->last_downstream_tx_byte_ns - si->first_upstream_rx_byte_ns, out);
    case RS_FMT_UPSTREAM_HOST:
        return str_value(si->upstream_host, out);
    case RS_FMT_UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT:
        return without_port(si->upstream_host, out);
    case RS_FMT_UPSTREAM_CLUSTER:
        return str_value(si->upstream_cluster, out);
    case RS_FMT_UPSTREAM_TRANSPORT_FAILURE_REASON:
        return str_value(si->upstream_transport_failure_reason, out);
    case RS_FMT_DOWNSTREAM_REMOTE_ADDRESS:
        return str_value(si->downstream_remote_address, out);
    case RS_FMT_DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT:
        return without_port(si->downstream_remote_address, out);
    case RS_FMT_DOWNSTREAM_LOCAL_ADDRESS:
        return str_value(si->downstream_local_address, out);
    case RS_FMT_DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT:
        return without_port(si->downstream_local_address, out);
    case RS_FMT_DOWNSTREAM_REMOTE_PORT:
        return port_of(si->downstream_remote_address, out);
    case RS_FMT_DOWNSTREAM_LOCAL_PORT:
        return port_of(si->downstream_local_address, out);
    case RS_FMT_UPSTREAM_LOCAL_ADDRESS:
        return str_value(si->upstream_local_address, out);
    case RS_FMT_REQUESTED_SERVER_NAME:
        return str_value(si->requested_server_name, out);
    case RS_FMT_CONNECTION_TERMINATION_DETAILS:
        return str_value(si->connection_termination_details, out);
    case RS_FMT_DOWNSTREAM_PEER_URI_SAN:
        return str_value(si->downstream_peer_uri_san, out);
    case RS_FMT_DOWNSTREAM_LOCAL_URI_SAN:
        return str_value(si->downstream_local_uri_san, out);
    case RS_FMT_UPSTREAM_REQUEST_ATTEMPT_COUNT:
        return num_value(si->upstream_request_attempt_count, out);
    case RS_FMT_ROUTE_NAME:
        return str_value(si->route_name, out);
    case RS_FMT_STREAM_ID:
        return str_value(si->request_id, out);
    case RS_FMT_HOSTNAME:
        return str_value(op->text, out);
    }
    return RS_FMT_MISSING;
}

enum rs_fmt_value rs_fmt_eval(const struct rs_fmt_op *op, const struct rs_stream_info *si,
                              struct rs_strbuf *out)
{
    size_t start = out->len;
    enum rs_fmt_value v = eval(op, si, out);
    if (op->max_len > 0 && out->len - start > op->max_len) {
        out->len = start + op->max_len;
        out->data[out->len] = '\0';
    }
    return v;
}

void rs_fmt_seq_eval(const struct rs_fmt_seq *seq, const struct rs_stream_info *si,
                     const char *missing, struct rs_strbuf *out)
{
    for (size_t i = 0; i < seq->n; i++) {
        if (rs_fmt_eval(&seq->ops[i], si, out) == RS_FMT_MISSING)
            rs_strbuf_puts(out, missing);
    }
}
