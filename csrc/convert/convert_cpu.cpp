// CPU backend of sslcore::images_to_float: OpenMP over rows, an inner loop over one row that the
// compiler vectorises when the row is contiguous. The arithmetic is convert_math.h's.
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

at::Tensor images_to_float_cpu(const at::Tensor& images, c10::ArrayRef<double> mean,
                               c10::ArrayRef<double> std) {
  check_device(images, c10::DeviceType::CPU, "images");
  const ChannelAffine affine = check_images_to_float_args(images, mean, std);

  const int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  at::Tensor out = at::empty({N, C, H, W}, images.options().dtype(at::kFloat));
  if (out.numel() == 0) return out;

  // Any strides are read directly (channels-last and sliced batches need no copy first).
  const int64_t sN = images.stride(0), sC = images.stride(1), sH = images.stride(2),
                sW = images.stride(3);
  const uint8_t* src = images.const_data_ptr<uint8_t>();
  float* dst = out.mutable_data_ptr<float>();
  const int64_t rows = N * C * H;
  const int threads = at::get_num_threads();

#pragma omp parallel for schedule(static) num_threads(threads) if (rows * W >= kParallelPixels)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = r % H, c = (r / H) % C, n = r / (H * C);
    const uint8_t* in_row = src + n * sN + c * sC + h * sH;
    float* out_row = dst + r * W;
    const float scale = affine.scale[c], shift = affine.shift[c];
    if (sW == 1) {
      for (int64_t w = 0; w < W; ++w) out_row[w] = convert_pixel(in_row[w], scale, shift);
    } else {
      for (int64_t w = 0; w < W; ++w) out_row[w] = convert_pixel(in_row[w * sW], scale, shift);
    }
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(sslcore, CPU, m) { m.impl("images_to_float", &images_to_float_cpu); }

}  // namespace sslcore
