/* YAML (and JSON, which libyaml reads as YAML flow style) into a small node tree.
 *
 * The event API is used instead of libyaml's document loader for three reasons: the loader drops
 * the difference between `!!str 123` and `123`; it lets an alias name an anchor whose node is
 * still open, which creates cycles; and we want merge keys (`<<`) resolved once per mapping
 * rather than at every use of an alias. Anchors here are registered when their node is complete,
 * so the result is a DAG and every walk over it terminates. */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "api/codec/codec_internal.h"

#define STR_TAG "tag:yaml.org,2002:str"
/* Pairs created by merge keys are bounded so that a small document cannot make the tree huge. */
#define MAX_MERGED_PAIRS (1u << 20)

struct anchor {
    char *name;
    struct rs_codec_node *node;
};

/* A container being built: its node, collected children and its anchor (registered on close). */
struct open_node {
    struct rs_codec_node *node;
    struct rs_codec_node **items;
    size_t n, cap;
    char *anchor;
};

struct loader {
    struct rs_codec_tree *tree;
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
    struct open_node *stack;
    size_t depth, cap_stack;
    size_t merged_pairs;
    char *err;
    size_t err_len;
};

static void tree_error(struct loader *l, size_t line, size_t col, const char *what, const char *arg)
{
    rs_codec_errf(l->err, l->err_len, "yaml: line %zu, column %zu: %s%s", line, col, what,
                  arg ? arg : "");
}

static struct rs_codec_node *new_node(struct loader *l, enum rs_codec_node_kind kind,
                                      const yaml_mark_t *mark)
{
    struct rs_codec_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = mark->line + 1;
    n->column = mark->column + 1;
    n->next_alloc = l->tree->allocs;
    l->tree->allocs = n;
    l->tree->node_count++;
    return n;
}

static int append(struct rs_codec_node ***items, size_t *n, size_t *cap, struct rs_codec_node *x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        struct rs_codec_node **a = realloc(*items, c * sizeof(*a));
        if (!a)
            return -1;
        *items = a;
        *cap = c;
    }
    (*items)[(*n)++] = x;
    return 0;
}

static int add_anchor(struct loader *l, char *name, struct rs_codec_node *node)
{
    if (l->n_anchors == l->cap_anchors) {
        size_t c = l->cap_anchors ? l->cap_anchors * 2 : 8;
        struct anchor *a = realloc(l->anchors, c * sizeof(*a));
        if (!a)
            return -1;
        l->anchors = a;
        l->cap_anchors = c;
    }
    l->anchors[l->n_anchors].name = name;
    l->anchors[l->n_anchors].node = node;
    l->n_anchors++;
    return 0;
}

/* The latest definition wins: YAML allows an anchor name to be redefined. */
static struct rs_codec_node *find_anchor(struct loader *l, const char *name)
{
    for (size_t i = l->n_anchors; i-- > 0;)
        if (strcmp(l->anchors[i].name, name) == 0)
            return l->anchors[i].node;
    return NULL;
}

static int is_merge_key(const struct rs_codec_node *k)
{
    return k->kind == RS_CODEC_SCALAR && !k->quoted && k->len == 2 && memcmp(k->text, "<<", 2) == 0;
}

static int same_key(const struct rs_codec_node *a, const struct rs_codec_node *b)
{
    return a->kind == RS_CODEC_SCALAR && b->kind == RS_CODEC_SCALAR && a->len == b->len &&
           memcmp(a->text, b->text, a->len) == 0;
}

/* A tiny open-addressing set of scalar keys, used while merging so that large merged mappings do
 * not cost quadratic time. */
struct keyset {
    const struct rs_codec_node **slots;
    size_t mask;
};

static size_t key_hash(const struct rs_codec_node *k)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k->len; i++)
        h = (h ^ (unsigned char)k->text[i]) * 1099511628211ull;
    return h;
}

/* Returns 1 if inserted, 0 if already present. Non-scalar keys are never "present". */
static int keyset_insert(struct keyset *s, const struct rs_codec_node *k)
{
    if (k->kind != RS_CODEC_SCALAR)
        return 1;
    for (size_t i = key_hash(k) & s->mask;; i = (i + 1) & s->mask) {
        if (!s->slots[i]) {
            s->slots[i] = k;
            return 1;
        }
        if (same_key(s->slots[i], k))
            return 0;
    }
}

/* Rewrites a closed mapping that uses `<<`: explicit keys first (they win), then the keys of each
 * merged mapping in order that are not yet present (earlier sources win, as the YAML merge-key
 * spec says). Duplicate explicit keys are kept so that the proto walk reports them with a path. */
