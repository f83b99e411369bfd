"""protoc_c_library: C code for .proto files through protoc-c, as one cc_library.

The proto root is the calling package's directory, so a file at <pkg>/envoy/config/core/v3/address.proto
is imported as "envoy/config/core/v3/address.proto" and its header is included as
"envoy/config/core/v3/address.pb-c.h". Well-known types come from the system's protobuf headers
(/usr/include/google/protobuf) and are compiled into the same library, because protoc-c emits
`#include "google/protobuf/any.pb-c.h"` for every file that imports them and nothing else provides them.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

# Warnings that protoc-c 1.4.1's output trips under the repo's -Wall -Wextra -Werror, silenced only for
# the generated files. None today (checked with and without --config=asan); list any new one here.
_GENERATED_COPTS = []

def _outputs(proto):
    base = proto[:-len(".proto")]
    return base + ".pb-c.c", base + ".pb-c.h"

def protoc_c_library(name, srcs, wkt = [], deps = [], visibility = None):
    """Generates and compiles protobuf-c code.

    Args:
      name: the cc_library's name; the genrule is name + "_gen".
      srcs: .proto files, relative to the calling package (its directory is the proto root).
      wkt: well-known type basenames to compile from /usr/include/google/protobuf, e.g. ["any", "duration"].
      deps: further cc_library deps.
      visibility: visibility of the cc_library.
    """
    pkg = native.package_name()
    repo = native.repository_name()
    root = pkg if repo == "@" else "external/%s/%s" % (repo[1:], pkg)
    if not root:
        root = "."

    wkt_protos = ["google/protobuf/%s.proto" % w for w in wkt]
    c_srcs = []
    c_hdrs = []
    for proto in srcs + wkt_protos:
        c, h = _outputs(proto)
        c_srcs.append(c)
        c_hdrs.append(h)

    # The well-known types are named by their import path: protoc finds them through -I/usr/include,
    # which keeps their generated names identical to what importing files expect.
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = c_srcs + c_hdrs,
        cmd = "protoc-c --c_out=$(RULEDIR) -I%s -I/usr/include $(SRCS) %s" % (root, " ".join(wkt_protos)),
        message = "protoc-c " + name,
    )

    cc_library(
        name = name,
        srcs = c_srcs,
        hdrs = c_hdrs,
        # "." puts both the package's source dir and its generated-files dir on the include path.
        includes = ["."],
        copts = _GENERATED_COPTS,
        linkopts = ["-lprotobuf-c"],
        deps = deps,
        visibility = visibility,
    )
