// Per-pixel arithmetic of sslcore::augment_views, written once for the CPU and CUDA backends.
// Every formula follows torchvision.transforms.v2.functional on float images in [0, 1] (see
// sslcore/augment/functional.py for the same definitions in PyTorch, the tests' oracle).
#pragma once

#include <cmath>
#include <cstdint>

#include "../common/host_device.h"

namespace sslcore {
namespace augment {

// Indices of the jitter ops in a view's `order` row (sslcore.augment.params.JITTER_OPS).
enum JitterOp : int { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };

// One view's parameters, unpacked from the ViewParams tensors.
struct ViewRow {
  int64_t source, top, left, height, width;
  bool flip, jitter, gray, solarize;
  float factor[4];  // brightness, contrast, saturation, hue shift
  int order[4];     // permutation of JitterOp
  float sigma;      // blur sigma, 0 = no blur
};

SSL_HOST_DEVICE float clamp01(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }

// torchvision's rgb_to_grayscale (ITU-R 601-2 luma).
SSL_HOST_DEVICE float luma(float r, float g, float b) {
  return 0.2989f * r + 0.587f * g + 0.114f * b;
}

// torchvision's _blend: clamp(ratio * x + (1 - ratio) * other).
SSL_HOST_DEVICE float blend(float x, float other, float ratio) {
  return clamp01(ratio * x + (1.f - ratio) * other);
}

// ---- crop + resize: PyTorch's antialiased bilinear (F.interpolate(..., antialias=True)) ----
// For output index i of `out_size` over an input span of `in_size`, the taps are
// [xmin, xmin + xsize) with triangle weights stretched by the downscale factor, normalised.
// Upscaling reduces to plain bilinear with align_corners=False.

SSL_HOST_DEVICE float aa_scale(int64_t in_size, int64_t out_size) {
  return static_cast<float>(in_size) / static_cast<float>(out_size);
}

SSL_HOST_DEVICE float aa_support(float scale) { return scale >= 1.f ? scale : 1.f; }

// In int64: a hostile crop can make scale ~2^31, whose tap count would overflow an int.
SSL_HOST_DEVICE int64_t aa_max_taps(float scale) {
  return static_cast<int64_t>(ceilf(aa_support(scale))) * 2 + 1;
}

SSL_HOST_DEVICE float aa_filter(float x) {
  x = fabsf(x);
  return x < 1.f ? 1.f - x : 0.f;
}

// Fills w[0..xsize) (xsize <= aa_max_taps(scale)) and returns xmin; weights sum to 1.
SSL_HOST_DEVICE int64_t aa_taps(int64_t i, int64_t in_size, float scale, float* w,
                                int& xsize) {
  const float support = aa_support(scale);
  const float center = scale * (static_cast<float>(i) + 0.5f);
  const float invscale = scale >= 1.f ? 1.f / scale : 1.f;
  int64_t xmin = static_cast<int64_t>(center - support + 0.5f);
  if (xmin < 0) xmin = 0;
  int64_t xmax = static_cast<int64_t>(center + support + 0.5f);
  if (xmax > in_size) xmax = in_size;
  int64_t n = xmax - xmin;
  const int64_t max_taps = aa_max_taps(scale);
  if (n > max_taps) n = max_taps;  // float rounding can add one tap, as PyTorch also clips
  if (n < 0) n = 0;
  float total = 0.f;
  for (int64_t j = 0; j < n; ++j) {
    w[j] = aa_filter((static_cast<float>(j + xmin) - center + 0.5f) * invscale);
    total += w[j];
  }
  if (total != 0.f) {
    for (int64_t j = 0; j < n; ++j) w[j] /= total;
  }
  xsize = static_cast<int>(n);
  return xmin;
}

// Max and min of three finite values as selects (fmaxf's NaN rules keep loops from vectorising).
SSL_HOST_DEVICE float fmax3(float a, float b, float c) {
  const float m = a > b ? a : b;
  return m > c ? m : c;
}
SSL_HOST_DEVICE float fmin3(float a, float b, float c) {
  const float m = a < b ? a : b;
  return m < c ? m : c;
}

// ---- colour: torchvision's adjust_hue through HSV, one pixel ----
// Branch-free (selects only) so CPU loops vectorise; same operations and rounding as
// torchvision's _rgb2hsv / _hsv2rgb. x - floor(x) equals fmod(x, 1) exactly for x in [0, 2) and
// torch.remainder(x, 1) for x in [-1, 2), the ranges that occur here.
SSL_HOST_DEVICE void adjust_hue_pixel(float& r, float& g, float& b, float shift) {
  const float maxc = fmax3(r, g, b);
  const float minc = fmin3(r, g, b);
  const bool eqc = maxc == minc;
  const float cr = maxc - minc;
  const float s = cr / (eqc ? 1.f : maxc);
  const float div = eqc ? 1.f : cr;
  const float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  // Every value is computed before it is selected, and selects are not nested: a float op
  // inside a conditional arm keeps GCC from if-converting, and so from vectorising. torchvision
  // sums hr + hg + hb of which exactly one is non-zero; selecting that one is the same number.
  const float dr = bc - gc, dg = 2.f + rc - bc, db = 4.f + gc - rc;
  const float hgb = (maxc == g) ? dg : db;
  const float hsum = (maxc == r) ? dr : hgb;
  const float x = hsum / 6.f + 1.f;  // in [5/6, 11/6]
  float h = x - floorf(x) + shift;   // hue in [0, 1), shifted into [-0.5, 1.5)
  h = h - floorf(h);
  const float v = maxc;
  const float i = floorf(h * 6.f);
  const float f = h * 6.f - i;
  const float i_minus_6 = i - 6.f;
  const float sector = i >= 6.f ? i_minus_6 : i;  // torchvision: int(i) % 6
  const float p = clamp01(v * (1.f - s));
  const float q = clamp01(v * (1.f - s * f));
  const float t = clamp01(v * (1.f - s * (1.f - f)));
  // Sector 0..5 → (r, g, b) = (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v) (v,p,q).
  const float r4 = sector < 5.f ? t : v, r2 = sector < 4.f ? p : r4, r1 = sector < 2.f ? q : r2;
  const float g3 = sector < 4.f ? q : p, g1 = sector < 3.f ? v : g3;
  const float b3 = sector < 5.f ? v : q, b2 = sector < 3.f ? t : b3;
  r = sector < 1.f ? v : r1;
  g = sector < 1.f ? t : g1;
  b = sector < 2.f ? p : b2;
}

// ---- blur: torchvision's Gaussian taps and reflect padding ----
// Unnormalised weight of tap k of a `taps`-wide kernel; callers normalise by the sum.
SSL_HOST_DEVICE float gaussian_tap(int k, int taps, float sigma) {
  const float x = static_cast<float>(k) - 0.5f * static_cast<float>(taps - 1);
  return expf(-0.5f * (x / sigma) * (x / sigma));
}

// Index of position i in a row of n after 'reflect' padding (edge not repeated); needs pad < n.
SSL_HOST_DEVICE int64_t reflect(int64_t i, int64_t n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

SSL_HOST_DEVICE float solarize(float x, float threshold) { return x >= threshold ? 1.f - x : x; }

}  // namespace augment
}  // namespace sslcore
