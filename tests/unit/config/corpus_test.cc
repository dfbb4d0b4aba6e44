// The example configs in conf/: hearth.toml must load and document the real
// defaults; each conf/invalid/NAME.toml must fail with every line of
// NAME.expected appearing in one of its error messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/defaults.h"
#include "config/loader.h"
#include "config/summary.h"
#include "config/toml_source.h"

#ifndef HEARTH_SOURCE_DIR
#error "HEARTH_SOURCE_DIR must name the source tree (set in tests/unit/config/CMakeLists.txt)"
#endif

namespace hearth::config {
namespace {

namespace fs = std::filesystem;

const fs::path kConf = fs::path(HEARTH_SOURCE_DIR) / "conf";

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<fs::path> invalid_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kConf / "invalid")) {
    if (e.path().extension() == ".toml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Corpus, ExampleConfigLoadsCleanly) {
  LoadResult r = load_file_only((kConf / "hearth.toml").string(), 4);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config->app, "myproject.wsgi:application");
}

TEST(Corpus, ExampleConfigShowsTheRealDefaults) {
  LoadResult r = load_file_only((kConf / "hearth.toml").string(), 4);
  ASSERT_TRUE(r.config);
  Config expected = default_config();
  expected.app = r.config->app;
  expected.config_file = r.config->config_file;
  expected.workers = 9;  // 0 resolved for 4 cores
  EXPECT_EQ(to_toml(*r.config), to_toml(expected));
}

TEST(Corpus, ExampleConfigMentionsEveryKey) {
  std::ifstream in(kConf / "hearth.toml");
  std::stringstream text;
  text << in.rdbuf();
  const std::string t = text.str();
  for (const auto& key : known_keys()) {
    std::string leaf = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
    bool shown = t.find("\n" + leaf + " = ") != std::string::npos ||
                 t.find("\n# " + leaf + " = ") != std::string::npos || t.find("\n[" + leaf + "]") != std::string::npos ||
                 t.find("\n# [[" + key + "]]") != std::string::npos;
    EXPECT_TRUE(shown) << key << " is not in conf/hearth.toml";
  }
}

TEST(Corpus, InvalidCorpusIsThere) {
  auto files = invalid_files();
  EXPECT_GE(files.size(), 20u);
  for (const auto& f : files) {
    EXPECT_TRUE(fs::exists(fs::path(f).replace_extension(".expected"))) << f << " has no .expected";
  }
}

TEST(Corpus, EveryInvalidFileFailsWithItsExpectedError) {
  for (const auto& file : invalid_files()) {
    SCOPED_TRACE(file.filename().string());
    auto expected = lines_of(fs::path(file).replace_extension(".expected"));
    ASSERT_FALSE(expected.empty()) << "empty .expected";
    LoadResult r = load_file_only(file.string(), 2);
    EXPECT_FALSE(r.config) << "loaded without errors";
    for (const auto& want : expected) {
      bool found = std::any_of(r.errors.begin(), r.errors.end(),
                               [&](const std::string& e) { return e.find(want) != std::string::npos; });
      EXPECT_TRUE(found) << "no error contains: " << want << "\nerrors: " << ::testing::PrintToString(r.errors);
    }
  }
}

}  // namespace
}  // namespace hearth::config
