// CUDA backend registrations: tensors in, raw launches of the csrc/**/*_cuda.cu kernels out, on
// torch's current stream. Compiled only when the extension is built with CUDA.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/library.h>

#include "augment/augment_args.h"
#include "augment/augment_cuda.h"
#include "convert/convert_args.h"

namespace sslcore {

cudaError_t launch_images_to_float(const uint8_t* src, float* dst, int64_t N, int64_t C,
                                   int64_t H, int64_t W, const int64_t* strides,
                                   ChannelAffine affine, cudaStream_t stream);

namespace {

void images_to_float_launch(const at::Tensor& images, const ChannelAffine& affine,
                            at::Tensor& out) {
  const int64_t strides[4] = {images.stride(0), images.stride(1), images.stride(2),
                              images.stride(3)};
  const cudaError_t err = launch_images_to_float(
      images.const_data_ptr<uint8_t>(), out.mutable_data_ptr<float>(), images.size(0),
      images.size(1), images.size(2), images.size(3), strides, affine,
      c10::cuda::getCurrentCUDAStream());
  TORCH_CHECK(err == cudaSuccess, "images_to_float: CUDA launch failed: ",
              cudaGetErrorString(err));
}

at::Tensor images_to_float_cuda(const at::Tensor& images, c10::ArrayRef<double> mean,
                                c10::ArrayRef<double> std) {
  check_device(images, c10::DeviceType::CUDA, "images");
  const ChannelAffine affine = check_images_to_float_args(images, mean, std);
  const c10::cuda::CUDAGuard guard(images.device());
  at::Tensor out = at::empty(images.sizes(), images.options().dtype(at::kFloat));
  images_to_float_launch(images, affine, out);
  return out;
}

void images_to_float_into_cuda(const at::Tensor& images, c10::ArrayRef<double> mean,
                                 c10::ArrayRef<double> std, at::Tensor& out) {
  check_device(images, c10::DeviceType::CUDA, "images");
  const ChannelAffine affine = check_images_to_float_args(images, mean, std);
  check_images_to_float_out(images, out);
  const c10::cuda::CUDAGuard guard(images.device());
  images_to_float_launch(images, affine, out);
}

// Shapes, dtypes, devices and the integer arguments (size, blur_kernel_size, image sides, all
// overflow-free: augment_args.h) are checked here, with the same checks as the CPU backend; the
// params' values (source in range, boxes inside the image, finite factors) are checked by
// sslcore.ops before launch, since reading them here would synchronise the stream. The kernels
// clamp every index into the image (a non-empty one, checked), so a direct caller's bad values
// can give wrong views but never read out of bounds.
at::Tensor run_cuda(SSL_AUGMENT_PARAMS, at::Tensor* into) {
  check_device(images, c10::DeviceType::CUDA, "images");
  const c10::cuda::CUDAGuard guard(images.device());
  const at::Tensor src = source.contiguous(), box = crop.contiguous(), fl = flip.contiguous(),
                   ji = jitter.contiguous(), fa = factors.contiguous(), od = order.contiguous(),
                   gr = grayscale.contiguous(), bs = blur_sigma.contiguous(),
                   so = solarize.contiguous();
  const augment::AugmentArgs a{images, src,  box,  fl,   ji,  fa, od, gr, bs, so, size,
                               blur_kernel_size, solarize_threshold, mean, std};
  const int64_t V = augment::check_augment_args(a);
  const int64_t C = images.size(1);
  at::Tensor out;
  if (into != nullptr) {
    augment::check_augment_out(a, V, *into);
    out = *into;
  } else {
    out = at::empty({V, C, size[0], size[1]}, images.options().dtype(at::kFloat));
  }
  if (out.numel() == 0) return out;

  augment::DeviceViews p{src.const_data_ptr<int64_t>(), box.const_data_ptr<int64_t>(),
                         fl.const_data_ptr<bool>(),     ji.const_data_ptr<bool>(),
                         fa.const_data_ptr<float>(),    od.const_data_ptr<int64_t>(),
                         gr.const_data_ptr<bool>(),     bs.const_data_ptr<float>(),
                         so.const_data_ptr<bool>()};
  augment::AugmentShape s{};
  s.V = V, s.N = images.size(0), s.C = C, s.H = images.size(2), s.W = images.size(3);
  s.sN = images.stride(0), s.sC = images.stride(1), s.sH = images.stride(2);
  s.sW = images.stride(3), s.oh = size[0], s.ow = size[1];
  s.taps = static_cast<int>(blur_kernel_size);
  s.threshold = static_cast<float>(solarize_threshold);
  for (int64_t c = 0; c < 3; ++c) {
    const bool norm = !mean.empty() && c < C;
    s.scale[c] = norm ? static_cast<float>(1.0 / std[c]) : 1.f;
    s.shift[c] = norm ? static_cast<float>(-mean[c] / std[c]) : 0.f;
  }
  at::Tensor tmp = at::empty_like(out);
  // V * taps < 2 * V * h + V, bounded by the output's checked size: no overflow.
  at::Tensor gauss = at::empty({V * s.taps}, out.options());
  const cudaError_t err = augment::launch_augment_views(
      images.const_data_ptr(), images.scalar_type() == at::kByte, p, s,
      out.mutable_data_ptr<float>(), tmp.mutable_data_ptr<float>(),
      gauss.mutable_data_ptr<float>(), c10::cuda::getCurrentCUDAStream());
  TORCH_CHECK(err == cudaSuccess, "augment_views: CUDA launch failed: ", cudaGetErrorString(err));
  return out;
}

at::Tensor augment_views_cuda(SSL_AUGMENT_PARAMS) {
  return run_cuda(SSL_AUGMENT_ARGS, nullptr);
}

void augment_views_into_cuda(SSL_AUGMENT_PARAMS, at::Tensor& out) {
  run_cuda(SSL_AUGMENT_ARGS, &out);
}

}  // namespace

TORCH_LIBRARY_IMPL(sslcore, CUDA, m) {
  m.impl("augment_views", &augment_views_cuda);
  m.impl("augment_views_into", &augment_views_into_cuda);
  m.impl("images_to_float", &images_to_float_cuda);
  m.impl("images_to_float_into", &images_to_float_into_cuda);
}

}  // namespace sslcore
