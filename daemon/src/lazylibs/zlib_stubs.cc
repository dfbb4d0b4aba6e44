// The zlib functions hearthd calls, defined here (HEARTH_LAZY_LIBS) so that
// the executable does not link the library (lazylibs/libraries.h): each
// forwards through a table that lazylibs::zlib() fills on load.
#include <zlib.h>

#include "lazylibs/libraries.h"
#include "lazylibs/zlib_symbols.h"

#define HEARTH_LAZY_SYMBOLS HEARTH_ZLIB_SYMBOLS
#define HEARTH_LAZY_LIBRARY ::hearth::lazylibs::zlib
#define HEARTH_LAZY_INSTALL ::hearth::lazylibs::detail::install_zlib
#include "common/lazy_stubs.inc"
