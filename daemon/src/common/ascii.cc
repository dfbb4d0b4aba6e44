#include "common/ascii.h"

#include <cstdint>
#include <cstring>

namespace hearth::ascii::detail {
namespace {
// One byte pair: equal, or the same ASCII letter in two cases.
inline bool ieq_byte(unsigned char x, unsigned char y) {
  if (x == y) return true;
  const unsigned char lx = static_cast<unsigned char>(x | 0x20);
  return lx == (y | 0x20) && lx >= 'a' && lx <= 'z';
}
inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
// Eight bytes at once: equal words pass at once; a word that differs anywhere
// but bit 5 of a byte fails at once; otherwise every byte that differs in bit 5
// must be an ASCII letter, checked for the eight bytes together (SWAR).
inline bool ieq_word(const char* a, const char* b) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x80 * kOnes;
  const uint64_t x = load8(a), d = x ^ load8(b);
  if (d == 0) return true;
  if (d & ~(0x20 * kOnes)) return false;
  const uint64_t lower = x | (0x20 * kOnes);  // the byte's lower-case form (if a letter)
  const uint64_t low7 = lower & ~kHigh;        // no carry between bytes below
  const uint64_t ge_a = (low7 + (0x80 - 'a') * kOnes) & kHigh;
  const uint64_t gt_z = (low7 + (0x80 - 'z' - 1) * kOnes) & kHigh;
  const uint64_t letter = ge_a & ~gt_z & ~(lower & kHigh);  // bit 7 set for 'a'..'z'
  return ((d << 2) & ~letter) == 0;                          // bit 5 of d -> bit 7
}
}  // namespace

bool iequals_bytes(const char* a, const char* b, std::size_t n) {
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i)
      if (!ieq_byte(static_cast<unsigned char>(a[i]), static_cast<unsigned char>(b[i]))) return false;
    return true;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (!ieq_word(a + i, b + i)) return false;
  // The tail as one last word overlapping the previous one.
  return i == n || ieq_word(a + n - 8, b + n - 8);
}

}  // namespace hearth::ascii::detail
