// Argument checks for op implementations: each failure names the argument and what was expected,
// so a user reading the error knows which input to fix.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/ArrayRef.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sslcore {

inline void check_dim(const at::Tensor& t, int64_t dim, const char* name, const char* shape) {
  TORCH_CHECK_VALUE(t.dim() == dim, name, ": expected a ", dim, "-D tensor of shape ", shape,
              ", got shape ", t.sizes());
}

inline void check_dtype(const at::Tensor& t, at::ScalarType dtype, const char* name) {
  TORCH_CHECK_TYPE(t.scalar_type() == dtype, name, ": expected dtype ", dtype, ", got ",
              t.scalar_type());
}

inline void check_device(const at::Tensor& t, c10::DeviceType type, const char* name) {
  TORCH_CHECK_VALUE(t.device().type() == type, name, ": expected a tensor on ", type, ", got one on ",
              t.device());
}

// Normalisation (x - mean) / std of values x in [0, 1] (uint8 / 255 or float views) reaches
// max(|mean|, |1 - mean|) / std in magnitude. Keeping that below half of float32's largest value
// leaves room for the rounding of the folded scale and shift, so no output is inf or NaN
// (std = 1e-45 passes "finite and positive" but would give inf). mean and std are finite and
// std positive (checked before).
inline void check_normalisation(c10::ArrayRef<double> mean, c10::ArrayRef<double> std) {
  constexpr double kLimit = 0.5 * static_cast<double>(std::numeric_limits<float>::max());
  for (size_t c = 0; c < std::min(mean.size(), std.size()); ++c) {
    const double reach = std::max(std::fabs(mean[c]), std::fabs(1.0 - mean[c]));
    TORCH_CHECK_VALUE(reach / std[c] <= kLimit, "std: ", std[c], " for channel ", c,
                      " would overflow float32 (|x - mean| / std reaches ", reach / std[c],
                      "); expected std >= ", reach / kLimit, " with mean ", mean[c]);
  }
}

}  // namespace sslcore
