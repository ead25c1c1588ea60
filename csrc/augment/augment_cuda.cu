// CUDA kernels of sslcore::augment_views. They depend only on augment_math.h and the CUDA
// runtime, so `nvcc -c` compiles them without torch or a GPU; csrc/cuda_ops.cpp launches them on
// torch's current stream. Four launches: resample (crop + resize + flip) into `out`; colour (one
// block per view: jitter in the view's order, the contrast mean by block reduction, grayscale);
// horizontal blur into `tmp`; vertical blur + solarize + normalisation back into `out`.
#include <cuda_runtime.h>

#include <cstdint>

#include "augment_cuda.h"
#include "augment_math.h"

namespace sslcore {
namespace augment {
namespace {

constexpr int kThreads = 256;

__host__ __device__ inline int64_t clamp_index(int64_t i, int64_t lo, int64_t hi) {
  return i < lo ? lo : (i > hi ? hi : i);
}

// Crop box of view v clamped into the image: the Python API rejects bad boxes before launch;
// the clamp only keeps a direct caller's bad box from reading out of bounds.
struct Box {
  int64_t top, left, height, width;
};

__device__ Box view_box(const DeviceViews& p, int64_t v, const AugmentShape& s) {
  Box b;
  b.height = clamp_index(p.crop[4 * v + 2], 1, s.H);
  b.width = clamp_index(p.crop[4 * v + 3], 1, s.W);
  b.top = clamp_index(p.crop[4 * v + 0], 0, s.H - b.height);
  b.left = clamp_index(p.crop[4 * v + 1], 0, s.W - b.width);
  return b;
}

// The antialiased-bilinear taps of output i (see aa_taps), without a weight buffer: callers
// first get the span and the weights' total, then recompute each weight while accumulating.
struct Span {
  int64_t first;
  int count;
  float center, invscale, inv_total;  // inv_total = 0 when no tap has weight (as on the CPU)
};

__device__ __forceinline__ float aa_weight(const Span& sp, int j) {
  return aa_filter((static_cast<float>(sp.first + j) - sp.center + 0.5f) * sp.invscale);
}

__device__ Span aa_span(int64_t i, int64_t in_size, int64_t out_size) {
  const float scale = aa_scale(in_size, out_size);
  const float support = aa_support(scale);
  Span sp;
  sp.center = scale * (static_cast<float>(i) + 0.5f);
  sp.invscale = scale >= 1.f ? 1.f / scale : 1.f;
  int64_t lo = static_cast<int64_t>(sp.center - support + 0.5f);
  if (lo < 0) lo = 0;
  int64_t hi = static_cast<int64_t>(sp.center + support + 0.5f);
  if (hi > in_size) hi = in_size;
  int64_t n = hi - lo;
  const int64_t max_taps = aa_max_taps(scale);
  if (n > max_taps) n = max_taps;
  if (n < 0) n = 0;
  sp.first = lo;
  sp.count = static_cast<int>(n);
  float total = 0.f;
  for (int j = 0; j < sp.count; ++j) total += aa_weight(sp, j);
  sp.inv_total = total != 0.f ? 1.f / total : 0.f;
  return sp;
}

template <typename src_t>
__global__ void resample_kernel(const src_t* __restrict__ images, DeviceViews p, AugmentShape s,
                                float value_scale, float* __restrict__ out) {
  const int64_t n = s.V * s.C * s.oh * s.ow;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t x = i % s.ow, y = (i / s.ow) % s.oh, c = (i / (s.ow * s.oh)) % s.C,
                  v = i / (s.ow * s.oh * s.C);
    const Box b = view_box(p, v, s);
    const int64_t src = clamp_index(p.source[v], 0, s.N - 1);
    const int64_t xs = p.flip[v] ? s.ow - 1 - x : x;
    const Span sy = aa_span(y, b.height, s.oh), sx = aa_span(xs, b.width, s.ow);
    const src_t* plane = images + src * s.sN + c * s.sC + b.top * s.sH + b.left * s.sW;
    float acc = 0.f;
    for (int jy = 0; jy < sy.count; ++jy) {
      const src_t* row = plane + (sy.first + jy) * s.sH;
      float racc = 0.f;
      for (int jx = 0; jx < sx.count; ++jx) {
        racc += (aa_weight(sx, jx) * sx.inv_total * value_scale) *
                static_cast<float>(row[(sx.first + jx) * s.sW]);
      }
      acc += aa_weight(sy, jy) * sy.inv_total * racc;
    }
    out[i] = acc;
  }
}

// Sum of `value` over the block, in double (the contrast mean of up to millions of pixels).
__device__ double block_sum(double value, double* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  const double total = shared[0];
  __syncthreads();
  return total;
}

// One block per view: the colour ops read the whole view (contrast), so they are block-wide.
__global__ void colour_kernel(DeviceViews p, AugmentShape s, float* __restrict__ out) {
  __shared__ double shared[kThreads];
  const int64_t v = blockIdx.x;
  const int64_t P = s.oh * s.ow;
  float* r = out + v * s.C * P;
  float* g = r + P;
  float* b = g + P;
  if (p.jitter[v]) {
    for (int k = 0; k < 4; ++k) {
      const int64_t op = p.order[4 * v + k];
      const float f = p.factors[4 * v + (op & 3)];
      if (op == kBrightness) {
        for (int64_t i = threadIdx.x; i < s.C * P; i += blockDim.x) r[i] = clamp01(f * r[i]);
      } else if (op == kContrast) {
        double part = 0.0;
        for (int64_t i = threadIdx.x; i < P; i += blockDim.x) {
          part += s.C == 3 ? luma(r[i], g[i], b[i]) : r[i];
        }
        const float mean = static_cast<float>(block_sum(part, shared) / static_cast<double>(P));
        for (int64_t i = threadIdx.x; i < s.C * P; i += blockDim.x) r[i] = blend(r[i], mean, f);
      } else if (op == kSaturation && s.C == 3) {
        for (int64_t i = threadIdx.x; i < P; i += blockDim.x) {
          const float l = luma(r[i], g[i], b[i]);
          r[i] = blend(r[i], l, f), g[i] = blend(g[i], l, f), b[i] = blend(b[i], l, f);
        }
      } else if (op == kHue && s.C == 3 && f != 0.f) {
        for (int64_t i = threadIdx.x; i < P; i += blockDim.x) {
          float rr = r[i], gg = g[i], bb = b[i];
          adjust_hue_pixel(rr, gg, bb, f);
          r[i] = rr, g[i] = gg, b[i] = bb;
        }
      }
      __syncthreads();  // the next op (a contrast mean) reads every pixel
    }
  }
  if (p.gray[v] && s.C == 3) {
    for (int64_t i = threadIdx.x; i < P; i += blockDim.x) r[i] = g[i] = b[i] = luma(r[i], g[i], b[i]);
  }
}

// Normalised Gaussian taps of every blurred view: gauss[v * taps + k].
__global__ void gauss_kernel(DeviceViews p, AugmentShape s, float* __restrict__ gauss) {
  const int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (v >= s.V) return;
  const float sigma = p.sigma[v];
  if (!(sigma > 0.f)) return;
  float total = 0.f;
  for (int k = 0; k < s.taps; ++k) total += gaussian_tap(k, s.taps, sigma);
  for (int k = 0; k < s.taps; ++k) gauss[v * s.taps + k] = gaussian_tap(k, s.taps, sigma) / total;
}

__device__ __forceinline__ bool blurred(const DeviceViews& p, const AugmentShape& s, int64_t v) {
  return s.taps > 1 && p.sigma[v] > 0.f;
}

__global__ void blur_rows_kernel(DeviceViews p, AugmentShape s, const float* __restrict__ gauss,
                                 const float* __restrict__ in, float* __restrict__ tmp) {
  const int64_t n = s.V * s.C * s.oh * s.ow;
  const int64_t pad = s.taps / 2;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t v = i / (s.C * s.oh * s.ow);
    if (!blurred(p, s, v)) continue;
    const int64_t x = i % s.ow;
    const float* row = in + (i - x);
    const float* w = gauss + v * s.taps;
    float acc = 0.f;
    for (int k = 0; k < s.taps; ++k) acc += w[k] * row[reflect(x + k - pad, s.ow)];
    tmp[i] = acc;
  }
}

__global__ void blur_columns_finish_kernel(DeviceViews p, AugmentShape s,
                                           const float* __restrict__ gauss,
                                           const float* __restrict__ tmp, float* out) {
  const int64_t n = s.V * s.C * s.oh * s.ow;
  const int64_t pad = s.taps / 2;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t x = i % s.ow, y = (i / s.ow) % s.oh, c = (i / (s.ow * s.oh)) % s.C,
                  v = i / (s.ow * s.oh * s.C);
    float value;
    if (blurred(p, s, v)) {
      const float* plane = tmp + (i - y * s.ow - x);
      const float* w = gauss + v * s.taps;
      value = 0.f;
      for (int k = 0; k < s.taps; ++k) value += w[k] * plane[reflect(y + k - pad, s.oh) * s.ow + x];
    } else {
      value = out[i];
    }
    if (p.solarize[v]) value = solarize(value, s.threshold);
    out[i] = value * s.scale[c] + s.shift[c];
  }
}

