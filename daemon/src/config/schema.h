#pragma once
// The config file's schema: one row per key, the single list that drives
//   - the TOML reader (toml_source.cc): unknown keys, "did you mean", and the
//     value itself for every row with a typed Field (most keys);
//   - the --check-config summary (summary.cc), written from the same Fields;
//   - the generated reference in docs/config.md (`hearthd
//     --print-config-reference`, `make docs`).
// Unit tests check that it matches the reader's handlers, the summary and the
// CLI flag table.
//
// Adding a key `foo.bar` (docs/config.md "Adding a key"):
//   1. the field and its default in config.h;
//   2. a row in kSchema (schema.cc), in the section's block, with its Field
//      (string_at, size_at, duration_at, ...: the reader and the summary then
//      need nothing else);
//   3. the component that uses it (and, when that component takes an options
//      struct, one line in app/daemon_builder.cc).
// Then a commented line in conf/hearth.toml (a test checks) and `make docs`.
// Optional: a flag in cli.cc's kFlags (its `key` names the row; apply nullptr
// lets the Field set the value). Only a key whose value needs
// code of its own (Field::Kind::Custom) also needs a handler in
// toml_entries.cc and a line in summary.cc.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace hearth::config {

// Where a key's value lives in Config and what syntax it takes. Exactly the
// accessor matching `kind` is set; the accessors are captureless lambdas
// (`[](Config& c) { return &c.http.max_body_size; }`).
struct Field {
  enum class Kind {
    Section,   // a section row: no value
    String,    // std::string: any TOML string
    Secret,    // std::string; the summary shows "(set)" instead of the value
    Bool,      // bool: true or false
    Count,     // uint32_t: a non-negative integer, at most 4294967295
    Count64,   // uint64_t: a non-negative integer
    Size,      // uint64_t bytes: "10MiB" or an integer
    Duration,  // Millis: "30s", "250ms", or a number of seconds
    Choice,    // std::string: one string checked and canonicalized by `parse`
    List,      // std::vector<std::string>: a string or an array, each item through `parse`
    Custom,    // read in toml_entries.cc and written in summary.cc by hand
  };
  Kind kind = Kind::Section;
  std::string* (*text)(Config&) = nullptr;                // String, Secret, Choice
  bool* (*flag)(Config&) = nullptr;                       // Bool
  uint32_t* (*u32)(Config&) = nullptr;                    // Count
  uint64_t* (*u64)(Config&) = nullptr;                    // Count64, Size
  Millis* (*millis)(Config&) = nullptr;                   // Duration
  std::vector<std::string>* (*list)(Config&) = nullptr;   // List
  std::optional<std::string> (*parse)(std::string_view) = nullptr;  // Choice; List: one item
  std::string_view expected;  // Choice, List: what a bad value should have been ("combined or json")
  bool split_commas = false;  // List: "a,b" in a string is two items
  // The lower bound validate() enforces (0 = none). Count, Count64, Size:
  // "must be at least MIN"; Duration: 1 = "must be greater than 0".
  uint64_t min = 0;
};

// The Field of each kind (schema.cc's rows use these).
constexpr Field string_at(std::string* (*f)(Config&)) { Field x; x.kind = Field::Kind::String; x.text = f; return x; }
constexpr Field secret_at(std::string* (*f)(Config&)) { Field x; x.kind = Field::Kind::Secret; x.text = f; return x; }
constexpr Field bool_at(bool* (*f)(Config&)) { Field x; x.kind = Field::Kind::Bool; x.flag = f; return x; }
constexpr Field count_at(uint32_t* (*f)(Config&)) { Field x; x.kind = Field::Kind::Count; x.u32 = f; return x; }
constexpr Field count64_at(uint64_t* (*f)(Config&)) { Field x; x.kind = Field::Kind::Count64; x.u64 = f; return x; }
constexpr Field size_at(uint64_t* (*f)(Config&)) { Field x; x.kind = Field::Kind::Size; x.u64 = f; return x; }
constexpr Field duration_at(Millis* (*f)(Config&)) { Field x; x.kind = Field::Kind::Duration; x.millis = f; return x; }
constexpr Field choice_at(std::string* (*f)(Config&), std::optional<std::string> (*parse)(std::string_view),
                          std::string_view expected) {
  Field x;
  x.kind = Field::Kind::Choice;
  x.text = f;
  x.parse = parse;
  x.expected = expected;
  return x;
}
constexpr Field list_at(std::vector<std::string>* (*f)(Config&), std::optional<std::string> (*parse)(std::string_view),
                        std::string_view expected) {
  Field x;
  x.kind = Field::Kind::List;
  x.list = f;
  x.parse = parse;
  x.expected = expected;
  x.split_commas = true;
  return x;
}
// `f` with a lower bound checked by validate() (Field::min).
constexpr Field at_least(Field f, uint64_t min) { f.min = min; return f; }
constexpr Field custom() { Field x; x.kind = Field::Kind::Custom; return x; }

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
  // Where the value lives (Kind::Section for a section row and for the
  // entry tables of [[static]] and [[rate_limit]], which are read by hand).
  Field field = {};
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
