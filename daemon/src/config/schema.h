#pragma once
// The config file's schema: one row per key, the single list the TOML reader
// checks keys against (unknown keys, "did you mean") and the generated
// reference in docs/config.md is written from (`hearthd
// --print-config-reference`, `make docs`). Unit tests check that it matches
// the reader's handlers, the --check-config summary and the CLI flag table.
//
// Adding a key `foo.bar` (see schema.cc for the rows):
//   1. the field and its default in config.h;
//   2. a row in kSchema (schema.cc), in the section's block;
//   3. its handler in toml_source.cc (bind_handlers) and its line in summary.cc;
//   4. a flag in cli.cc's kFlags if it has one (its `key` names the row);
//   5. a commented line in conf/hearth.toml; then `make docs`.
#include <span>
#include <string>
#include <string_view>

namespace hearth::config {

struct KeySpec {
  // Dotted key: "workers", "http.max_body_size". A section is a row of its
  // own ("http", type "section") before its keys.
  std::string_view key;
  // As shown in the reference: "duration", "size", "count", "bool", "string",
  // "address", ... ("section" for a table of keys).
  std::string_view type;
  // The default is taken from the --check-config summary of the built-in
  // defaults (summary.cc); `default_note` is added after it ("(off)"), or
  // replaces it when the summary does not show the key (an unset address).
  std::string_view default_note;
  // Environment variable that sets the key, "" for none.
  std::string_view env;
  // One line of Markdown. For a section: the paragraph under its heading.
  std::string_view description;
};

// Every key, top-level keys first, each section's block after its row.
std::span<const KeySpec> schema();

// The row for a dotted key, or nullptr.
const KeySpec* find_key(std::string_view key);

// True for a row of type "section".
bool is_section_key(std::string_view key);

// The keys of one [[static]] entry (the top-level row "static" is the array):
// `key` is the leaf ("prefix"), `default_note` the default as shown. The
// reader checks entry keys against this list; the reference prints it.
std::span<const KeySpec> static_entry_schema();

// The keys of one [[rate_limit]] entry, as static_entry_schema() does for [[static]].
std::span<const KeySpec> rate_limit_entry_schema();

}  // namespace hearth::config
