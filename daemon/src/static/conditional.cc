#include "static/conditional.h"

#include <cstdio>
#include <cstring>

#include "http/request_checks.h"

namespace hearth::statics {
namespace {

bool is_weak(std::string_view tag) { return tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/'; }
std::string_view opaque(std::string_view tag) { return is_weak(tag) ? tag.substr(2) : tag; }

const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_of(std::string_view m) {
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[i]) return i;
  }
  return -1;
}

bool digits(std::string_view s, int* out) {
  if (s.empty() || s.size() > 4) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// "08:49:37"
bool parse_time(std::string_view s, std::tm* tm) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  return digits(s.substr(0, 2), &tm->tm_hour) && digits(s.substr(3, 2), &tm->tm_min) &&
         digits(s.substr(6, 2), &tm->tm_sec) && tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec < 61;
}

std::optional<std::time_t> finish(std::tm tm) {
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_year < 70) return std::nullopt;  // before 1970: not a file date
  std::time_t t = ::timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return t;
}

}  // namespace

std::string make_etag(int64_t mtime_ns, uint64_t size) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(mtime_ns),
                static_cast<unsigned long long>(size));
  return buf;
}

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
  s = http::trim_ows(s);
  std::tm tm{};
  size_t comma = s.find(',');
  if (comma == 3) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s.size() != 29 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[25] != ' ' ||
        s.substr(26) != "GMT") {
      return std::nullopt;
    }
    if (!digits(s.substr(5, 2), &tm.tm_mday) || (tm.tm_mon = month_of(s.substr(8, 3))) < 0 ||
        !digits(s.substr(12, 4), &tm.tm_year) || !parse_time(s.substr(17, 8), &tm)) {
      return std::nullopt;
    }
    tm.tm_year -= 1900;
    return finish(tm);
  }
  if (comma != std::string_view::npos) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    std::string_view r = s.substr(comma + 1);
    if (r.size() != 23 || r[0] != ' ' || r[3] != '-' || r[7] != '-' || r[10] != ' ' || r.substr(20) != "GMT") {
      return std::nullopt;
    }
    if (!digits(r.substr(1, 2), &tm.tm_mday) || (tm.tm_mon = month_of(r.substr(4, 3))) < 0 ||
        !digits(r.substr(8, 2), &tm.tm_year) || !parse_time(r.substr(11, 8), &tm)) {
      return std::nullopt;
    }
    if (tm.tm_year < 70) tm.tm_year += 100;  // two-digit years: 1970..2069
    return finish(tm);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (s.size() != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ') return std::nullopt;
  std::string_view day = s.substr(8, 2);
  if (day[0] == ' ') day.remove_prefix(1);
  if ((tm.tm_mon = month_of(s.substr(4, 3))) < 0 || !digits(day, &tm.tm_mday) || !parse_time(s.substr(11, 8), &tm) ||
      !digits(s.substr(20, 4), &tm.tm_year)) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  return finish(tm);
}

bool etag_list_matches(std::string_view header, std::string_view etag, bool weak) {
  header = http::trim_ows(header);
  if (header == "*") return true;
  while (!header.empty()) {
    header = http::trim_ows(header);
    // One entity-tag: [W/]"opaque"; commas may not appear inside the quotes' content.
    size_t start = is_weak(header) ? 2 : 0;
    if (start >= header.size() || header[start] != '"') {
      size_t comma = header.find(',');
      if (comma == std::string_view::npos) break;
      header.remove_prefix(comma + 1);
      continue;
    }
    size_t close = header.find('"', start + 1);
    if (close == std::string_view::npos) break;
    std::string_view tag = header.substr(0, close + 1);
    header.remove_prefix(close + 1);
    header = http::trim_ows(header);
    if (!header.empty() && header.front() == ',') header.remove_prefix(1);
    if (weak) {
      if (opaque(tag) == opaque(etag)) return true;
    } else if (!is_weak(tag) && !is_weak(etag) && tag == etag) {
      return true;
    }
  }
  return false;
}

Precondition evaluate(const Conditionals& c, std::string_view etag, std::time_t mtime) {
  if (!c.if_match.empty()) {
    if (!etag_list_matches(c.if_match, etag, false)) return Precondition::PreconditionFailed;
  } else if (!c.if_unmodified_since.empty()) {
    auto d = parse_http_date(c.if_unmodified_since);
    if (d && mtime > *d) return Precondition::PreconditionFailed;
  }
  if (!c.if_none_match.empty()) {
    return etag_list_matches(c.if_none_match, etag, true) ? Precondition::NotModified : Precondition::Proceed;
  }
  if (!c.if_modified_since.empty()) {
    auto d = parse_http_date(c.if_modified_since);
    if (d && mtime <= *d) return Precondition::NotModified;
  }
  return Precondition::Proceed;
}

bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t mtime) {
  if_range = http::trim_ows(if_range);
  if (if_range.empty()) return true;
  if (if_range.front() == '"' || is_weak(if_range)) return etag_list_matches(if_range, etag, false) &&
                                                             if_range.find(',') == std::string_view::npos;
  auto d = parse_http_date(if_range);
  return d && *d == mtime;
}

}  // namespace hearth::statics
