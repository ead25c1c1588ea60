// Argument checks for op implementations: each failure names the argument and what was expected,
// so a user reading the error knows which input to fix.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

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

}  // namespace sslcore
