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
// Why setup.py did or did not build the CUDA sources (setup.py's decide_cuda) and for which
// architectures; `sslcore info` turns the code into a sentence.
#ifndef SSLCORE_CUDA_BUILD
#define SSLCORE_CUDA_BUILD "unknown"
#endif
#ifndef SSLCORE_CUDA_ARCHS
#define SSLCORE_CUDA_ARCHS ""
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
  // InfoNCE in tiles of S = rows · colsᵀ / τ, never all of it (csrc/info_nce/). Per row: the
  // log-sum-exp over its logits (one excluded column left out), its positive's logit, and whether
  // the positive is the row's largest logit. sslcore.ops.info_nce builds the loss from these and
  // registers their autograd. Self form: rows = cols = z (M, D), the diagonal excluded, positives
  // in pairs (NT-Xent on one process); each tile also serves its mirror.
  m.def("info_nce_self(Tensor z, Tensor positive, float temperature) -> (Tensor, Tensor, Tensor)");
  m.def(
      "info_nce_self_backward(Tensor grad_lse, Tensor grad_pos, Tensor z, Tensor positive, "
      "Tensor lse, float temperature) -> Tensor");
  // Cross form: rows (m, D) against cols (n, D), exclude[r] = a column row r leaves out (-1:
  // none); col_stats adds the columns' own softmax over the rows (the CLIP form), else the column
  // outputs are empty.
  m.def(
      "info_nce_cross(Tensor rows, Tensor cols, Tensor positive, Tensor exclude, "
      "float temperature, bool col_stats) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
  m.def(
      "info_nce_cross_backward(Tensor grad_row_lse, Tensor grad_row_pos, Tensor grad_col_lse, "
      "Tensor grad_col_pos, Tensor rows, Tensor cols, Tensor positive, Tensor exclude, "
      "Tensor row_lse, Tensor col_lse, float temperature) -> (Tensor, Tensor)");
}

namespace py = pybind11;

namespace {

py::dict build_info() {
  py::dict info;
#ifdef SSLCORE_WITH_CUDA
  info["cuda"] = true;
  info["cuda_version"] = SSLCORE_CUDA_VERSION;
  info["cuda_archs"] = SSLCORE_CUDA_ARCHS;
#else
  info["cuda"] = false;
  info["cuda_version"] = py::none();
  info["cuda_archs"] = py::none();
#endif
  info["cuda_build"] = SSLCORE_CUDA_BUILD;
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
