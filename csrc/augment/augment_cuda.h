// The launch interface of augment_cuda.cu: plain pointers and sizes, no torch types, so the
// kernels compile with nvcc alone and csrc/cuda_ops.cpp (torch side) only fills these structs.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace sslcore {
namespace augment {

// The ViewParams tensors of V views, on the device (see sslcore/augment/params.py).
struct DeviceViews {
  const int64_t* source;  // (V,)
  const int64_t* crop;    // (V, 4) top, left, height, width
  const bool* flip;       // (V,)
  const bool* jitter;     // (V,)
  const float* factors;   // (V, 4) brightness, contrast, saturation, hue
  const int64_t* order;   // (V, 4)
  const bool* gray;       // (V,)
  const float* sigma;     // (V,)
  const bool* solarize;   // (V,)
};

struct AugmentShape {
  int64_t V, N, C, H, W;      // views; images (N, C, H, W)
  int64_t sN, sC, sH, sW;     // image strides, in elements
  int64_t oh, ow;             // output size
  int taps;                   // blur taps (odd)
  float threshold;            // solarize threshold
  float scale[3], shift[3];   // normalisation, folded: x * scale + shift
};

// out: (V, C, oh, ow) float32; tmp: the same size (blur); gauss: V * taps floats.
cudaError_t launch_augment_views(const void* images, bool images_uint8, const DeviceViews& p,
                                 const AugmentShape& s, float* out, float* tmp, float* gauss,
                                 cudaStream_t stream);

}  // namespace augment
}  // namespace sslcore
