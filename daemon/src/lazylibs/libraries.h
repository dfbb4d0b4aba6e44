#pragma once
// zlib, brotli and nghttp2, loaded on demand (docs/architecture.md
// "zlib, brotli and nghttp2, loaded on demand", issue 14: merely mapping them costs the idle
// daemon ~270 KiB of RSS although most deployments use neither [compression]
// nor HTTP/2).
//
// With HEARTH_LAZY_LIBS (the default) hearthd does not link them: the
// lazylibs/*_stubs.cc files define every function the daemon calls
// (lazylibs/*_symbols.h) and forward through tables that these libraries
// fill on load (common/lazy_library.h). Without, they are linked directly
// and load() only reports success.
//
// Who loads:
//  - zlib / brotli: main.cc at start-up when [compression] is enabled, only
//    the algorithms compression.algorithms lists (lazylibs/compression_libraries.h);
//    a failure is a configuration error naming the key. [compression] is not
//    reloaded (SIGHUP reads only [[apps]]).
//  - nghttp2: the first HTTP/2 connection, before its session
//    (nghttp2_usable(): the h2c preface in net/http_connection.cc, ALPN in
//    tls/server_context.cc). A failure is logged once and the connection is
//    served as with http.http2 = false.
// A stub called before a successful load loads the library itself, or, if
// it cannot, prints why and aborts: the loads above make that unreachable.
#include <string>

#include "common/lazy_library.h"

namespace hearth::lazylibs {

lazy::Library& zlib();     // HEARTH_ZLIB_SONAME, "libz.so.1"
lazy::Library& brotli();   // HEARTH_BROTLI_SONAME, "libbrotlienc.so.1"
lazy::Library& nghttp2();  // HEARTH_NGHTTP2_SONAME, "libnghttp2.so.14"

// Whether HTTP/2 sessions can be created: loads nghttp2 on the first call.
// On failure logs one error for the process ("HTTP/2 needs
// libnghttp2.so.14: ...; serving HTTP/1.1 only") and returns false, then and
// on every later call.
[[nodiscard]] bool nghttp2_usable();

namespace detail {
// lazylibs/*_stubs.cc: LibrarySpec::install of each library.
void install_zlib(void* const* functions);
void install_brotli(void* const* functions);
void install_nghttp2(void* const* functions);
}  // namespace detail

}  // namespace hearth::lazylibs
