// Argument checks for images_to_float shared by the CPU and CUDA backends, so both reject bad
// input with the same message.
#pragma once

#include <ATen/core/Tensor.h>
#include <cmath>
#include <c10/util/ArrayRef.h>

#include "../common/checks.h"
#include "convert_math.h"

namespace sslcore {

inline ChannelAffine check_images_to_float_args(const at::Tensor& images,
                                                c10::ArrayRef<double> mean,
                                                c10::ArrayRef<double> std) {
  check_dim(images, 4, "images", "(N, C, H, W)");
  check_dtype(images, at::kByte, "images");
  const int64_t channels = images.size(1);
  TORCH_CHECK_VALUE(channels >= 1 && channels <= kMaxConvertChannels,
              "images: expected 1 to ", kMaxConvertChannels, " channels in dim 1, got ", channels);
  TORCH_CHECK_VALUE(static_cast<int64_t>(mean.size()) == channels, "mean: expected ", channels,
              " values (one per channel), got ", mean.size());
  TORCH_CHECK_VALUE(static_cast<int64_t>(std.size()) == channels, "std: expected ", channels,
              " values (one per channel), got ", std.size());
  for (int64_t c = 0; c < channels; ++c) {
    TORCH_CHECK_VALUE(std::isfinite(mean[c]), "mean: expected finite values, got ", mean[c],
                " for channel ", c);
    TORCH_CHECK_VALUE(std::isfinite(std[c]) && std[c] > 0.0, "std: expected finite positive values, got ",
                std[c], " for channel ", c);
  }
  check_normalisation(mean, std);
  return make_channel_affine(mean.data(), std.data(), static_cast<int>(channels));
}

// The `out` of images_to_float.out: float32, contiguous, the shape of images, on its device.
inline void check_images_to_float_out(const at::Tensor& images, const at::Tensor& out) {
  check_dtype(out, at::kFloat, "out");
  TORCH_CHECK_VALUE(out.sizes() == images.sizes(), "out: expected shape ", images.sizes(),
                    " (that of images), got ", out.sizes());
  TORCH_CHECK_VALUE(out.device() == images.device(), "out: expected a tensor on ",
                    images.device(), " (that of images), got one on ", out.device());
  TORCH_CHECK_VALUE(out.is_contiguous(), "out: expected a contiguous tensor");
}

}  // namespace sslcore
