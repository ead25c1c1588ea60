// CUDA kernel of sslcore::images_to_float. Depends only on convert_math.h and the CUDA runtime,
// so `nvcc -c` compiles it without torch or a GPU; csrc/cuda_ops.cpp launches it on torch's stream.
#include <cuda_runtime.h>

#include <cstdint>

#include "convert_math.h"

namespace sslcore {
namespace {

// One thread per output pixel (grid-stride): output is written contiguously, input read through
// its strides, so channels-last batches need no copy.
__global__ void images_to_float_kernel(const uint8_t* __restrict__ src, float* __restrict__ dst,
                                       int64_t C, int64_t H, int64_t W, int64_t sN, int64_t sC,
                                       int64_t sH, int64_t sW, int64_t numel,
                                       ChannelAffine affine) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel;
       i += stride) {
    const int64_t w = i % W, h = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
    const uint8_t v = src[n * sN + c * sC + h * sH + w * sW];
    dst[i] = convert_pixel(v, affine.scale[c], affine.shift[c]);
  }
}

}  // namespace

cudaError_t launch_images_to_float(const uint8_t* src, float* dst, int64_t N, int64_t C,
                                   int64_t H, int64_t W, const int64_t* strides,
                                   ChannelAffine affine, cudaStream_t stream) {
  const int64_t numel = N * C * H * W;
  if (numel == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const int64_t wanted = (numel + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(wanted < 65535 * 8 ? wanted : 65535 * 8);
  images_to_float_kernel<<<blocks, kThreads, 0, stream>>>(src, dst, C, H, W, strides[0],
                                                          strides[1], strides[2], strides[3],
                                                          numel, affine);
  return cudaGetLastError();
}

}  // namespace sslcore
