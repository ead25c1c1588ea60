// SSL_HOST_DEVICE marks arithmetic that g++ and nvcc both compile, so the CPU and CUDA backends
// share one definition of every per-element formula (see DESIGN.md, "Math once").
#pragma once

#if defined(__CUDACC__)
#define SSL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define SSL_HOST_DEVICE inline
#endif

// SSL_CPU_CLONES compiles a hot CPU loop three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2,
// FMA) and the baseline, and picks one at load time (GCC function multi-versioning): fast where
// the CPU allows, no -march=native in what users install. The AVX-512 version makes the view
// pipeline's colour and blur passes 1.2–1.5× faster than AVX2 on an AVX-512 Xeon.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define SSL_CPU_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SSL_CPU_CLONES
#endif
