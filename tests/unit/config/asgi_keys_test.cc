// The ASGI keys (docs/asgi.md): interface, lifespan, concurrency.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "load_text.h"

namespace hearth::config {
namespace {

using ::testing::HasSubstr;
using testing::all_errors;
using testing::load_text;

TEST(AsgiKeys, Defaults) {
  LoadResult r = load_text("");
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->interface, "auto");
  EXPECT_EQ(r.config->lifespan, "auto");
  EXPECT_EQ(r.config->concurrency, 100u);
}

TEST(AsgiKeys, AllParse) {
  LoadResult r = load_text("interface = \"ASGI\"\nlifespan = \"on\"\nconcurrency = 256\n");
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->interface, "asgi");  // canonical, lower case
  EXPECT_EQ(r.config->lifespan, "on");
  EXPECT_EQ(r.config->concurrency, 256u);
}

TEST(AsgiKeys, BadValuesPointAtTheKey) {
  EXPECT_THAT(all_errors(load_text("interface = \"cgi\"\n")), HasSubstr("one of wsgi, asgi, auto"));
  EXPECT_THAT(all_errors(load_text("lifespan = true\n")), HasSubstr("lifespan"));
  EXPECT_THAT(all_errors(load_text("concurrency = 0\n")), HasSubstr("concurrency: must be at least 1"));
  EXPECT_THAT(all_errors(load_text("concurrency = 300\n")), HasSubstr("concurrency: must be at most 256, got 300"));
  EXPECT_THAT(all_errors(load_text("threads = 257\n")), HasSubstr("threads: must be at most 256"));
}

}  // namespace
}  // namespace hearth::config
