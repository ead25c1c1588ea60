// Row arithmetic of the tiled InfoNCE loss, written once for g++ and nvcc (DESIGN.md, "Math
// once"): a stable exp for shifted logits, the online log-sum-exp merge, and the gradient weight of
// one logit. The CPU and CUDA files only loop over tiles and call these.
//
// Notation: S = rows · colsᵀ / τ is never stored whole. Each row r keeps (max_r, sum_r) with
// sum_r = Σ_c exp(S_rc − max_r) over the columns seen so far; lse_r = max_r + log(sum_r).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../common/host_device.h"

namespace sslcore {
namespace info_nce {

// e^x for the shifted logits x = S − max ≤ 0 that the loss exponentiates. A Cephes-style range
// reduction (x = n·ln2 + f, |f| ≤ ln2/2) and a degree-6 polynomial, branch-free so that loops over
// a tile vectorise; relative error below 2 float ulps. x < −87.3 (where e^x leaves the normal
// floats) and x = −inf (a masked logit) give exactly 0; x = 0 gives 1; x is clamped at 88 (the
// rounding of lse can leave x a hair above 0, never near the clamp).
SSL_HOST_DEVICE float exp_shifted(float x) {
#if defined(__CUDA_ARCH__)
  return !(x >= -87.3f) ? 0.f : __expf(fminf(x, 88.f));  // NaN (−inf − −inf) and −inf give 0
#else
  const bool underflow = !(x >= -87.3f);  // also true for NaN/-inf: those logits are masked
  const float xc = x > 88.f ? 88.f : (underflow ? -87.3f : x);
  // n = round(x / ln2) by the 1.5·2^23 trick: exact for |x / ln2| < 2^22, and it vectorises on
  // every x86 (floor needs SSE4.1). Without -ffast-math the compiler keeps (y + c) − c as written.
  const float n = (xc * 1.44269504088896341f + 12582912.f) - 12582912.f;
  float f = xc - n * 0.693359375f;
  f = f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  p = p * f * f + f + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n in [-126, 127]
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return underflow ? 0.f : p * scale;  // a blend, after the arithmetic: no branch
#endif
}

SSL_HOST_DEVICE double exp_shifted(double x) { return !(x >= -745.0) ? 0.0 : exp(x); }

// The running (max, sum) of one row's exponentials: merging a block's (block_max, block_sum),
// where block_sum = Σ exp(S − block_max), rescales whichever sum had the smaller max. An empty
// block (block_max = −inf) leaves the state unchanged; an empty state (max = −inf) takes the block.
template <typename T>
SSL_HOST_DEVICE void lse_merge(T& max, T& sum, T block_max, T block_sum) {
  if (!(block_max > -INFINITY)) return;
  if (block_max > max) {
    sum = sum * exp_shifted(max - block_max) + block_sum;
    max = block_max;
  } else {
    sum += block_sum * exp_shifted(block_max - max);
  }
}

// One more logit x into a running (max, sum): the one-pass form a GPU thread uses over its columns.
template <typename T>
SSL_HOST_DEVICE void lse_push(T& max, T& sum, T x) {
  if (x > max) {
    sum = sum * exp_shifted(max - x) + T(1);
    max = x;
  } else {
    sum += exp_shifted(x - max);
  }
}

// A row's state in double on the CPU, where it is merged once per tile.
struct OnlineLse {
  double max = -INFINITY;
  double sum = 0.0;

  SSL_HOST_DEVICE void merge(double block_max, double block_sum) {
    lse_merge(max, sum, block_max, block_sum);
  }

  // log Σ exp(S_rc) over every column merged; −inf when none was.
  SSL_HOST_DEVICE double lse() const { return sum > 0.0 ? max + log(sum) : -INFINITY; }
};

// ∂L/∂S_rc of the softmax parts: the row r's softmax weighted by its upstream gradient, plus, when
// column c is itself a row of the loss (the mirrored half of NT-Xent, or the column direction of
// the CLIP form), column c's softmax entry weighted by its gradient. Rows whose lse is −inf have no
// logits and contribute nothing.
template <typename T>
SSL_HOST_DEVICE T softmax_grad(T logit, T row_lse, T row_weight, T col_lse, T col_weight) {
  return row_weight * exp_shifted(logit - row_lse) + col_weight * exp_shifted(logit - col_lse);
}

}  // namespace info_nce
}  // namespace sslcore
