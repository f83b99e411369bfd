/* An admin answer and its HTTP/1.1 serialization. */
#ifndef RS_ADMIN_RESPONSE_H
#define RS_ADMIN_RESPONSE_H

#include <stdbool.h>

#include "proxy/core/strbuf.h"

#define RS_ADMIN_TEXT "text/plain; charset=UTF-8"
#define RS_ADMIN_JSON "application/json"

struct rs_admin_response {
    int status;
    const char *content_type; /* static string */
    struct rs_strbuf body;    /* owned */
    bool quit_after_send;     /* /quitquitquit: call hooks->quit once the answer is out */
};

void rs_admin_response_init(struct rs_admin_response *resp);
void rs_admin_response_free(struct rs_admin_response *resp);
/* A plain-text answer with a copy of text as its body. */
void rs_admin_response_text(struct rs_admin_response *resp, int status, const char *text);

const char *rs_admin_status_reason(int status);

/* Appends the status line and headers (not the body) to out. keep_alive says whether the
 * connection stays open; http10_keep_alive adds the explicit "connection: keep-alive" an
 * HTTP/1.0 client needs to keep it. */
void rs_admin_response_head(const struct rs_admin_response *resp, bool keep_alive,
                            bool http10_keep_alive, struct rs_strbuf *out);

#endif
