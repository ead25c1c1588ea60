// Argument checks of augment_views shared by the CPU and CUDA backends: shapes, dtypes, devices
// and the integer arguments (size, blur_kernel_size), all overflow-free. Value checks that need
// the params' contents (source in range, crop inside the image, finite factors) run in the CPU
// backend and in sslcore.ops before a CUDA launch (the CUDA kernels clamp every index).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/ArrayRef.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../common/checks.h"
#include "../common/safe_size.h"

namespace sslcore {
namespace augment {

// The op's parameter list (its schema, csrc/register.cpp) and the matching argument list, for the
// backends' entry points, so each backend writes them once.
#define SSL_AUGMENT_PARAMS                                                                     \
  const at::Tensor &images, const at::Tensor &source, const at::Tensor &crop,                   \
      const at::Tensor &flip, const at::Tensor &jitter, const at::Tensor &factors,              \
      const at::Tensor &order, const at::Tensor &grayscale, const at::Tensor &blur_sigma,       \
      const at::Tensor &solarize, c10::ArrayRef<int64_t> size, int64_t blur_kernel_size,        \
      double solarize_threshold, c10::ArrayRef<double> mean, c10::ArrayRef<double> std
#define SSL_AUGMENT_ARGS                                                                   \
  images, source, crop, flip, jitter, factors, order, grayscale, blur_sigma, solarize, size, \
      blur_kernel_size, solarize_threshold, mean, std

// Largest image side, output side and blur kernel: the kernels hold tap counts and blur taps in
// int and positions in float, so sides stay within int32 (no real image comes near).
constexpr int64_t kMaxSide = std::numeric_limits<int32_t>::max();

struct AugmentArgs {
  const at::Tensor& images;
  const at::Tensor& source;
  const at::Tensor& crop;
  const at::Tensor& flip;
  const at::Tensor& jitter;
  const at::Tensor& factors;
  const at::Tensor& order;
  const at::Tensor& grayscale;
  const at::Tensor& blur_sigma;
  const at::Tensor& solarize;
  c10::ArrayRef<int64_t> size;
  int64_t blur_kernel_size;
  double solarize_threshold;
  c10::ArrayRef<double> mean;
  c10::ArrayRef<double> std;
};

inline void check_param(const at::Tensor& t, const char* name, at::ScalarType dtype, int64_t views,
                        int64_t cols, const at::Tensor& images) {
  check_dtype(t, dtype, name);
  if (cols == 0) {
    TORCH_CHECK_VALUE(t.dim() == 1 && t.size(0) == views, name, ": expected shape (", views,
                      ",) (one row per view), got ", t.sizes());
  } else {
    TORCH_CHECK_VALUE(t.dim() == 2 && t.size(0) == views && t.size(1) == cols, name,
                      ": expected shape (", views, ", ", cols, ") (one row per view), got ",
                      t.sizes());
  }
  TORCH_CHECK_VALUE(t.device() == images.device(), name, ": expected a tensor on ",
                    images.device(), " (that of images), got one on ", t.device());
}

// The integer arguments: size (h, w) and blur_kernel_size, each in range before any arithmetic,
// and the output's bytes computed without overflow.
inline void check_sizes(const AugmentArgs& a, int64_t V, int64_t C) {
  TORCH_CHECK_VALUE(a.size.size() == 2 && a.size[0] >= 1 && a.size[1] >= 1 &&
                        a.size[0] <= kMaxSide && a.size[1] <= kMaxSide,
                    "size: expected (h, w) with 1 <= h, w <= ", kMaxSide, ", got ", a.size);
  const int64_t k = a.blur_kernel_size;
  TORCH_CHECK_VALUE(k >= 1 && k <= kMaxSide && k % 2 == 1,
                    "blur_kernel_size: expected an odd int in [1, ", kMaxSide, "], got ", k);
  TORCH_CHECK_VALUE(k / 2 < std::min(a.size[0], a.size[1]), "blur_kernel_size: ", k,
                    " taps need an output side of at least ", k / 2 + 1,
                    " for reflect padding, got size ", a.size);
  TORCH_CHECK_VALUE(sat_mul(V, C, a.size[0], a.size[1], int64_t{sizeof(float)}) < kSizeOverflow,
                    "size: ", V, " views of ", C, "x", a.size[0], "x", a.size[1],
                    " floats exceed the addressable memory");
}

// Checks everything but the params' values; returns the number of views.
inline int64_t check_augment_args(const AugmentArgs& a) {
  check_dim(a.images, 4, "images", "(N, C, H, W)");
  TORCH_CHECK_TYPE(a.images.scalar_type() == at::kByte || a.images.scalar_type() == at::kFloat,
                   "images: expected dtype uint8 or float32, got ", a.images.scalar_type());
  const int64_t C = a.images.size(1);
  TORCH_CHECK_VALUE(C == 1 || C == 3, "images: expected 1 or 3 channels in dim 1, got ", C);
  TORCH_CHECK_VALUE(a.images.size(2) <= kMaxSide && a.images.size(3) <= kMaxSide,
                    "images: expected H and W of at most ", kMaxSide, ", got shape ",
                    a.images.sizes());
  const int64_t V = a.source.dim() == 1 ? a.source.size(0) : -1;
  TORCH_CHECK_VALUE(V >= 0, "source: expected a 1-D tensor (V,), got shape ", a.source.sizes());
  check_param(a.source, "source", at::kLong, V, 0, a.images);
  check_param(a.crop, "crop", at::kLong, V, 4, a.images);
  check_param(a.flip, "flip", at::kBool, V, 0, a.images);
  check_param(a.jitter, "jitter", at::kBool, V, 0, a.images);
  check_param(a.factors, "factors", at::kFloat, V, 4, a.images);
  check_param(a.order, "order", at::kLong, V, 4, a.images);
  check_param(a.grayscale, "grayscale", at::kBool, V, 0, a.images);
  check_param(a.blur_sigma, "blur_sigma", at::kFloat, V, 0, a.images);
  check_param(a.solarize, "solarize", at::kBool, V, 0, a.images);
  // Views read pixels: an empty batch or an empty image has none to read (the CUDA kernels clamp
  // indices into the image, which needs at least one pixel).
  TORCH_CHECK_VALUE(V == 0 || a.images.numel() > 0, "images: ", V,
                    " views need a batch with pixels, got shape ", a.images.sizes());
  check_sizes(a, V, C);
  TORCH_CHECK_VALUE(std::isfinite(a.solarize_threshold),
                    "solarize_threshold: expected a finite value, got ", a.solarize_threshold);
  TORCH_CHECK_VALUE(a.mean.size() == a.std.size() &&
                        (a.mean.empty() || static_cast<int64_t>(a.mean.size()) == C),
                    "mean, std: expected none or ", C, " values each, got ", a.mean.size(),
                    " and ", a.std.size());
  for (size_t c = 0; c < a.mean.size(); ++c) {
    TORCH_CHECK_VALUE(std::isfinite(a.mean[c]), "mean: expected finite values, got ", a.mean[c]);
    TORCH_CHECK_VALUE(std::isfinite(a.std[c]) && a.std[c] > 0,
                      "std: expected finite positive values, got ", a.std[c]);
  }
  check_normalisation(a.mean, a.std);
  return V;
}

// The `out` of augment_views_into: float32, contiguous, (V, C, h, w), on the images' device.
inline void check_augment_out(const AugmentArgs& a, int64_t V, const at::Tensor& out) {
  check_dtype(out, at::kFloat, "out");
  const std::vector<int64_t> want{V, a.images.size(1), a.size[0], a.size[1]};
  TORCH_CHECK_VALUE(out.sizes() == c10::IntArrayRef(want), "out: expected shape ",
                    c10::IntArrayRef(want), " (views, channels, h, w), got ", out.sizes());
  TORCH_CHECK_VALUE(out.device() == a.images.device(), "out: expected a tensor on ",
                    a.images.device(), " (that of images), got one on ", out.device());
  TORCH_CHECK_VALUE(out.is_contiguous(), "out: expected a contiguous tensor");
}

}  // namespace augment
}  // namespace sslcore
