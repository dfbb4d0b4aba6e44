// The --check-config summary's strings (summary.h): valid TOML for any bytes
// the reader can produce, read back to the same value.
#include "config/summary.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <string>

#include "config/defaults.h"
#include "config/toml_source.h"

namespace hearth::config {
namespace {

using namespace std::string_literals;

TEST(TomlQuote, EscapesWhatTomlForbids) {
  EXPECT_EQ(toml_quote("plain"), "\"plain\"");
  EXPECT_EQ(toml_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(toml_quote("l1\nl2\tx\r"), "\"l1\\nl2\\tx\\r\"");
  EXPECT_EQ(toml_quote("\x01\x7f"), "\"\\u0001\\u007f\"");
  EXPECT_EQ(toml_quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 stays UTF-8
}

TEST(TomlQuote, EveryByteReadsBack) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all += static_cast<char>(c);
  all += "\xc3\xa9";
  auto t = toml::parse("v = " + toml_quote(all));
  ASSERT_TRUE(t["v"].as_string());
  EXPECT_EQ(t["v"].as_string()->get(), all);
}

TEST(Summary, StringsWithControlCharactersSurviveTheRoundTrip) {
  Config c = default_config();
  c.app = "app:wsgi";
  c.log.access_log = "/var/log/a\tb\x7f.log";
  c.env["GREETING"] = "line1\nline2 \"quoted\"";
  std::string text = to_toml(c);
  Config back = default_config();
  Provenance prov;
  std::vector<std::string> errors;
  ASSERT_TRUE(read_toml(text, "s.toml", back, prov, errors)) << text;
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  EXPECT_EQ(back.log.access_log, c.log.access_log);
  EXPECT_EQ(back.env["GREETING"], c.env["GREETING"]);
}

}  // namespace
}  // namespace hearth::config
