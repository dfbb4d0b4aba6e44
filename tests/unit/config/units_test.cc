#include "config/units.h"

#include <gtest/gtest.h>

namespace hearth::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsUnitsAndBareSeconds) {
  EXPECT_EQ(parse_duration("250ms"), Millis(250));
  EXPECT_EQ(parse_duration("10s"), seconds(10));
  EXPECT_EQ(parse_duration("1.5s"), Millis(1500));
  EXPECT_EQ(parse_duration("10m"), minutes(10));
  EXPECT_EQ(parse_duration("2h"), hours(2));
  EXPECT_EQ(parse_duration("1m30s"), seconds(90));
  EXPECT_EQ(parse_duration("1h2m3s4ms"), Millis(3'723'004));
  EXPECT_EQ(parse_duration("30"), seconds(30));
  EXPECT_EQ(parse_duration("0.25"), Millis(250));
  EXPECT_EQ(parse_duration("0"), Millis(0));
  EXPECT_EQ(parse_duration("10S"), seconds(10));
  EXPECT_EQ(parse_duration("5MS"), Millis(5));
  EXPECT_EQ(parse_duration(" 10 s "), seconds(10));
  EXPECT_EQ(parse_duration(".5s"), Millis(500));
}

TEST(ParseDuration, RejectsBadInput) {
  for (const char* bad : {"", " ", "-1s", "-5", "10x", "s", "10sec", "1.s", "1..5s", "1m30",
                          "30 potatoes", "1e3", "+5s", "10s-", "99999999999999999999s",
                          "9999999999999h", "ms10"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(DurationFromSeconds, RoundsAndRejects) {
  EXPECT_EQ(duration_from_seconds(1.5), Millis(1500));
  EXPECT_EQ(duration_from_seconds(0.0004), Millis(0));
  EXPECT_EQ(duration_from_seconds(30), seconds(30));
  EXPECT_EQ(duration_from_seconds(-1), std::nullopt);
  EXPECT_EQ(duration_from_seconds(1e300), std::nullopt);
  EXPECT_EQ(duration_from_seconds(std::numeric_limits<double>::quiet_NaN()), std::nullopt);
  EXPECT_EQ(duration_from_seconds(std::numeric_limits<double>::infinity()), std::nullopt);
}

TEST(ParseSize, AcceptsUnits) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(parse_size("64K"), 64u * 1024);
  EXPECT_EQ(parse_size("64KB"), 64u * 1000);
  EXPECT_EQ(parse_size("64kb"), 64u * 1000);
  EXPECT_EQ(parse_size("64kib"), 64u * 1024);
  EXPECT_EQ(parse_size("10MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("10M"), 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("10MB"), 10'000'000u);
  EXPECT_EQ(parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_size("2GB"), 2'000'000'000u);
  EXPECT_EQ(parse_size("1TiB"), 1ull << 40);
  EXPECT_EQ(parse_size("1.5MiB"), 1536u * 1024);
  EXPECT_EQ(parse_size("10 MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("0"), 0u);
}

TEST(ParseSize, RejectsBadInput) {
  for (const char* bad : {"", "-1", "-1KiB", "10 potatoes", "KiB", "10KiBs", "10XB", "1.5",
                          "18446744073709551616", "99999999999TiB", "1,024", "0x10", "10 K B"}) {
    EXPECT_EQ(parse_size(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(ParseUint, BoundsAndSyntax) {
  EXPECT_EQ(parse_uint("0", 10), 0u);
  EXPECT_EQ(parse_uint("10", 10), 10u);
  EXPECT_EQ(parse_uint("007", 10), 7u);
  EXPECT_EQ(parse_uint("11", 10), std::nullopt);
  EXPECT_EQ(parse_uint("", 10), std::nullopt);
  EXPECT_EQ(parse_uint("+1", 10), std::nullopt);
  EXPECT_EQ(parse_uint("1.0", 10), std::nullopt);
  EXPECT_EQ(parse_uint("-1", 10), std::nullopt);
  EXPECT_EQ(parse_uint("99999999999999999999999", UINT64_MAX), std::nullopt);
}

TEST(Format, RoundTripsThroughParsers) {
  EXPECT_EQ(format_duration(Millis(250)), "250ms");
  EXPECT_EQ(format_duration(seconds(30)), "30s");
  EXPECT_EQ(format_duration(seconds(90)), "1m30s");
  EXPECT_EQ(format_duration(hours(2)), "2h");
  EXPECT_EQ(format_duration(Millis(1500)), "1500ms");
  EXPECT_EQ(format_size(10u * 1024 * 1024), "10MiB");
  EXPECT_EQ(format_size(64u * 1000), "64000");
  EXPECT_EQ(format_size(1536), "1536");
  EXPECT_EQ(format_size(3072), "3KiB");
  for (int64_t ms : {0, 1, 999, 1000, 1001, 61'000, 3'600'000, 3'723'004, 86'400'000}) {
    EXPECT_EQ(parse_duration(format_duration(Millis(ms))), Millis(ms)) << ms;
  }
  for (uint64_t n : {0ull, 1ull, 1000ull, 1024ull, 1ull << 20, (1ull << 40) * 3, 123456789ull}) {
    EXPECT_EQ(parse_size(format_size(n)), n) << n;
  }
}

TEST(ParseUmask, Octal) {
  EXPECT_EQ(parse_umask("027"), 027u);
  EXPECT_EQ(parse_umask("0027"), 027u);
  EXPECT_EQ(parse_umask("0o077"), 077u);
  EXPECT_EQ(parse_umask("0"), 0u);
  EXPECT_EQ(parse_umask("777"), 0777u);
  EXPECT_EQ(parse_umask("1777"), std::nullopt);
  EXPECT_EQ(parse_umask("8"), std::nullopt);
  EXPECT_EQ(parse_umask(""), std::nullopt);
  EXPECT_EQ(parse_umask("0o"), std::nullopt);
  EXPECT_EQ(parse_umask("-1"), std::nullopt);
}

}  // namespace
}  // namespace hearth::config

namespace hearth::config {
namespace {

TEST(ParseRate, AcceptsPerSecondMinuteHour) {
  EXPECT_DOUBLE_EQ(*parse_rate("10/s"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_rate("600/m"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_rate("3600/h"), 1.0);
  EXPECT_DOUBLE_EQ(*parse_rate("10r/s"), 10.0);  // nginx's spelling
  EXPECT_DOUBLE_EQ(*parse_rate("0.5/s"), 0.5);
}

TEST(ParseRate, RejectsBadInput) {
  for (const char* bad : {"", "10", "10/", "/s", "0/s", "-1/s", "10/d", "1e3/s", "10 /s", "1.2.3/s", "r/s"}) {
    EXPECT_FALSE(parse_rate(bad)) << bad;
  }
}

}  // namespace
}  // namespace hearth::config
