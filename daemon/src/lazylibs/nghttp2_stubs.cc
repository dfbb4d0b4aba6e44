// The nghttp2 functions hearthd calls, defined here (HEARTH_LAZY_LIBS) so that
// the executable does not link the library (lazylibs/libraries.h): each
// forwards through a table that lazylibs::nghttp2() fills on load.
#include <nghttp2/nghttp2.h>

#include "lazylibs/libraries.h"
#include "lazylibs/nghttp2_symbols.h"

#define HEARTH_LAZY_SYMBOLS HEARTH_NGHTTP2_SYMBOLS
#define HEARTH_LAZY_LIBRARY ::hearth::lazylibs::nghttp2
#define HEARTH_LAZY_INSTALL ::hearth::lazylibs::detail::install_nghttp2
#include "common/lazy_stubs.inc"
