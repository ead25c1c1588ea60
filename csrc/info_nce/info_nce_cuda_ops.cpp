// CUDA backend of the InfoNCE ops: the tile loop on torch's current stream. Each tile is one
// cuBLAS multiply (at::mm_out / addmm_) and the kernels of info_nce_cuda.cu between them; tiles
// run one after another on the stream, so the running states need no atomics. Extra memory is
// one side × side tile (64 MiB at side 4096) plus O(N·D), never N². Compiled only with CUDA.
//
// Index values (positives in pairs, in range) are checked by sslcore.ops, which builds them:
// reading them here would synchronise the stream. The kernels only compare indices with tile
// bounds, so a direct caller's bad values give wrong numbers but never read out of bounds.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>

#include "info_nce_args.h"
#include "info_nce_cuda.h"

namespace sslcore {
namespace info_nce {
namespace {

constexpr int64_t kCudaTile = 4096;

void check_launch(cudaError_t err, const char* op) {
  TORCH_CHECK(err == cudaSuccess, op, ": CUDA launch failed: ", cudaGetErrorString(err));
}

struct CudaProblem {
  at::Tensor rows, cols, scaled_rows;  // contiguous; cols is rows in the mirror (self) form
  at::Tensor positive, exclude;        // exclude undefined in the self form
  bool mirror, col_stats;
  int64_t m, n, side;
};

CudaProblem make_problem(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& positive,
                         const at::Tensor* exclude, bool mirror, bool col_stats,
                         double temperature) {
  CudaProblem p;
  p.rows = rows.contiguous();
  p.cols = mirror ? p.rows : cols.contiguous();
  p.scaled_rows = p.rows * (1.0 / temperature);
  p.positive = positive.contiguous();
  if (exclude) p.exclude = exclude->contiguous();
  p.mirror = mirror;
  p.col_stats = col_stats;
  p.m = p.rows.size(0);
  p.n = p.cols.size(0);
  p.side = std::min(kCudaTile, std::max(p.m, p.n));
  return p;
}

// Calls visit(tile, r0, tr, c0, tc, diagonal) for every tile, in order, on the current stream.
template <typename Visit>
void for_each_tile(const CudaProblem& p, Visit visit) {
  for (int64_t r0 = 0; r0 < p.m; r0 += p.side) {
    for (int64_t c0 = p.mirror ? r0 : 0; c0 < p.n; c0 += p.side) {
      visit(r0, std::min(p.side, p.m - r0), c0, std::min(p.side, p.n - c0),
            p.mirror && c0 == r0);
    }
  }
}

template <typename T>
DeviceTile<T> compute_tile(const CudaProblem& p, at::Tensor& tile, int64_t r0, int64_t tr,
                           int64_t c0, int64_t tc, bool diagonal) {
  at::Tensor out = tile.narrow(0, 0, tr).narrow(1, 0, tc);
  at::mm_out(out, p.scaled_rows.narrow(0, r0, tr), p.cols.narrow(0, c0, tc).t());
  return DeviceTile<T>{tile.mutable_data_ptr<T>(), tr, tc, p.side, r0, c0, diagonal};
}

using Stats = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

// lse, positive logit and top-1 of the rows (and columns, with col_stats).
std::tuple<Stats, Stats> forward(const CudaProblem& p) {
  const at::TensorOptions opts = p.rows.options();
  const int64_t cn = p.col_stats ? p.n : 0;
  at::Tensor row_max = at::full({p.m}, -INFINITY, opts), row_sum = at::zeros({p.m}, opts);
  at::Tensor col_max = at::full({cn}, -INFINITY, opts), col_sum = at::zeros({cn}, opts);
  at::Tensor row_pos = at::zeros({p.m}, opts), col_pos = at::zeros({cn}, opts);
  at::Tensor tile = at::empty({p.side, p.side}, opts);
  at::Tensor part = at::empty({2 * kColumnChunks * p.side}, opts);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(p.rows.scalar_type(), "info_nce_cuda", [&] {
    using T = scalar_t;
    T* rmax = row_max.mutable_data_ptr<T>();
    T* rsum = row_sum.mutable_data_ptr<T>();
    T* cmax = p.col_stats ? col_max.mutable_data_ptr<T>() : nullptr;
    T* csum = p.col_stats ? col_sum.mutable_data_ptr<T>() : nullptr;
    T* cpos = p.col_stats ? col_pos.mutable_data_ptr<T>() : nullptr;
    for_each_tile(p, [&](int64_t r0, int64_t tr, int64_t c0, int64_t tc, bool diagonal) {
      const DeviceTile<T> t = compute_tile<T>(p, tile, r0, tr, c0, tc, diagonal);
      check_launch(launch_mark_tile(t, p.positive.const_data_ptr<int64_t>(),
                                    p.exclude.defined() ? p.exclude.const_data_ptr<int64_t>()
                                                        : nullptr,
                                    p.mirror, row_pos.mutable_data_ptr<T>(), cpos, stream),
                   "info_nce");
      T *fold_max = nullptr, *fold_sum = nullptr;
      if (p.mirror && !diagonal) fold_max = rmax + c0, fold_sum = rsum + c0;
      if (p.col_stats) fold_max = cmax + c0, fold_sum = csum + c0;
      check_launch(launch_fold_tile(t, rmax + r0, rsum + r0, fold_max, fold_sum,
                                    part.mutable_data_ptr<T>(), stream),
                   "info_nce");
    });
  });
  auto finish = [](const at::Tensor& mx, const at::Tensor& sum, const at::Tensor& pos) -> Stats {
    return {mx + sum.log(), pos, pos >= mx};
  };
  return {finish(row_max, row_sum, row_pos), finish(col_max, col_sum, col_pos)};
}

// Rows with lse = −inf (no logits) get weight 0 and a harmless lse.
std::tuple<at::Tensor, at::Tensor> safe_weights(const at::Tensor& weight, const at::Tensor& lse) {
  const at::Tensor any = at::isfinite(lse);
  return {at::where(any, weight, at::zeros_like(weight)).contiguous(),
          at::where(any, lse, at::zeros_like(lse)).contiguous()};
}

// d_rows += G · cols, d_cols += Gᵀ · rows (G = ∂L/∂S of the softmax parts, unscaled by 1/τ).
void backward(const CudaProblem& p, const at::Tensor& row_w, const at::Tensor& row_l,
              const at::Tensor& col_w, const at::Tensor& col_l, at::Tensor& d_rows,
              at::Tensor& d_cols) {
  at::Tensor tile = at::empty({p.side, p.side}, p.rows.options());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(p.rows.scalar_type(), "info_nce_backward_cuda", [&] {
    using T = scalar_t;
    const T* rw = row_w.const_data_ptr<T>();
    const T* rl = row_l.const_data_ptr<T>();
    const T* cw = col_w.defined() ? col_w.const_data_ptr<T>() : nullptr;
    const T* cl = col_l.defined() ? col_l.const_data_ptr<T>() : nullptr;
    for_each_tile(p, [&](int64_t r0, int64_t tr, int64_t c0, int64_t tc, bool diagonal) {
      const DeviceTile<T> t = compute_tile<T>(p, tile, r0, tr, c0, tc, diagonal);
      // Re-mask (exclusions, diagonal) exactly as the forward did.
      check_launch(launch_mark_tile(t, p.positive.const_data_ptr<int64_t>(),
                                    p.exclude.defined() ? p.exclude.const_data_ptr<int64_t>()
                                                        : nullptr,
                                    false, static_cast<T*>(nullptr), static_cast<T*>(nullptr),
                                    stream),
                   "info_nce_backward");
      const bool cols_softmax = p.mirror || p.col_stats;
      check_launch(launch_grad_tile(t, rw + r0, rl + r0, cols_softmax ? cw + c0 : nullptr,
                                    cols_softmax ? cl + c0 : nullptr, stream),
                   "info_nce_backward");
      const at::Tensor g = tile.narrow(0, 0, tr).narrow(1, 0, tc);
      d_rows.narrow(0, r0, tr).addmm_(g, p.cols.narrow(0, c0, tc));
      if (!diagonal) d_cols.narrow(0, c0, tc).addmm_(g.t(), p.rows.narrow(0, r0, tr));
    });
  });
}

Stats info_nce_self_cuda(const at::Tensor& z, const at::Tensor& positive, double temperature) {
  check_self_args(z, positive, temperature);
  check_device(z, c10::DeviceType::CUDA, "z");
  const c10::cuda::CUDAGuard guard(z.device());
  const CudaProblem p = make_problem(z, z, positive, nullptr, true, false, temperature);
  return std::get<0>(forward(p));
}

at::Tensor info_nce_self_backward_cuda(const at::Tensor& grad_lse, const at::Tensor& grad_pos,
                                       const at::Tensor& z, const at::Tensor& positive,
                                       const at::Tensor& lse, double temperature) {
  check_self_backward_args(grad_lse, grad_pos, z, positive, lse, temperature);
  check_device(z, c10::DeviceType::CUDA, "z");
  const c10::cuda::CUDAGuard guard(z.device());
  const CudaProblem p = make_problem(z, z, positive, nullptr, true, false, temperature);
  at::Tensor w, l;
  std::tie(w, l) = safe_weights(grad_lse, lse);
  at::Tensor dz = at::zeros_like(p.rows);
  backward(p, w, l, w, l, dz, dz);
  // The positives' logits S_{r,p(r)} = z_r · z_p / τ: their gradient reaches both rows.
  const at::Tensor gp = grad_pos.contiguous().unsqueeze(1);
  dz.index_add_(0, p.positive, p.rows * gp);
  dz.add_(p.rows.index_select(0, p.positive) * gp);
  return dz.mul_(1.0 / temperature);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
info_nce_cross_cuda(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& positive,
                    const at::Tensor& exclude, double temperature, bool col_stats) {
  check_cross_args(rows, cols, positive, exclude, temperature, col_stats);
  check_device(rows, c10::DeviceType::CUDA, "rows");
  const c10::cuda::CUDAGuard guard(rows.device());
  const CudaProblem p = make_problem(rows, cols, positive, &exclude, false, col_stats, temperature);
  const auto [r, c] = forward(p);
  return {std::get<0>(r), std::get<1>(r), std::get<2>(r),
          std::get<0>(c), std::get<1>(c), std::get<2>(c)};
}

std::tuple<at::Tensor, at::Tensor> info_nce_cross_backward_cuda(
    const at::Tensor& grad_row_lse, const at::Tensor& grad_row_pos, const at::Tensor& grad_col_lse,
    const at::Tensor& grad_col_pos, const at::Tensor& rows, const at::Tensor& cols,
    const at::Tensor& positive, const at::Tensor& exclude, const at::Tensor& row_lse,
    const at::Tensor& col_lse, double temperature) {
  const bool col_stats =
      check_cross_backward_args(grad_row_lse, grad_row_pos, grad_col_lse, grad_col_pos, rows, cols,
                                positive, exclude, row_lse, col_lse, temperature);
  check_device(rows, c10::DeviceType::CUDA, "rows");
  const c10::cuda::CUDAGuard guard(rows.device());
  const CudaProblem p = make_problem(rows, cols, positive, &exclude, false, col_stats, temperature);
  at::Tensor rw, rl, cw, cl;
  std::tie(rw, rl) = safe_weights(grad_row_lse, row_lse);
  if (col_stats) std::tie(cw, cl) = safe_weights(grad_col_lse, col_lse);
  at::Tensor d_rows = at::zeros_like(p.rows), d_cols = at::zeros_like(p.cols);
  backward(p, rw, rl, cw, cl, d_rows, d_cols);
  // Positive logits S_{r,pos(r)}: from the rows' side, and (CLIP) from the columns' side.
  at::Tensor gp = grad_row_pos.contiguous().unsqueeze(1);
  if (col_stats) gp = gp + grad_col_pos.index_select(0, p.positive).unsqueeze(1);
  d_rows.add_(p.cols.index_select(0, p.positive) * gp);
  d_cols.index_add_(0, p.positive, p.rows * gp);
  return {d_rows.mul_(1.0 / temperature), d_cols.mul_(1.0 / temperature)};
}

}  // namespace

TORCH_LIBRARY_IMPL(sslcore, CUDA, m) {
  m.impl("info_nce_self", &info_nce_self_cuda);
  m.impl("info_nce_self_backward", &info_nce_self_backward_cuda);
  m.impl("info_nce_cross", &info_nce_cross_cuda);
  m.impl("info_nce_cross_backward", &info_nce_cross_backward_cuda);
}

}  // namespace info_nce
}  // namespace sslcore
