// CUDA backend registrations: tensors in, raw launches of the csrc/**/*_cuda.cu kernels out, on
// torch's current stream. Compiled only when the extension is built with CUDA.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/library.h>

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

}  // namespace

TORCH_LIBRARY_IMPL(sslcore, CUDA, m) {
  m.impl("images_to_float", &images_to_float_cuda);
  m.impl("images_to_float_into", &images_to_float_into_cuda);
}

}  // namespace sslcore
