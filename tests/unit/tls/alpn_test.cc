#include "tls/alpn.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::tls {
namespace {

std::string wire(std::initializer_list<std::string> names) {
  std::string out;
  for (const auto& n : names) {
    out.push_back(static_cast<char>(n.size()));
    out += n;
  }
  return out;
}

TEST(Alpn, PrefersH2WhenEnabled) {
  std::string w = wire({"http/1.1", "h2"});
  EXPECT_EQ(select_alpn(w, true), "h2");
  EXPECT_EQ(select_alpn(w, false), "http/1.1");
}

TEST(Alpn, TheSelectionPointsIntoTheClientList) {
  std::string w = wire({"h2", "http/1.1"});
  auto chosen = select_alpn(w, true);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->data(), w.data() + 1);  // OpenSSL needs it to stay valid: it is the client's buffer
}

TEST(Alpn, NothingWeSpeak) {
  EXPECT_FALSE(select_alpn(wire({"spdy/3", "h3"}), true));
  EXPECT_FALSE(select_alpn(wire({"h2"}), false));  // http2 = false and no http/1.1 offered
  EXPECT_FALSE(select_alpn("", true));
}

TEST(Alpn, MalformedListsAreRejected) {
  EXPECT_FALSE(select_alpn(std::string("\x05h2", 3), true));        // length past the end
  EXPECT_FALSE(select_alpn(std::string("\x00\x02h2", 4), true));    // empty name
  EXPECT_FALSE(select_alpn(wire({"h2"}) + std::string("\x09", 1), true));
}

}  // namespace
}  // namespace hearth::tls
