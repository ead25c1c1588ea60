// Overflow-free size arithmetic for values a caller controls (crop boxes, output sizes, kernel
// sizes): products and sums of non-negative int64 saturate at kSizeOverflow instead of wrapping,
// so "is this bigger than the cap" stays a correct question however large the inputs are.
#pragma once

#include <c10/util/safe_numerics.h>

#include <cstdint>
#include <limits>

namespace sslcore {

constexpr int64_t kSizeOverflow = std::numeric_limits<int64_t>::max();

// a * b for a, b >= 0, or kSizeOverflow when it does not fit in int64.
inline int64_t sat_mul(int64_t a, int64_t b) {
  int64_t out = 0;
  return c10::mul_overflows(a, b, &out) ? kSizeOverflow : out;
}

template <typename... Rest>
inline int64_t sat_mul(int64_t a, int64_t b, Rest... rest) {
  return sat_mul(sat_mul(a, b), rest...);
}

// a + b for a, b >= 0, or kSizeOverflow when it does not fit in int64.
inline int64_t sat_add(int64_t a, int64_t b) {
  int64_t out = 0;
  return c10::add_overflows(a, b, &out) ? kSizeOverflow : out;
}

template <typename... Rest>
inline int64_t sat_add(int64_t a, int64_t b, Rest... rest) {
  return sat_add(sat_add(a, b), rest...);
}

// Whether [start, start + length) lies inside [0, extent), written without the sum
// start + length, which overflows for hostile values (start = 2^63 - 10).
inline bool span_inside(int64_t start, int64_t length, int64_t extent) {
  return start >= 0 && length >= 1 && length <= extent && start <= extent - length;
}

}  // namespace sslcore
