#pragma once
// The file stage of the pipeline: a TOML document read over a Config that
// already holds the defaults. Every problem is reported as
// "FILE:LINE:COL: message", sorted by position; a key whose value is bad
// keeps its previous value so that later stages still see a usable Config.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/provenance.h"

namespace hearth::config {

// `path` is used in messages and stored in cfg.config_file. Returns false
// when the document is not valid TOML (one error, toml++'s description);
// true otherwise, even if individual keys were rejected.
bool read_toml(std::string_view text, const std::string& path, Config& cfg, Provenance& prov,
               std::vector<std::string>& errors);

// Every key the file accepts, dotted ("workers", "http.max_body_size"):
// the rows of the schema (schema.h).
const std::vector<std::string>& known_keys();

// Every key the reader has a handler for; a unit test checks that this is
// exactly known_keys().
std::vector<std::string> handled_keys();

// The closest known key for an unknown one, or "" when nothing is close:
// edit distance <= 2, or the same name in another section ("max_body_size"
// at the top level suggests "http.max_body_size").
std::string suggest_key(std::string_view unknown);

}  // namespace hearth::config
