// Argument checks of the InfoNCE ops, shared by the CPU and CUDA backends. Each failure names the
// argument; index values (positives, exclusions) are checked where reading them is free (CPU).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cmath>

#include "../common/checks.h"

namespace sslcore {
namespace info_nce {

inline void check_embeddings(const at::Tensor& z, const char* name) {
  check_dim(z, 2, name, "(N, D)");
  TORCH_CHECK_TYPE(z.scalar_type() == at::kFloat || z.scalar_type() == at::kDouble, name,
                   ": expected float32 or float64 (sslcore.ops.info_nce upcasts half and "
                   "bfloat16), got ",
                   z.scalar_type());
  TORCH_CHECK_VALUE(z.size(0) > 0, name, ": expected at least one row, got shape ", z.sizes());
  TORCH_CHECK_VALUE(z.size(1) > 0, name, ": expected at least one feature (D > 0), got shape ",
                    z.sizes());
}

inline void check_index(const at::Tensor& index, int64_t length, const at::Tensor& like,
                        const char* name) {
  check_dim(index, 1, name, "(rows,)");
  check_dtype(index, at::kLong, name);
  TORCH_CHECK_VALUE(index.size(0) == length, name, ": expected ", length, " entries, one per row, got ",
                    index.size(0));
  TORCH_CHECK_VALUE(index.device() == like.device(), name, ": expected a tensor on ", like.device(),
                    ", got one on ", index.device());
}

inline void check_temperature(double temperature) {
  TORCH_CHECK_VALUE(std::isfinite(temperature) && temperature > 0.0,
                    "temperature: expected a finite value > 0, got ", temperature);
}

inline void check_same(const at::Tensor& t, const at::Tensor& like, const char* name,
                       const char* like_name) {
  TORCH_CHECK_VALUE(t.device() == like.device(), name, ": expected a tensor on ", like.device(),
                    " like ", like_name, ", got one on ", t.device());
  TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), name, ": expected dtype ",
                   like.scalar_type(), " like ", like_name, ", got ", t.scalar_type());
}

// A per-row statistic (lse or its gradient): (length,) in the embeddings' dtype and device.
inline void check_row_vector(const at::Tensor& t, int64_t length, const at::Tensor& like,
                             const char* name) {
  check_dim(t, 1, name, "(rows,)");
  TORCH_CHECK_VALUE(t.size(0) == length, name, ": expected ", length, " entries, got ", t.size(0));
  check_same(t, like, name, "the embeddings");
}

// The self-similarity form (NT-Xent on one process): z (M, D), positive (M,).
inline void check_self_args(const at::Tensor& z, const at::Tensor& positive, double temperature) {
  check_embeddings(z, "z");
  check_index(positive, z.size(0), z, "positive");
  check_temperature(temperature);
}

// The rows-against-columns form (CLIP, and NT-Xent rows of one rank against all ranks' columns).
inline void check_cross_args(const at::Tensor& rows, const at::Tensor& cols,
                             const at::Tensor& positive, const at::Tensor& exclude,
                             double temperature, bool col_stats) {
  check_embeddings(rows, "rows");
  check_embeddings(cols, "cols");
  check_same(cols, rows, "cols", "rows");
  TORCH_CHECK_VALUE(cols.size(1) == rows.size(1), "cols: expected ", rows.size(1),
                    " features like rows, got shape ", cols.sizes());
  check_index(positive, rows.size(0), rows, "positive");
  check_index(exclude, rows.size(0), rows, "exclude");
  check_temperature(temperature);
  TORCH_CHECK_VALUE(!col_stats || rows.size(0) == cols.size(0),
                    "col_stats: the column direction needs as many rows as columns, got ",
                    rows.size(0), " rows and ", cols.size(0), " columns");
}

// The backward ops' per-row inputs: the self form's (M,) vectors.
inline void check_self_backward_args(const at::Tensor& grad_lse, const at::Tensor& grad_pos,
                                     const at::Tensor& z, const at::Tensor& positive,
                                     const at::Tensor& lse, double temperature) {
  check_self_args(z, positive, temperature);
  const int64_t m = z.size(0);
  check_row_vector(grad_lse, m, z, "grad_lse");
  check_row_vector(grad_pos, m, z, "grad_pos");
  check_row_vector(lse, m, z, "lse");
}

// The cross form's: (m,) per row and, when the columns have their own softmax (col_lse not
// empty), (n,) per column. Returns whether they do.
inline bool check_cross_backward_args(
    const at::Tensor& grad_row_lse, const at::Tensor& grad_row_pos, const at::Tensor& grad_col_lse,
    const at::Tensor& grad_col_pos, const at::Tensor& rows, const at::Tensor& cols,
    const at::Tensor& positive, const at::Tensor& exclude, const at::Tensor& row_lse,
    const at::Tensor& col_lse, double temperature) {
  const bool col_stats = col_lse.numel() > 0;
  check_cross_args(rows, cols, positive, exclude, temperature, col_stats);
  const int64_t m = rows.size(0), n = cols.size(0);
  check_row_vector(grad_row_lse, m, rows, "grad_row_lse");
  check_row_vector(grad_row_pos, m, rows, "grad_row_pos");
  check_row_vector(row_lse, m, rows, "row_lse");
  if (col_stats) {
    check_row_vector(grad_col_lse, n, rows, "grad_col_lse");
    check_row_vector(grad_col_pos, n, rows, "grad_col_pos");
    check_row_vector(col_lse, n, rows, "col_lse");
  }
  return col_stats;
}

}  // namespace info_nce
}  // namespace sslcore