static int resolve_merges(struct loader *l, struct open_node *o)
{
    struct rs_codec_node **in = o->items, **out = NULL;
    size_t n_in = o->n, n_out = 0, cap_out = 0, total = 0;
    struct keyset set = {0};
    int has_merge = 0, rc = -1;

    for (size_t i = 0; i < n_in; i += 2) {
        if (!is_merge_key(in[i])) {
            total++;
            continue;
        }
        has_merge = 1;
        struct rs_codec_node *v = in[i + 1];
        if (v->kind == RS_CODEC_MAPPING) {
            total += v->n;
        } else if (v->kind == RS_CODEC_SEQUENCE) {
            for (size_t j = 0; j < v->n; j++) {
                if (v->items[j]->kind != RS_CODEC_MAPPING) {
                    tree_error(l, v->items[j]->line, v->items[j]->column,
                               "merge key (<<) sequence items must be mappings", NULL);
                    return -1;
                }
                total += v->items[j]->n;
            }
        } else {
            tree_error(l, v->line, v->column,
                       "merge key (<<) value must be a mapping or a sequence of mappings", NULL);
            return -1;
        }
    }
    if (!has_merge)
        return 0;
    l->merged_pairs += total;
    if (l->merged_pairs > MAX_MERGED_PAIRS) {
        tree_error(l, o->node->line, o->node->column, "too many keys created by merge keys (<<)",
                   NULL);
        return -1;
    }
    size_t cap = 16;
    while (cap < total * 2)
        cap *= 2;
    set.slots = calloc(cap, sizeof(*set.slots));
    set.mask = cap - 1;
    if (!set.slots)
        goto oom;
    for (size_t i = 0; i < n_in; i += 2) {
        if (is_merge_key(in[i]))
            continue;
        keyset_insert(&set, in[i]);
        if (append(&out, &n_out, &cap_out, in[i]) || append(&out, &n_out, &cap_out, in[i + 1]))
            goto oom;
    }
    for (size_t i = 0; i < n_in; i += 2) {
        if (!is_merge_key(in[i]))
            continue;
        struct rs_codec_node *v = in[i + 1];
        size_t n_src = v->kind == RS_CODEC_MAPPING ? 1 : v->n;
        for (size_t j = 0; j < n_src; j++) {
            struct rs_codec_node *src = v->kind == RS_CODEC_MAPPING ? v : v->items[j];
            for (size_t k = 0; k < src->n; k++) {
                if (!keyset_insert(&set, src->items[2 * k]))
                    continue;
                if (append(&out, &n_out, &cap_out, src->items[2 * k]) ||
                    append(&out, &n_out, &cap_out, src->items[2 * k + 1]))
                    goto oom;
            }
        }
    }
    free(o->items);
    o->items = out;
    o->n = n_out;
    o->cap = cap_out;
    out = NULL;
    rc = 0;
    goto done;
oom:
    rs_codec_errf(l->err, l->err_len, "out of memory");
done:
    free(out);
    free(set.slots);
    return rc;
}

/* Attaches a finished node to its parent container (or makes it the root). */
static int attach(struct loader *l, struct rs_codec_node *node)
{
    if (l->depth == 0) {
        l->tree->root = node;
        return 0;
    }
    struct open_node *p = &l->stack[l->depth - 1];
    if (append(&p->items, &p->n, &p->cap, node)) {
        rs_codec_errf(l->err, l->err_len, "out of memory");
        return -1;
    }
    return 0;
}

static int open_container(struct loader *l, enum rs_codec_node_kind kind, const yaml_mark_t *mark,
                          yaml_char_t *anchor)
{
    if (l->depth == l->cap_stack) {
        size_t c = l->cap_stack ? l->cap_stack * 2 : 16;
        struct open_node *s = realloc(l->stack, c * sizeof(*s));
        if (!s)
            goto oom;
        l->stack = s;
        l->cap_stack = c;
    }
    struct open_node *o = &l->stack[l->depth];
    memset(o, 0, sizeof(*o));
    o->node = new_node(l, kind, mark);
    if (!o->node)
        goto oom;
    if (anchor) {
        o->anchor = strdup((const char *)anchor);
        if (!o->anchor)
            goto oom;
    }
    l->depth++;
    return 0;
oom:
    rs_codec_errf(l->err, l->err_len, "out of memory");
    return -1;
}

static int close_container(struct loader *l)
{
    struct open_node *o = &l->stack[l->depth - 1];
    if (o->node->kind == RS_CODEC_MAPPING && resolve_merges(l, o))
        return -1;
    o->node->items = o->items;
    o->node->n = o->node->kind == RS_CODEC_MAPPING ? o->n / 2 : o->n;
    o->items = NULL;
    if (o->anchor) {
        if (add_anchor(l, o->anchor, o->node)) {
            rs_codec_errf(l->err, l->err_len, "out of memory");
            return -1;
        }
        o->anchor = NULL;
    }
    l->depth--;
    return attach(l, o->node);
}

