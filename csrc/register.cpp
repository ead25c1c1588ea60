// Every op schema of the extension on one screen, and the pybind11 module `sslcore._C`, which
// only reports how it was built (the ops are reached through torch.ops.sslcore.*).
#include <pybind11/pybind11.h>
#include <torch/library.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef SSLCORE_TORCH_VERSION
#define SSLCORE_TORCH_VERSION "unknown"
#endif
#ifndef SSLCORE_CUDA_VERSION
#define SSLCORE_CUDA_VERSION ""
#endif

TORCH_LIBRARY(sslcore, m) {
  // uint8 (N, C, H, W) -> float32 (N, C, H, W): (x / 255 - mean[c]) / std[c]. csrc/convert/.
  m.def("images_to_float(Tensor images, float[] mean, float[] std) -> Tensor");
  // The same into a caller's buffer: a reused batch buffer skips the page faults of fresh memory.
  // Mutates `out` and returns nothing, the form torch.compile can functionalise for custom ops.
  m.def("images_to_float_into(Tensor images, float[] mean, float[] std, Tensor(a!) out) -> ()");
  // Views of a batch, one row of ViewParams each: crop+resize, flip, colour jitter in each view's
  // order, grayscale, Gaussian blur, solarize, normalisation. uint8/float32 (N, C, H, W) ->
  // float32 (V, C, h, w). csrc/augment/.
  m.def(
      "augment_views(Tensor images, Tensor source, Tensor crop, Tensor flip, Tensor jitter, "
      "Tensor factors, Tensor order, Tensor grayscale, Tensor blur_sigma, Tensor solarize, "
      "int[2] size, int blur_kernel_size, float solarize_threshold, float[] mean, float[] std) "
      "-> Tensor");
  // The same into a caller's (V, C, h, w) float32 buffer, reused across batches.
  m.def(
      "augment_views_into(Tensor images, Tensor source, Tensor crop, Tensor flip, "
      "Tensor jitter, Tensor factors, Tensor order, Tensor grayscale, Tensor blur_sigma, "
      "Tensor solarize, int[2] size, int blur_kernel_size, float solarize_threshold, "
      "float[] mean, float[] std, Tensor(a!) out) -> ()");
}

namespace py = pybind11;

namespace {

py::dict build_info() {
  py::dict info;
#ifdef SSLCORE_WITH_CUDA
  info["cuda"] = true;
  info["cuda_version"] = SSLCORE_CUDA_VERSION;
#else
  info["cuda"] = false;
  info["cuda_version"] = py::none();
#endif
#ifdef _OPENMP
  info["openmp"] = true;
  info["openmp_version"] = static_cast<int>(_OPENMP);
  info["openmp_threads"] = omp_get_max_threads();
#else
  info["openmp"] = false;
  info["openmp_version"] = py::none();
  info["openmp_threads"] = 1;
#endif
  info["torch_version"] = SSLCORE_TORCH_VERSION;
#ifdef SSLCORE_DEBUG
  info["debug"] = true;
#else
  info["debug"] = false;
#endif
  info["compiler"] = __VERSION__;
  return info;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "sslcore's compiled kernels; ops live in torch.ops.sslcore, this module reports the build";
  m.def("build_info", &build_info,
        "How the extension was built: CUDA, OpenMP (and its max threads), torch version, debug.");
}
