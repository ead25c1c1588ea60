// The launch interface of info_nce_cuda.cu: plain pointers and sizes, no torch types, so the
// kernels compile with nvcc alone; csrc/info_nce/info_nce_cuda_ops.cpp (torch side) runs the tile
// loop, the tile multiplies (cuBLAS through ATen) and calls these between them.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace sslcore {
namespace info_nce {

// One tile S[0:tr, 0:tc] (row stride ld) of the logits, its rows at r0 and columns at c0.
template <typename T>
struct DeviceTile {
  T* s;
  int64_t tr, tc, ld, r0, c0;
  bool diagonal;  // the self form's block on the diagonal: the diagonal is masked
};

// Masks each row's excluded logit with −inf and records each positive's logit found in the tile
// (row_pos[r]; with `mirror` also row_pos[positive[r]]; with col_pos also col_pos[positive[r]]);
// with row_pos null it only masks.
template <typename T>
cudaError_t launch_mark_tile(const DeviceTile<T>& t, const int64_t* positive,
                             const int64_t* exclude, bool mirror, T* row_pos, T* col_pos,
                             cudaStream_t stream);

// Folds the tile's rows into the running (max, sum) of rows r0.. (row_max/row_sum at offset 0 =
// the tile's first row) and, when col_max is given, its columns into those at offset 0 = its
// first column. part: scratch of 2 · kColumnChunks · tc values.
template <typename T>
cudaError_t launch_fold_tile(const DeviceTile<T>& t, T* row_max, T* row_sum, T* col_max,
                             T* col_sum, T* part, cudaStream_t stream);

constexpr int kColumnChunks = 32;

// Turns the tile into ∂L/∂S of the softmax parts in place (info_nce_math.h: softmax_grad); col_w
// and col_l null when the columns have no softmax of their own.
template <typename T>
cudaError_t launch_grad_tile(const DeviceTile<T>& t, const T* row_w, const T* row_l,
                             const T* col_w, const T* col_l, cudaStream_t stream);

}  // namespace info_nce
}  // namespace sslcore
