#include "api/type_registry.h"

#include <stdlib.h>
#include <string.h>

#include "api/type_registry_table.h"

static int compare_name(const void *key, const void *elem)
{
    const struct rs_api_type *type = elem;
    return strcmp(key, type->full_name);
}

const ProtobufCMessageDescriptor *rs_api_find_type(const char *full_name)
{
    if (full_name == NULL)
        return NULL;
    const struct rs_api_type *found =
        bsearch(full_name, rs_api_types, rs_api_types_len, sizeof(rs_api_types[0]), compare_name);
    return found ? found->descriptor : NULL;
}

const ProtobufCMessageDescriptor *rs_api_find_type_url(const char *type_url)
{
    if (type_url == NULL)
        return NULL;
    const char *slash = strrchr(type_url, '/');
    if (slash == NULL)
        return NULL;
    return rs_api_find_type(slash + 1);
}
