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

SSL_HOST_DEVICE int aa_max_taps(float scale) {
  return static_cast<int>(ceilf(aa_support(scale))) * 2 + 1;
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
  const int max_taps = aa_max_taps(scale);
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

// ---- colour: torchvision's adjust_hue through HSV, one pixel ----
SSL_HOST_DEVICE void adjust_hue_pixel(float& r, float& g, float& b, float shift) {
  const float maxc = fmaxf(r, fmaxf(g, b));
  const float minc = fminf(r, fminf(g, b));
  const bool eqc = maxc == minc;
  const float cr = maxc - minc;
  const float s = cr / (eqc ? 1.f : maxc);
  const float div = eqc ? 1.f : cr;
  const float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  const float hr = (maxc == r) ? (bc - gc) : 0.f;
  const float hg = (maxc == g && maxc != r) ? (2.f + rc - bc) : 0.f;
  const float hb = (maxc != g && maxc != r) ? (4.f + gc - rc) : 0.f;
  float h = fmodf((hr + hg + hb) / 6.f + 1.f, 1.f);
  // torch.remainder(h + shift, 1): fmod, moved into [0, 1) for negative results.
  h = fmodf(h + shift, 1.f);
  if (h != 0.f && h < 0.f) h += 1.f;
  const float v = maxc;
  const float i = floorf(h * 6.f);
  const float f = h * 6.f - i;
  int sector = static_cast<int>(i) % 6;
  if (sector < 0) sector += 6;
  const float p = clamp01(v * (1.f - s));
  const float q = clamp01(v * (1.f - s * f));
  const float t = clamp01(v * (1.f - s * (1.f - f)));
  switch (sector) {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
  }
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
