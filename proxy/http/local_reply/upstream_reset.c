/* The router's reply to an upstream reset before response headers (Envoy's onUpstreamReset). */
#include <string.h>

#include "proxy/http/local_reply/local_reply.h"

const char *rs_local_reply_reset_reason_str(enum rs_retry_reset_reason reason)
{
    switch (reason) {
    case RS_RETRY_RESET_LOCAL_CONNECTION_FAILURE:
        return "local connection failure";
    case RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE:
        return "remote connection failure";
    case RS_RETRY_RESET_CONNECTION_TIMEOUT:
        return "connection timeout";
    case RS_RETRY_RESET_CONNECTION_TERMINATION:
        return "connection termination";
    case RS_RETRY_RESET_LOCAL_RESET:
        return "local reset";
    case RS_RETRY_RESET_LOCAL_REFUSED_STREAM:
        return "local refused stream reset";
    case RS_RETRY_RESET_REMOTE_RESET:
        return "remote reset";
    case RS_RETRY_RESET_REMOTE_REFUSED_STREAM:
        return "remote refused stream reset";
    case RS_RETRY_RESET_OVERFLOW:
        return "overflow";
    case RS_RETRY_RESET_PROTOCOL_ERROR:
        return "protocol error";
    }
    return "";
}

/* Envoy's streamResetReasonToResponseFlag. */
static const char *reset_flag(enum rs_retry_reset_reason reason)
{
    switch (reason) {
    case RS_RETRY_RESET_LOCAL_CONNECTION_FAILURE:
    case RS_RETRY_RESET_REMOTE_CONNECTION_FAILURE:
    case RS_RETRY_RESET_CONNECTION_TIMEOUT:
        return "UF";
    case RS_RETRY_RESET_CONNECTION_TERMINATION:
        return "UC";
    case RS_RETRY_RESET_LOCAL_RESET:
    case RS_RETRY_RESET_LOCAL_REFUSED_STREAM:
        return "LR";
    case RS_RETRY_RESET_OVERFLOW:
        return "UO";
    case RS_RETRY_RESET_REMOTE_RESET:
    case RS_RETRY_RESET_REMOTE_REFUSED_STREAM:
        return "UR";
    case RS_RETRY_RESET_PROTOCOL_ERROR:
        return "UPE";
    }
    return "";
}

/* Details must be one token in access logs: Envoy turns whitespace into '_'. */
static void append_no_space(struct rs_strbuf *sb, const char *s)
{
    size_t start = sb->len;
    rs_strbuf_puts(sb, s);
    for (size_t i = start; i < sb->len; i++)
        if (strchr(" \t\n\r\f\v", sb->data[i]) != NULL)
            sb->data[i] = '_';
}

void rs_local_reply_upstream_reset(enum rs_retry_reset_reason reason, bool is_retry,
                                   const char *transport_failure, struct rs_local_reply_reset *out)
{
    const char *why = rs_local_reply_reset_reason_str(reason);
    bool tf = transport_failure != NULL && transport_failure[0] != '\0';
    memset(out, 0, sizeof *out);
    out->status = reason == RS_RETRY_RESET_PROTOCOL_ERROR ? 502 : 503;
    out->flag = reset_flag(reason);

    rs_strbuf_puts(&out->body, RS_LOCAL_REPLY_BODY_UPSTREAM_RESET);
    if (is_retry)
        rs_strbuf_puts(&out->body, "retried and the latest ");
    rs_strbuf_printf(&out->body, "reset reason: %s", why);
    if (tf)
        rs_strbuf_printf(&out->body, ", transport failure reason: %s", transport_failure);

    rs_strbuf_puts(&out->details, RS_LOCAL_REPLY_DETAILS_EARLY_UPSTREAM_RESET "{");
    append_no_space(&out->details, why);
    if (tf) {
        rs_strbuf_puts(&out->details, "|");
        append_no_space(&out->details, transport_failure);
    }
    rs_strbuf_puts(&out->details, "}");
}

void rs_local_reply_reset_free(struct rs_local_reply_reset *r)
{
    rs_strbuf_free(&r->body);
    rs_strbuf_free(&r->details);
}
