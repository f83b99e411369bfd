/* Status lines and headers of admin answers. Header names are lower case, as Envoy sends them;
 * the no-cache and nosniff headers are the ones Envoy's admin adds, for the same reasons (live
 * values, text never sniffed as HTML). */
#include "proxy/admin/response.h"

void rs_admin_response_init(struct rs_admin_response *resp)
{
    *resp = (struct rs_admin_response){
        .status = 200, .content_type = RS_ADMIN_TEXT, .body = RS_STRBUF_INIT};
}

void rs_admin_response_free(struct rs_admin_response *resp)
{
    rs_strbuf_free(&resp->body);
}

void rs_admin_response_text(struct rs_admin_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = RS_ADMIN_TEXT;
    rs_strbuf_reset(&resp->body);
    rs_strbuf_puts(&resp->body, text);
}

const char *rs_admin_status_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

void rs_admin_response_head(const struct rs_admin_response *resp, bool keep_alive,
                            bool http10_keep_alive, struct rs_strbuf *out)
{
    rs_strbuf_printf(out,
                     "HTTP/1.1 %d %s\r\n"
                     "content-type: %s\r\n"
                     "content-length: %zu\r\n"
                     "cache-control: no-cache, max-age=0\r\n"
                     "x-content-type-options: nosniff\r\n",
                     resp->status, rs_admin_status_reason(resp->status), resp->content_type,
                     resp->body.len);
    if (!keep_alive)
        rs_strbuf_puts(out, "connection: close\r\n");
    else if (http10_keep_alive)
        rs_strbuf_puts(out, "connection: keep-alive\r\n");
    rs_strbuf_puts(out, "\r\n");
}