int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return static_cast<int>(wanted < 65535 * 8 ? (wanted > 0 ? wanted : 1) : 65535 * 8);
}

}  // namespace

cudaError_t launch_augment_views(const void* images, bool images_uint8, const DeviceViews& p,
                                 const AugmentShape& s, float* out, float* tmp, float* gauss,
                                 cudaStream_t stream) {
  const int64_t n = s.V * s.C * s.oh * s.ow;
  if (n == 0) return cudaSuccess;
  const int blocks = blocks_for(n);
  if (images_uint8) {
    resample_kernel<uint8_t><<<blocks, kThreads, 0, stream>>>(
        static_cast<const uint8_t*>(images), p, s, 1.f / 255.f, out);
  } else {
    resample_kernel<float><<<blocks, kThreads, 0, stream>>>(static_cast<const float*>(images), p,
                                                            s, 1.f, out);
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  colour_kernel<<<static_cast<unsigned>(s.V), kThreads, 0, stream>>>(p, s, out);
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  if (s.taps > 1) {
    gauss_kernel<<<static_cast<unsigned>((s.V + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
        p, s, gauss);
    if ((err = cudaGetLastError()) != cudaSuccess) return err;
    blur_rows_kernel<<<blocks, kThreads, 0, stream>>>(p, s, gauss, out, tmp);
    if ((err = cudaGetLastError()) != cudaSuccess) return err;
  }
  blur_columns_finish_kernel<<<blocks, kThreads, 0, stream>>>(p, s, gauss, tmp, out);
  return cudaGetLastError();
}

}  // namespace augment
}  // namespace sslcore
