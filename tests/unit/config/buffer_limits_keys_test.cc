// [http] max_buffered_memory, max_response_spool, max_total_response_spool (issue 16):
// defaults, parsing, errors that name the key, and the summary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/summary.h"
#include "load_text.h"
#include "temp_file.h"

namespace hearth::config {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::load_text;
using testing::all_errors;

TEST(BufferLimitKeys, Defaults) {
  LoadResult r = load_text("");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.config->http.max_buffered_memory, 64u << 20);
  EXPECT_EQ(r.config->http.max_response_spool, 1ull << 30);
  EXPECT_EQ(r.config->http.max_total_response_spool, 4ull << 30);
}

TEST(BufferLimitKeys, Parse) {
  LoadResult r = load_text(
      "[http]\nmax_buffered_memory = \"8MiB\"\nmax_response_spool = \"256KiB\"\n"
      "max_total_response_spool = \"2GiB\"\n");
  ASSERT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_EQ(r.config->http.max_buffered_memory, 8u << 20);
  EXPECT_EQ(r.config->http.max_response_spool, 256u << 10);
  EXPECT_EQ(r.config->http.max_total_response_spool, 2ull << 30);
}

TEST(BufferLimitKeys, BadValuesNameTheKeyAndPlace) {
  LoadResult r = load_text("[http]\nmax_response_spool = \"lots\"\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_THAT(r.errors[0], HasSubstr("t.toml:3:"));
  EXPECT_THAT(r.errors[0], HasSubstr("http.max_response_spool"));
  LoadResult m = load_text("[http]\nmax_buffered_memori = \"1MiB\"\n");
  ASSERT_FALSE(m.errors.empty());
  EXPECT_THAT(all_errors(m), HasSubstr("max_buffered_memori"));
}

}  // namespace
}  // namespace hearth::config
