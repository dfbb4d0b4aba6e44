// The brotli functions hearthd calls, defined here (HEARTH_LAZY_LIBS) so that
// the executable does not link the library (lazylibs/libraries.h): each
// forwards through a table that lazylibs::brotli() fills on load.
#include <brotli/encode.h>

#include "lazylibs/libraries.h"
#include "lazylibs/brotli_symbols.h"

#define HEARTH_LAZY_SYMBOLS HEARTH_BROTLI_SYMBOLS
#define HEARTH_LAZY_LIBRARY ::hearth::lazylibs::brotli
#define HEARTH_LAZY_INSTALL ::hearth::lazylibs::detail::install_brotli
#include "common/lazy_stubs.inc"
