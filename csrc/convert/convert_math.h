// uint8 -> float32 conversion with per-channel normalisation, written once for CPU and CUDA.
//   out = (v / 255 - mean[c]) / std[c] = v * scale[c] + shift[c]
// with scale = 1 / (255 std) and shift = -mean / std folded on the host, so a pixel costs one FMA.
#pragma once

#include <cstdint>

#include "../common/host_device.h"

namespace sslcore {

// Up to 4 channels (gray, RGB, RGBA); passed by value to kernels, so no device buffer is needed.
constexpr int kMaxConvertChannels = 4;

struct ChannelAffine {
  float scale[kMaxConvertChannels];
  float shift[kMaxConvertChannels];
};

// Folds mean/std into scale/shift. Division once per channel on the host keeps the per-pixel
// work to a multiply-add; the rounding differs from (v/255 - m)/s by at most a few ulp.
inline ChannelAffine make_channel_affine(const double* mean, const double* std, int channels) {
  ChannelAffine a{};
  for (int c = 0; c < channels; ++c) {
    a.scale[c] = static_cast<float>(1.0 / (255.0 * std[c]));
    a.shift[c] = static_cast<float>(-mean[c] / std[c]);
  }
  return a;
}

SSL_HOST_DEVICE float convert_pixel(uint8_t v, float scale, float shift) {
  return static_cast<float>(v) * scale + shift;
}

}  // namespace sslcore
