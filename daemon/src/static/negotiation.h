#pragma once
// Content types by file extension and the choice of a precompressed variant
// by Accept-Encoding (RFC 9110 12.5.3). Pure functions.
#include <string>
#include <string_view>

namespace hearth::statics {

// "style.css" -> "text/css; charset=utf-8"; unknown -> "application/octet-stream".
// Text types (text/*, JavaScript, JSON, XML, SVG, web manifests) carry
// "; charset=utf-8". Extensions compare case-insensitively.
std::string mime_type(std::string_view filename);

enum class Encoding {
  Identity,  // the file itself
  Brotli,    // FILE.br, Content-Encoding: br
  Gzip,      // FILE.gz, Content-Encoding: gzip
};

// The q-value the client gives `coding` ("br", "gzip") in Accept-Encoding:
// its own entry, else "*", else 0. "x-gzip" counts as gzip. Absent header = 0
// (only identity is sure to be understood).
double accept_q(std::string_view accept_encoding, std::string_view coding);

// The variant to send given which ones exist: the acceptable one (q > 0)
// with the higher q; on a tie Brotli (smaller). Identity when neither.
Encoding choose_encoding(std::string_view accept_encoding, bool have_br, bool have_gzip);

}  // namespace hearth::statics
