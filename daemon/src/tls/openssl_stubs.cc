// The OpenSSL functions hearthd calls, defined here (HEARTH_LAZY_OPENSSL) so
// that the executable needs no libssl/libcrypto: the stubs of
// common/lazy_stubs.inc for tls/openssl_symbols.h, each forwarding to the real
// function once tls/openssl_loader.cc has loaded libssl (dlopen + dlsym, on the
// first call at the latest). The signatures are the headers' own, taken with
// decltype: a mismatch with tls/openssl_symbols.h's arity fails to compile.
// Hidden visibility: the executable never exports them, so libssl's calls
// into libcrypto (and a test executable that also links OpenSSL) never bind
// to a stub.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls/openssl_table.h"

#define HEARTH_LAZY_SYMBOLS HEARTH_OPENSSL_SYMBOLS
#define HEARTH_LAZY_LIBRARY ::hearth::tls::detail::openssl_library
#define HEARTH_LAZY_INSTALL ::hearth::tls::detail::install_openssl_functions
#include "common/lazy_stubs.inc"