static int on_scalar(struct loader *l, yaml_event_t *ev)
{
    struct rs_codec_node *n = new_node(l, RS_CODEC_SCALAR, &ev->start_mark);
    if (!n)
        goto oom;
    n->len = ev->data.scalar.length;
    n->text = malloc(n->len + 1);
    if (!n->text)
        goto oom;
    memcpy(n->text, ev->data.scalar.value, n->len);
    n->text[n->len] = '\0';
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                (ev->data.scalar.tag && (strcmp((const char *)ev->data.scalar.tag, STR_TAG) == 0));
    if (ev->data.scalar.anchor) {
        char *name = strdup((const char *)ev->data.scalar.anchor);
        if (!name || add_anchor(l, name, n)) {
            free(name);
            goto oom;
        }
    }
    return attach(l, n);
oom:
    rs_codec_errf(l->err, l->err_len, "out of memory");
    return -1;
}

static int on_alias(struct loader *l, yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct rs_codec_node *target = find_anchor(l, name);
    if (!target) {
        for (size_t i = 0; i < l->depth; i++) {
            if (l->stack[i].anchor && strcmp(l->stack[i].anchor, name) == 0) {
                tree_error(l, ev->start_mark.line + 1, ev->start_mark.column + 1,
                           "recursive alias *", name);
                return -1;
            }
        }
        tree_error(l, ev->start_mark.line + 1, ev->start_mark.column + 1, "unknown anchor *", name);
        return -1;
    }
    return attach(l, target);
}

static void report_parser_error(struct loader *l, const yaml_parser_t *p)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    const char *what = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR) {
        rs_codec_errf(l->err, l->err_len, "out of memory");
    } else if (p->context) {
        rs_codec_errf(l->err, l->err_len, "yaml: line %zu, column %zu: %s %s", m->line + 1,
                      m->column + 1, what, p->context);
    } else {
        rs_codec_errf(l->err, l->err_len, "yaml: line %zu, column %zu: %s", m->line + 1,
                      m->column + 1, what);
    }
}

static void loader_release(struct loader *l)
{
    for (size_t i = 0; i < l->n_anchors; i++)
        free(l->anchors[i].name);
    free(l->anchors);
    for (size_t i = 0; i < l->depth; i++) {
        free(l->stack[i].items);
        free(l->stack[i].anchor);
    }
    free(l->stack);
}

int rs_codec_tree_load(struct rs_codec_tree *tree, const char *text, size_t len, char *err,
                       size_t err_len)
{
    yaml_parser_t parser;
    struct loader l = {.tree = tree, .err = err, .err_len = err_len};
    int docs = 0, done = 0, rc = -1;

    memset(tree, 0, sizeof(*tree));
    if (!yaml_parser_initialize(&parser)) {
        rs_codec_errf(err, err_len, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        yaml_event_t ev;
        int ok = 0;
        if (!yaml_parser_parse(&parser, &ev)) {
            report_parser_error(&l, &parser);
            goto out;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                tree_error(&l, ev.start_mark.line + 1, ev.start_mark.column + 1,
                           "multiple YAML documents are not supported", NULL);
                ok = -1;
            }
            break;
        case YAML_SCALAR_EVENT:
            ok = on_scalar(&l, &ev);
            break;
        case YAML_ALIAS_EVENT:
            ok = on_alias(&l, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            ok = open_container(&l, RS_CODEC_SEQUENCE, &ev.start_mark,
                                ev.data.sequence_start.anchor);
            break;
        case YAML_MAPPING_START_EVENT:
            ok = open_container(&l, RS_CODEC_MAPPING, &ev.start_mark, ev.data.mapping_start.anchor);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            ok = close_container(&l);
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (ok)
            goto out;
    }
    rc = 0;
out:
    loader_release(&l);
    yaml_parser_delete(&parser);
    if (rc)
        rs_codec_tree_free(tree);
    return rc;
}

void rs_codec_tree_free(struct rs_codec_tree *tree)
{
    struct rs_codec_node *n = tree->allocs;
    while (n) {
        struct rs_codec_node *next = n->next_alloc;
        free(n->text);
        free(n->items);
        free(n);
        n = next;
    }
    memset(tree, 0, sizeof(*tree));
}

int rs_codec_node_is_null(const struct rs_codec_node *node)
{
    if (node->kind != RS_CODEC_SCALAR || node->quoted)
        return 0;
    switch (node->len) {
    case 0:
        return 1;
    case 1:
        return node->text[0] == '~';
    case 4:
        return strcmp(node->text, "null") == 0 || strcmp(node->text, "Null") == 0 ||
               strcmp(node->text, "NULL") == 0;
    default:
        return 0;
    }
}

const char *rs_codec_node_kind_name(const struct rs_codec_node *node)
{
    switch (node->kind) {
    case RS_CODEC_SEQUENCE:
        return "a list";
    case RS_CODEC_MAPPING:
        return "a mapping";
    default:
        return rs_codec_node_is_null(node) ? "null" : "a scalar";
    }
}
