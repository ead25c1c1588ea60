// CPU backend of sslcore::images_to_float: OpenMP over image planes (or rows, for strided input),
// inner loops the compiler vectorises. The arithmetic is convert_math.h's.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "convert_args.h"
#include "convert_math.h"

namespace sslcore {
namespace {

// Below this many pixels a thread team costs more than it saves.
constexpr int64_t kParallelPixels = 1 << 16;

// Writes `images` converted into `out` (contiguous, checked by the callers).
void convert_into(const at::Tensor& images, const ChannelAffine& affine, at::Tensor& out) {
  const int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  if (out.numel() == 0) return;
  const int64_t sN = images.stride(0), sC = images.stride(1), sH = images.stride(2),
                sW = images.stride(3);
  const uint8_t* src = images.const_data_ptr<uint8_t>();
  float* dst = out.mutable_data_ptr<float>();
  const int threads = at::get_num_threads();
  const bool parallel = out.numel() >= kParallelPixels;

  if (sW == 1 && (H == 1 || sH == W)) {
    // Each (n, c) plane is one contiguous run of H*W bytes: one flat, vectorised loop per plane.
    const int64_t planes = N * C, plane = H * W;
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
    for (int64_t p = 0; p < planes; ++p) {
      const int64_t c = p % C, n = p / C;
      const uint8_t* in = src + n * sN + c * sC;
      float* o = dst + p * plane;
      const float scale = affine.scale[c], shift = affine.shift[c];
      for (int64_t i = 0; i < plane; ++i) o[i] = convert_pixel(in[i], scale, shift);
    }
    return;
  }
  // Any other strides (channels-last, sliced batches) are read directly, row by row: no copy.
  const int64_t rows = N * C * H;
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = r % H, c = (r / H) % C, n = r / (H * C);
    const uint8_t* in = src + n * sN + c * sC + h * sH;
    float* o = dst + r * W;
    const float scale = affine.scale[c], shift = affine.shift[c];
    for (int64_t w = 0; w < W; ++w) o[w] = convert_pixel(in[w * sW], scale, shift);
  }
}

void images_to_float_into_cpu(const at::Tensor& images, c10::ArrayRef<double> mean,
                               c10::ArrayRef<double> std, at::Tensor& out) {
  check_device(images, c10::DeviceType::CPU, "images");
  const ChannelAffine affine = check_images_to_float_args(images, mean, std);
  check_images_to_float_out(images, out);
  convert_into(images, affine, out);
}

at::Tensor images_to_float_cpu(const at::Tensor& images, c10::ArrayRef<double> mean,
                               c10::ArrayRef<double> std) {
  check_device(images, c10::DeviceType::CPU, "images");
  const ChannelAffine affine = check_images_to_float_args(images, mean, std);
  at::Tensor out = at::empty(images.sizes(), images.options().dtype(at::kFloat));
  convert_into(images, affine, out);
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(sslcore, CPU, m) {
  m.impl("images_to_float", &images_to_float_cpu);
  m.impl("images_to_float_into", &images_to_float_into_cpu);
}

}  // namespace sslcore
