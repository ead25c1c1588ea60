// CUDA kernels of the tiled InfoNCE: masking and positives, the online log-sum-exp folds of a
// tile's rows and columns, and the in-place gradient of a tile. The arithmetic is
// info_nce_math.h's; the tile multiplies are cuBLAS calls made by info_nce_cuda_ops.cpp.
#include <cuda_runtime.h>

#include "info_nce_cuda.h"
#include "info_nce_math.h"

namespace sslcore {
namespace info_nce {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void mark_tile_kernel(DeviceTile<T> t, const int64_t* positive, const int64_t* exclude,
                                 bool mirror, T* row_pos, T* col_pos) {
  const int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (r >= t.tr) return;
  T* row = t.s + r * t.ld;
  const int64_t ex = t.diagonal ? t.r0 + r : (exclude ? exclude[t.r0 + r] : -1);
  if (ex >= t.c0 && ex < t.c0 + t.tc) row[ex - t.c0] = -INFINITY;
  if (row_pos == nullptr) return;  // the backward only re-masks
  const int64_t c = positive[t.r0 + r];
  if (c < t.c0 || c >= t.c0 + t.tc) return;
  const T v = row[c - t.c0];
  row_pos[t.r0 + r] = v;
  if (mirror && !t.diagonal) row_pos[c] = v;  // (c, r) is its mirror, never visited
  if (col_pos) col_pos[c] = v;
}

// One block per tile row: each thread folds a strided share of the columns in one pass
// (lse_push), then the block merges the threads' (max, sum) pairs and thread 0 merges the result
// into the row's running state.
template <typename T>
__global__ void fold_rows_kernel(DeviceTile<T> t, T* row_max, T* row_sum) {
  __shared__ T smax[kThreads];
  __shared__ T ssum[kThreads];
  const int64_t r = blockIdx.x;
  const T* row = t.s + r * t.ld;
  T m = -INFINITY, s = 0;
  for (int64_t c = threadIdx.x; c < t.tc; c += blockDim.x) lse_push(m, s, row[c]);
  smax[threadIdx.x] = m;
  ssum[threadIdx.x] = s;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      lse_merge(smax[threadIdx.x], ssum[threadIdx.x], smax[threadIdx.x + stride],
                ssum[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) lse_merge(row_max[r], row_sum[r], smax[0], ssum[0]);
}

// Columns: grid (column blocks, kColumnChunks row chunks); each thread folds one column over its
// chunk of rows (reads coalesced across the block's columns) into `part`.
template <typename T>
__global__ void fold_cols_kernel(DeviceTile<T> t, T* part) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= t.tc) return;
  const int64_t chunk = (t.tr + kColumnChunks - 1) / kColumnChunks;
  const int64_t begin = blockIdx.y * chunk, end = min(t.tr, begin + chunk);
  T m = -INFINITY, s = 0;
  for (int64_t r = begin; r < end; ++r) lse_push(m, s, t.s[r * t.ld + c]);
  part[blockIdx.y * t.tc + c] = m;
  part[(kColumnChunks + blockIdx.y) * t.tc + c] = s;
}

template <typename T>
__global__ void merge_cols_kernel(const T* part, int64_t tc, T* col_max, T* col_sum) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= tc) return;
  T m = col_max[c], s = col_sum[c];
  for (int k = 0; k < kColumnChunks; ++k) {
    lse_merge(m, s, part[k * tc + c], part[(kColumnChunks + k) * tc + c]);
  }
  col_max[c] = m;
  col_sum[c] = s;
}

template <typename T>
__global__ void grad_tile_kernel(DeviceTile<T> t, const T* row_w, const T* row_l, const T* col_w,
                                 const T* col_l) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t r = blockIdx.y;
  if (c >= t.tc) return;
  T& x = t.s[r * t.ld + c];
  x = col_w ? softmax_grad(x, row_l[r], row_w[r], col_l[c], col_w[c])
            : row_w[r] * exp_shifted(x - row_l[r]);
}

int64_t blocks(int64_t n) { return (n + kThreads - 1) / kThreads; }

}  // namespace

template <typename T>
cudaError_t launch_mark_tile(const DeviceTile<T>& t, const int64_t* positive,
                             const int64_t* exclude, bool mirror, T* row_pos, T* col_pos,
                             cudaStream_t stream) {
  if (t.tr == 0) return cudaSuccess;
  mark_tile_kernel<T><<<blocks(t.tr), kThreads, 0, stream>>>(t, positive, exclude, mirror,
                                                              row_pos, col_pos);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_fold_tile(const DeviceTile<T>& t, T* row_max, T* row_sum, T* col_max,
                             T* col_sum, T* part, cudaStream_t stream) {
  if (t.tr == 0 || t.tc == 0) return cudaSuccess;
  fold_rows_kernel<T><<<t.tr, kThreads, 0, stream>>>(t, row_max, row_sum);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess || col_max == nullptr) return err;
  fold_cols_kernel<T><<<dim3(blocks(t.tc), kColumnChunks), kThreads, 0, stream>>>(t, part);
  err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  merge_cols_kernel<T><<<blocks(t.tc), kThreads, 0, stream>>>(part, t.tc, col_max, col_sum);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_grad_tile(const DeviceTile<T>& t, const T* row_w, const T* row_l,
                             const T* col_w, const T* col_l, cudaStream_t stream) {
  if (t.tr == 0 || t.tc == 0) return cudaSuccess;
  grad_tile_kernel<T><<<dim3(blocks(t.tc), t.tr), kThreads, 0, stream>>>(t, row_w, row_l, col_w,
                                                                        col_l);
  return cudaGetLastError();
}

#define SSL_INSTANTIATE(T)                                                                     \
  template cudaError_t launch_mark_tile<T>(const DeviceTile<T>&, const int64_t*, const int64_t*, \
                                           bool, T*, T*, cudaStream_t);                        \
  template cudaError_t launch_fold_tile<T>(const DeviceTile<T>&, T*, T*, T*, T*, T*,           \
                                           cudaStream_t);                                      \
  template cudaError_t launch_grad_tile<T>(const DeviceTile<T>&, const T*, const T*, const T*, \
                                           const T*, cudaStream_t);
SSL_INSTANTIATE(float)
SSL_INSTANTIATE(double)
#undef SSL_INSTANTIATE

}  // namespace info_nce
}  // namespace sslcore
