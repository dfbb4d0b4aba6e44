// The schema (schema.h) is the one list of config keys: the reader's handlers,
// the --check-config summary, the CLI flags and docs/config.md must all agree
// with it.
#include "config/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/bind.h"
#include "config/cli.h"
#include "config/defaults.h"
#include "config/env.h"
#include "config/reference.h"
#include "config/summary.h"
#include "config/toml_source.h"

#ifndef HEARTH_SOURCE_DIR
#error "HEARTH_SOURCE_DIR must name the source tree (set in tests/unit/config/CMakeLists.txt)"
#endif

namespace hearth::config {
namespace {

using ::testing::HasSubstr;

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::string section_of(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? "" : std::string(key.substr(0, dot));
}

TEST(Schema, EveryReaderKeyIsInTheSchemaAndViceVersa) {
  std::set<std::string> schema_keys = as_set(known_keys());
  std::set<std::string> handled = as_set(handled_keys());
  for (const auto& k : handled) {
    EXPECT_TRUE(schema_keys.count(k)) << "the reader (toml_entries.cc) reads '" << k << "' but schema.cc has no row for it";
  }
  for (const auto& k : schema_keys) {
    EXPECT_TRUE(handled.count(k)) << "schema.cc lists '" << k << "' but the reader has no handler for it (a custom() row needs one in toml_entries.cc)";
  }
  EXPECT_EQ(schema_keys.size(), known_keys().size()) << "a key is listed twice in schema.cc";
}

TEST(Schema, RowsAreComplete) {
  for (const auto& k : schema()) {
    EXPECT_FALSE(k.type.empty()) << k.key;
    EXPECT_FALSE(k.description.empty()) << k.key;
    std::string section = section_of(k.key);
    if (section.empty()) continue;
    // A key's section has its own row, before the key.
    auto all = schema();
    auto sec = std::find_if(all.begin(), all.end(), [&](const KeySpec& s) { return s.key == section; });
    auto self = std::find_if(all.begin(), all.end(), [&](const KeySpec& s) { return s.key == k.key; });
    ASSERT_NE(sec, all.end()) << k.key << ": no row for section " << section;
    EXPECT_EQ(sec->type, "section") << section;
    EXPECT_LT(sec, self) << k.key << " comes before its section's row";
  }
}

// Every key, written by the summary and read back, is accepted by the reader:
// a config file that sets each key once loads without an error.
TEST(Schema, EveryKeyIsWrittenBySummaryAndAcceptedByTheReader) {
  Config c = default_config();
  c.admin_bind = *parse_bind("127.0.0.1:9000");
  c.env["A"] = "b";
  c.warmup.requests.push_back(WarmupRequest{});
  StaticMount mount;
  mount.prefix = "/static/";
  mount.dir = "/srv/static";
  c.statics.push_back(mount);
  RateLimitRule rule;
  rule.prefix = "/api/";
  rule.rate = "10/s";
  rule.per_second = 10;
  rule.methods = {"POST"};
  c.rate_limits.push_back(rule);
  c.error_pages.push_back(ErrorPage{{502, 503}, "/srv/50x.html"});
  c.tls.certfile = "/srv/default.pem";  // [[tls.certificates]] needs it
  c.tls.certificates.push_back(TlsCertificate{{"api.example.com", "*.example.net"}, "/srv/api.pem", "/srv/api.key"});
  std::string text = to_toml(c);
  Config back = default_config();
  Provenance prov;
  std::vector<std::string> errors;
  ASSERT_TRUE(read_toml(text, "all.toml", back, prov, errors)) << text;
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors) << "\n" << text;
  for (const auto& k : schema()) {
    if (k.type == "section") continue;
    if (k.key == "apps") continue;  // read by the loader's [[apps]] stage over the top level (apps_keys_test.cc)
    if (k.key == "upstreams") continue;  // read by the loader's [[upstreams]] stage (upstreams_keys_test.cc)
    EXPECT_THAT(prov.label(std::string(k.key)), HasSubstr("all.toml:"))
        << "summary.cc does not write '" << k.key << "' (or the reader ignored it)";
  }
  back.config_file = c.config_file;
  EXPECT_EQ(to_toml(back), text) << "a value changed on the way through the summary and the reader";
}

// Each row's Field (the reader and the summary use nothing else) points at a
// member of its own: a row copied without changing its AT(...) is caught here.
TEST(Schema, EveryKeyHasItsOwnField) {
  using Kind = Field::Kind;
  Config c;
  std::map<const void*, std::string> owner;
  for (const auto& k : schema()) {
    const Field& f = k.field;
    if (k.type == "section") {
      EXPECT_EQ(f.kind, Kind::Section) << k.key;
      continue;
    }
    EXPECT_NE(f.kind, Kind::Section) << k.key << " is a key, not a section: give it a Field";
    const void* at = nullptr;
    switch (f.kind) {
      case Kind::String:
      case Kind::Secret:
      case Kind::Choice: at = f.text ? f.text(c) : nullptr; break;
      case Kind::Bool: at = f.flag ? f.flag(c) : nullptr; break;
      case Kind::Count: at = f.u32 ? f.u32(c) : nullptr; break;
      case Kind::Count64:
      case Kind::Size: at = f.u64 ? f.u64(c) : nullptr; break;
      case Kind::Duration: at = f.millis ? f.millis(c) : nullptr; break;
      case Kind::List: at = f.list ? f.list(c) : nullptr; break;
      case Kind::Section:
      case Kind::Custom: continue;
    }
    ASSERT_NE(at, nullptr) << k.key << ": its Field has no accessor for its kind";
    EXPECT_TRUE(owner.emplace(at, std::string(k.key)).second)
        << k.key << " and " << owner[at] << " read and write the same member";
    if (f.min != 0) {
      EXPECT_TRUE(f.kind == Kind::Count || f.kind == Kind::Count64 || f.kind == Kind::Size ||
                  f.kind == Kind::Duration)
          << k.key << ": validate() checks a lower bound only on numbers";
    }
    if (f.kind == Kind::Choice || f.kind == Kind::List) {
      EXPECT_NE(f.parse, nullptr) << k.key;
      EXPECT_FALSE(f.expected.empty()) << k.key;
    }
  }
  EXPECT_GE(owner.size(), 75u) << "most keys are read from their Field";
}

TEST(Schema, EveryFlagSetsAKeyOfTheSchema) {
  for (const auto& f : flag_infos()) {
    if (f.key.empty()) continue;
    EXPECT_NE(find_key(f.key), nullptr) << f.synopsis << " sets '" << f.key << "', which schema.cc does not list";
  }
}

// The env column is true: setting the variable sets that key.
TEST(Schema, EnvironmentVariablesSetTheirKeys) {
  int rows = 0;
  for (const auto& k : schema()) {
    if (k.env.empty()) continue;
    ++rows;
    // A value every kind of key accepts: a port, a count, a boolean ("1"), a string.
    Environment env{{std::string(k.env), k.type == "bool" ? "1" : "3"}};
    Config c = default_config();
    Provenance prov;
    std::vector<std::string> errors;
    apply_environment(env, CommandLine{}, c, prov, errors);
    EXPECT_TRUE(errors.empty()) << k.env;
    EXPECT_EQ(prov.label(std::string(k.key)), "$" + std::string(k.env)) << k.key;
  }
  EXPECT_GE(rows, 2) << "at least PORT and WEB_CONCURRENCY";
}

TEST(Schema, SectionsAreKnownAsSections) {
  EXPECT_TRUE(is_section_key("http"));
  EXPECT_FALSE(is_section_key("workers"));
  EXPECT_FALSE(is_section_key("nonsense"));
  EXPECT_EQ(find_key("http.max_body_size")->type, "size");
}

TEST(Reference, HasARowForEveryKeyWithItsDefaultAndFlag) {
  std::string md = config_reference_markdown();
  EXPECT_THAT(md, HasSubstr("| `max_body_size` | size | `10MiB` | `--max-body-size SIZE` | request body; else 413 |"));
  EXPECT_THAT(md, HasSubstr("| `workers` | count | `0` (2 × CPUs + 1) | `-w, --workers N` | `WEB_CONCURRENCY` |"));
  EXPECT_THAT(md, HasSubstr("| `preload` | bool | `true` | `--preload` / `--no-preload` |"));
  EXPECT_THAT(md, HasSubstr("| `app` | string | (required) | positional `APP` |"));
  EXPECT_THAT(md, HasSubstr("## `[keepwarm]`"));
  for (const auto& k : schema()) {
    if (k.type == "section") continue;
    std::string leaf(k.key.substr(k.key.rfind('.') == std::string_view::npos ? 0 : k.key.rfind('.') + 1));
    std::string row = "| `" + leaf + "` | " + std::string(k.type) + " | ";
    size_t at = md.find(row);
    ASSERT_NE(at, std::string::npos) << k.key;
    // The default cell is never empty.
    EXPECT_NE(md.compare(at + row.size(), 2, "| "), 0) << k.key << " has no default in the reference";
  }
  for (const auto& f : flag_infos()) EXPECT_THAT(md, HasSubstr("| `" + f.synopsis + "` |"));
}

TEST(Reference, DocsConfigMdIsUpToDate) {
  const std::filesystem::path doc = std::filesystem::path(HEARTH_SOURCE_DIR) / "docs" / "config.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << "cannot read " << doc;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  size_t begin = text.find(kReferenceBegin);
  size_t end = text.find(kReferenceEnd);
  ASSERT_NE(begin, std::string::npos) << doc << " lacks the line " << kReferenceBegin;
  ASSERT_NE(end, std::string::npos) << doc << " lacks the line " << kReferenceEnd;
  begin = text.find('\n', begin) + 1;
  std::string in_doc = text.substr(begin, end - begin);
  // A blank line on either side of the generated text keeps the Markdown readable.
  std::string expected = "\n" + config_reference_markdown() + "\n";
  EXPECT_TRUE(in_doc == expected)
      << "docs/config.md is out of date with daemon/src/config/schema.cc: run `make docs` "
         "(it rewrites the part between the GENERATED markers from `hearthd --print-config-reference`)";
}

}  // namespace
}  // namespace hearth::config
