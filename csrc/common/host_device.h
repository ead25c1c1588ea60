// SSL_HOST_DEVICE marks arithmetic that g++ and nvcc both compile, so the CPU and CUDA backends
// share one definition of every per-element formula (see DESIGN.md, "Math once").
#pragma once

#if defined(__CUDACC__)
#define SSL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define SSL_HOST_DEVICE inline
#endif
