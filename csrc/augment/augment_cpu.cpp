// CPU backend of sslcore::augment_views: OpenMP over views; each view is built in a per-thread
// scratch that stays in cache (resample → colour → blur), so memory sees the source bytes read
// once and the float views written once. The arithmetic is augment_math.h's.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "../common/first_error.h"
#include "../common/safe_size.h"
#include "augment_args.h"
#include "augment_math.h"

namespace sslcore {
namespace augment {
namespace {

// Per-thread working memory, grown on demand and reused across views.
struct Scratch {
  std::vector<float> buf;   // (C, oh, ow): the view being built
  std::vector<float> tmp;   // (C, rows, ow): horizontal pass of resample / blur
  std::vector<float> line;  // source rows as float; one padded row for the blur
  std::vector<float> wx, wy, gauss;  // taps, structure of arrays: w[j * n + i]
  std::vector<int64_t> x0, y0;
  std::vector<int> xn, yn;
  std::vector<const float*> blur_rows;  // the reflected rows one vertical blur tap reads
};

// Checks one view's values, naming the view and the field, and unpacks them.
ViewRow read_row(const AugmentArgs& a, int64_t v, int64_t N, int64_t H, int64_t W) {
  ViewRow row{};
  row.source = a.source.const_data_ptr<int64_t>()[v];
  TORCH_CHECK_VALUE(row.source >= 0 && row.source < N, "source: view ", v, " refers to image ",
                    row.source, " but the batch has ", N, " images");
  const int64_t* crop = a.crop.const_data_ptr<int64_t>() + 4 * v;
  row.top = crop[0], row.left = crop[1], row.height = crop[2], row.width = crop[3];
  // Each box side inside its image side, compared without top + height (which overflows).
  TORCH_CHECK_VALUE(span_inside(row.top, row.height, H) && span_inside(row.left, row.width, W),
                    "crop: view ", v, " has box (top ", row.top, ", left ", row.left, ", height ",
                    row.height, ", width ", row.width, ") outside the ", H, "x", W, " image");
  row.flip = a.flip.const_data_ptr<bool>()[v];
  row.jitter = a.jitter.const_data_ptr<bool>()[v];
  row.gray = a.grayscale.const_data_ptr<bool>()[v];
  row.solarize = a.solarize.const_data_ptr<bool>()[v];
  const float* f = a.factors.const_data_ptr<float>() + 4 * v;
  for (int k = 0; k < 4; ++k) {
    row.factor[k] = f[k];
    TORCH_CHECK_VALUE(std::isfinite(f[k]), "factors: view ", v, " has a non-finite value ", f[k]);
  }
  TORCH_CHECK_VALUE(f[0] >= 0 && f[1] >= 0 && f[2] >= 0 && f[3] >= -0.5f && f[3] <= 0.5f,
                    "factors: view ", v, " expected brightness, contrast, saturation >= 0 and ",
                    "hue in [-0.5, 0.5], got (", f[0], ", ", f[1], ", ", f[2], ", ", f[3], ")");
  const int64_t* o = a.order.const_data_ptr<int64_t>() + 4 * v;
  int seen = 0;
  for (int k = 0; k < 4; ++k) {
    TORCH_CHECK_VALUE(o[k] >= 0 && o[k] < 4 && !(seen & (1 << o[k])), "order: view ", v,
                      " is not a permutation of 0..3");
    seen |= 1 << o[k];
    row.order[k] = static_cast<int>(o[k]);
  }
  row.sigma = a.blur_sigma.const_data_ptr<float>()[v];
  TORCH_CHECK_VALUE(std::isfinite(row.sigma) && row.sigma >= 0, "blur_sigma: view ", v,
                    " expected a finite value >= 0, got ", row.sigma);
  return row;
}

// The most working memory one view may use (per thread): about a full crop of a 170-megapixel
// RGB image (12 bytes a pixel as float rows), far beyond any training image. Beyond it (a hostile
// crop of an expanded 100000 x 100000 image) the op refuses with one line before allocating,
// instead of letting the allocation fail inside the parallel region.
constexpr int64_t kMaxViewScratchBytes = int64_t{2} << 30;

// Element counts of one view's scratch buffers, computed overflow-free (saturating) from its box,
// the output size and the blur taps, and the bytes they make: the cap is checked against these
// and the buffers are reserved to them before the view is built. Each count bounds what
// resample() and blur_and_store() resize the buffer to.
struct ScratchSize {
  int64_t line, tmp, buf, wx, wy, taps, ow, oh, bytes;
};

ScratchSize scratch_size(const ViewRow& row, int64_t C, int64_t oh, int64_t ow, int64_t taps) {
  ScratchSize z{};
  const int64_t cw = row.width, ch = row.height;
  // Source rows read (at most the box's height) of every channel; the blur's padded line.
  z.line = std::max(sat_mul(ch, C, cw), sat_add(oh, taps));
  // Vertical pass (oh, C * cw) plus its transpose (cw, oh); the horizontal blur (C, oh, ow).
  z.tmp = std::max(sat_mul(oh, sat_add(sat_mul(C, cw), cw)), sat_mul(C, oh, ow));
  z.buf = sat_mul(C, oh, ow);
  z.wx = sat_mul(aa_max_taps(aa_scale(cw, ow)), ow);
  z.wy = sat_mul(aa_max_taps(aa_scale(ch, oh)), oh);
  z.taps = taps, z.ow = ow, z.oh = oh;
  const int64_t floats = sat_add(z.line, z.tmp, z.buf, z.wx, z.wy, taps);
  // x0, y0 (int64) and xn, yn (int) per output column / row; blur_rows (pointers) per tap.
  const int64_t index_bytes = sat_add(sat_mul(sat_add(ow, oh), 12), sat_mul(taps, 8));
  z.bytes = sat_add(sat_mul(floats, 4), index_bytes);
  return z;
}

// Refuses a view whose scratch would exceed the cap, naming the view, its box and the size.
void check_scratch(const ViewRow& row, int64_t v, const ScratchSize& z, int64_t oh, int64_t ow) {
  TORCH_CHECK_VALUE(z.bytes <= kMaxViewScratchBytes, "crop, size: view ", v, " resamples a ",
                    row.height, "x", row.width, " box to ", oh, "x", ow, ", which needs ",
                    z.bytes == kSizeOverflow ? std::string("more than 2^63") :
                                               std::to_string(z.bytes),
                    " bytes of working memory, over the cap of ", kMaxViewScratchBytes,
                    "; crop smaller boxes or downscale the images first");
}

// Grows the thread's buffers to a view's needs up front, so that building it allocates nothing.
// An allocation that fails here (the machine is short of memory) becomes a one-line error.
void reserve(Scratch& s, const ScratchSize& z, int64_t v) {
  try {
    s.line.reserve(z.line), s.tmp.reserve(z.tmp), s.buf.reserve(z.buf);
    s.wx.reserve(z.wx), s.wy.reserve(z.wy), s.gauss.reserve(z.taps);
    s.blur_rows.reserve(z.taps);
    s.x0.reserve(z.ow), s.xn.reserve(z.ow), s.y0.reserve(z.oh), s.yn.reserve(z.oh);
  } catch (const std::bad_alloc&) {
    TORCH_CHECK(false, "augment_views: out of memory for the ", z.bytes,
                " bytes of working memory of view ", v);
  }
}

// Weighted sums of rows, out[x] = sum_k w[k] * rows[k][x], the core of every vertical pass and
// of the horizontal blur (rows[k] = row + k). Blocks of 16 outputs stay in registers across all
// taps: one load and one FMA per tap and block, instead of reloading and storing out each tap.
constexpr int64_t kBlock = 16;

template <typename RowAt>
inline void weighted_rows(RowAt row_at, const float* __restrict__ w, int taps, int64_t n,
                          float* __restrict__ out) {
  int64_t x = 0;
  for (; x + kBlock <= n; x += kBlock) {
    float acc[kBlock];
    for (int l = 0; l < kBlock; ++l) acc[l] = 0.f;
    for (int k = 0; k < taps; ++k) {
      const float* __restrict__ src = row_at(k) + x;
      const float wk = w[k];
      for (int l = 0; l < kBlock; ++l) acc[l] += wk * src[l];
    }
    for (int l = 0; l < kBlock; ++l) out[x + l] = acc[l];
  }
  for (; x < n; ++x) {
    float acc = 0.f;
    for (int k = 0; k < taps; ++k) acc += w[k] * row_at(k)[x];
    out[x] = acc;
  }
}

// out[x] = sum_j w[j] * rows[j * stride + x]: a vertical pass over consecutive rows.
// (Resample passes have 1-3 taps: one fused pass for 2 or 3, the taps-outer loop beyond.)
SSL_CPU_CLONES void sum_rows(const float* __restrict__ rows, int64_t stride,
                             const float* __restrict__ w, int taps, int64_t n,
                             float* __restrict__ out) {
  const float* __restrict__ r1 = rows + stride;
  const float* __restrict__ r2 = rows + 2 * stride;
  if (taps == 2) {
    const float w0 = w[0], w1 = w[1];
    for (int64_t x = 0; x < n; ++x) out[x] = w0 * rows[x] + w1 * r1[x];
    return;
  }
  if (taps == 3) {
    const float w0 = w[0], w1 = w[1], w2 = w[2];
    for (int64_t x = 0; x < n; ++x) out[x] = w0 * rows[x] + w1 * r1[x] + w2 * r2[x];
    return;
  }
  const float w0 = w[0];
  for (int64_t x = 0; x < n; ++x) out[x] = w0 * rows[x];
  for (int k = 1; k < taps; ++k) {
    const float* __restrict__ in = rows + k * stride;
    const float wk = w[k];
    for (int64_t x = 0; x < n; ++x) out[x] += wk * in[x];
  }
}

// Source row → float (uint8 scaled to [0, 1]).
SSL_CPU_CLONES void load_row(const uint8_t* __restrict__ src, int64_t stride, int64_t n,
                             float scale, float* __restrict__ out) {
  if (stride == 1) {
    for (int64_t x = 0; x < n; ++x) out[x] = static_cast<float>(src[x]) * scale;
  } else {
    for (int64_t x = 0; x < n; ++x) out[x] = static_cast<float>(src[x * stride]) * scale;
  }
}

SSL_CPU_CLONES void load_row(const float* __restrict__ src, int64_t stride, int64_t n,
                             float scale, float* __restrict__ out) {
  if (stride == 1) {
    for (int64_t x = 0; x < n; ++x) out[x] = src[x] * scale;
  } else {
    for (int64_t x = 0; x < n; ++x) out[x] = src[x * stride] * scale;
  }
}

// 8 × 8 tile transposes: out[c * out_stride + r] = in[r * in_stride + c]. With AVX2 it is the
// classic 24-shuffle register transpose; otherwise plain loops.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SSL_HAVE_AVX2_TILE 1
__attribute__((target("avx2"))) void tile8_avx2(const float* in, int64_t in_stride, float* out,
                                                int64_t out_stride) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(in + i * in_stride);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(out + i * out_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(out + (i + 4) * out_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
const bool kHasAvx2 = __builtin_cpu_supports("avx2");
#else
const bool kHasAvx2 = false;
#endif

inline void tile_generic(const float* in, int64_t in_stride, int64_t rows, int64_t cols,
                         float* out, int64_t out_stride) {
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) out[c * out_stride + r] = in[r * in_stride + c];
  }
}

// out (cols × rows) = transpose of in (rows × cols, rows `in_stride` apart), tile by tile.
void transpose(const float* in, int64_t rows, int64_t cols, int64_t in_stride, float* out) {
  constexpr int64_t T = 8;
  for (int64_t r0 = 0; r0 < rows; r0 += T) {
    for (int64_t c0 = 0; c0 < cols; c0 += T) {
      const float* src = in + r0 * in_stride + c0;
      float* dst = out + c0 * rows + r0;
#ifdef SSL_HAVE_AVX2_TILE
      if (kHasAvx2 && r0 + T <= rows && c0 + T <= cols) {
        tile8_avx2(src, in_stride, dst, rows);
        continue;
      }
#endif
      tile_generic(src, in_stride, std::min(T, rows - r0), std::min(T, cols - c0), dst, rows);
    }
  }
}

// The view is built transposed, (ow, oh) per channel: both resample passes then become sums of
// whole rows (vectorised, no gathers), and colour and blur do not care about the layout. The
// final store transposes back (transpose_finish).
//
// Crop + resize (+ flip) of one view into s.buf (C, ow, oh): vertical taps over the source rows
// (C, oh, cw) into s.tmp, transposed to (cw, oh), then horizontal taps over those rows.
template <typename src_t>
void resample(const src_t* img, int64_t sC, int64_t sH, int64_t sW, int64_t C, const ViewRow& row,
              int64_t oh, int64_t ow, float value_scale, Scratch& s) {
  const int64_t cw = row.width;
  const float scx = aa_scale(cw, ow), scy = aa_scale(row.height, oh);
  const int64_t mx = aa_max_taps(scx), my = aa_max_taps(scy);
  s.wx.resize(static_cast<size_t>(mx) * ow), s.x0.resize(ow), s.xn.resize(ow);
  for (int64_t x = 0; x < ow; ++x) {  // taps of output column x, already flipped
    s.x0[x] = aa_taps(row.flip ? ow - 1 - x : x, cw, scx, &s.wx[x * mx], s.xn[x]);
  }
  s.wy.resize(static_cast<size_t>(my) * oh), s.y0.resize(oh), s.yn.resize(oh);
  for (int64_t y = 0; y < oh; ++y) s.y0[y] = aa_taps(y, row.height, scy, &s.wy[y * my], s.yn[y]);
  const int64_t r0 = s.y0[0], r1 = s.y0[oh - 1] + s.yn[oh - 1];  // crop rows any output reads
  const int64_t rows = r1 - r0;
  const int64_t wide = C * cw;  // a source row of every channel, side by side: [c][xs]
  s.line.resize(std::max<size_t>(s.line.size(), rows * wide));
  s.tmp.resize(std::max<size_t>(s.tmp.size(), oh * wide + oh * cw));  // vertical pass + transpose
  s.buf.resize(std::max<size_t>(s.buf.size(), C * oh * ow));
  float* src_rows = s.line.data();
  float* vert = s.tmp.data();
  float* vert_t = vert + oh * wide;

  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < C; ++c) {
      load_row(img + c * sC + (row.top + r0 + r) * sH + row.left * sW, sW, cw, value_scale,
               src_rows + r * wide + c * cw);
    }
  }
  for (int64_t y = 0; y < oh; ++y) {  // vertical taps, all channels in one pass per row
    sum_rows(src_rows + (s.y0[y] - r0) * wide, wide, &s.wy[y * my], s.yn[y], wide, vert + y * wide);
  }
  for (int64_t c = 0; c < C; ++c) {
    transpose(vert + c * cw, oh, cw, wide, vert_t);  // channel c: (cw, oh)
    float* out = &s.buf[c * ow * oh];
    for (int64_t x = 0; x < ow; ++x) {
      sum_rows(vert_t + s.x0[x] * oh, oh, &s.wx[x * mx], s.xn[x], oh, out + x * oh);
    }
  }
}

SSL_CPU_CLONES void brightness(float* __restrict__ x, int64_t n, float f) {
  for (int64_t i = 0; i < n; ++i) x[i] = clamp01(f * x[i]);
}

// Means accumulate in double across 8 lanes: exact enough for millions of pixels, and the lanes
// (independent sums) let the loop vectorise, which one ordered sum would forbid.
SSL_CPU_CLONES float mean_luma(const float* __restrict__ r, const float* __restrict__ g,
                               const float* __restrict__ b, int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lane[l] += luma(r[i + l], g[i + l], b[i + l]);
  }
  double sum = 0.0;
  for (; i < n; ++i) sum += luma(r[i], g[i], b[i]);
  for (int l = 0; l < 8; ++l) sum += lane[l];
  return static_cast<float>(sum / static_cast<double>(n));
}

SSL_CPU_CLONES float mean_plane(const float* __restrict__ x, int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lane[l] += x[i + l];
  }
  double sum = 0.0;
  for (; i < n; ++i) sum += x[i];
  for (int l = 0; l < 8; ++l) sum += lane[l];
  return static_cast<float>(sum / static_cast<double>(n));
}

SSL_CPU_CLONES void blend_const(float* __restrict__ x, int64_t n, float other, float f) {
  for (int64_t i = 0; i < n; ++i) x[i] = blend(x[i], other, f);
}

SSL_CPU_CLONES void saturation(float* __restrict__ r, float* __restrict__ g,
                               float* __restrict__ b, int64_t n, float f) {
  for (int64_t i = 0; i < n; ++i) {
    const float l = luma(r[i], g[i], b[i]);
    r[i] = blend(r[i], l, f), g[i] = blend(g[i], l, f), b[i] = blend(b[i], l, f);
  }
}

SSL_CPU_CLONES void hue(float* __restrict__ r, float* __restrict__ g, float* __restrict__ b,
                        int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) {
    float rr = r[i], gg = g[i], bb = b[i];
    adjust_hue_pixel(rr, gg, bb, shift);
    r[i] = rr, g[i] = gg, b[i] = bb;
  }
}

SSL_CPU_CLONES void grayscale(float* __restrict__ r, float* __restrict__ g, float* __restrict__ b,
                              int64_t n) {
  for (int64_t i = 0; i < n; ++i) r[i] = g[i] = b[i] = luma(r[i], g[i], b[i]);
}

// Colour jitter in the view's order, then grayscale, in place on s.buf (planes of P pixels).
void colour(const ViewRow& row, int64_t C, int64_t P, Scratch& s) {
  float* r = s.buf.data();
  float* g = r + P;
  float* b = g + P;
  if (row.jitter) {
    for (int k = 0; k < 4; ++k) {
      const int op = row.order[k];
      const float f = row.factor[op];
      if (op == kBrightness) {
        brightness(r, C * P, f);
      } else if (op == kContrast) {
        blend_const(r, C * P, C == 3 ? mean_luma(r, g, b, P) : mean_plane(r, P), f);
      } else if (op == kSaturation && C == 3) {
        saturation(r, g, b, P, f);
      } else if (op == kHue && C == 3 && f != 0.f) {
        hue(r, g, b, P, f);
      }
    }
  }
  if (row.gray && C == 3) grayscale(r, g, b, P);
}

SSL_CPU_CLONES void finish(float* __restrict__ x, int64_t n, bool solar, float threshold,
                           float scale, float shift) {
  if (solar) {
    for (int64_t i = 0; i < n; ++i) x[i] = solarize(x[i], threshold) * scale + shift;
  } else {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] * scale + shift;
  }
}

// Stores one channel of the view: out (oh, ow) = transpose of in (ow, oh), solarized and
// normalised on the way (in place on `in`, then transposed into `out`).
void transpose_finish(float* in, int64_t oh, int64_t ow, bool solar, float threshold, float scale,
                      float shift, float* out) {
  finish(in, oh * ow, solar, threshold, scale, shift);
  transpose(in, ow, oh, oh, out);
}

// out[x] = sum_k w[k] * in[x + k] over a row padded by reflection: the horizontal blur.
// (Taps outer, outputs inner: with shifted reads of one row this vectorises better than blocks.)
SSL_CPU_CLONES void blur_row(const float* __restrict__ in, const float* __restrict__ w, int taps,
                             int64_t n, float* __restrict__ out) {
  if (taps == 3) {  // SimCLR's kernel at 32 px: one fused pass
    const float w0 = w[0], w1 = w[1], w2 = w[2];
    for (int64_t x = 0; x < n; ++x) out[x] = w0 * in[x] + w1 * in[x + 1] + w2 * in[x + 2];
    return;
  }
  for (int64_t x = 0; x < n; ++x) out[x] = w[0] * in[x];
  for (int k = 1; k < taps; ++k) {
    const float wk = w[k];
    const float* src = in + k;
    for (int64_t x = 0; x < n; ++x) out[x] += wk * src[x];
  }
}

// out[x] = sum_k w[k] * rows[k][x]: the vertical blur of one output row.
SSL_CPU_CLONES void blur_column(const float* const* rows, const float* __restrict__ w, int taps,
                                int64_t n, float* __restrict__ out) {
  if (taps == 3) {  // SimCLR's kernel at 32 px: one fused pass
    const float *__restrict__ r0 = rows[0], *__restrict__ r1 = rows[1], *__restrict__ r2 = rows[2];
    const float w0 = w[0], w1 = w[1], w2 = w[2];
    for (int64_t x = 0; x < n; ++x) out[x] = w0 * r0[x] + w1 * r1[x] + w2 * r2[x];
    return;
  }
  weighted_rows([=](int k) { return rows[k]; }, w, taps, n, out);
}

// The Gaussian's taps, normalised over the full kernel as torchvision does; the outermost taps
// whose combined weight is below float resolution (2^-24) are then dropped, which changes no
// result by more than that and halves the work for small sigmas. Returns the radius kept.
int gaussian_taps(int taps, float sigma, std::vector<float>& w) {
  w.resize(taps);
  float total = 0.f;
  for (int k = 0; k < taps; ++k) total += (w[k] = gaussian_tap(k, taps, sigma));
  for (int k = 0; k < taps; ++k) w[k] /= total;
  int radius = taps / 2;
  float dropped = 0.f;
  while (radius > 0) {
    const float edge = w[taps / 2 - radius] + w[taps / 2 + radius];
    if (dropped + edge > 5.9604645e-8f) break;
    dropped += edge;
    --radius;
  }
  const int first = taps / 2 - radius;
  for (int k = 0; k < 2 * radius + 1; ++k) w[k] = w[first + k];
  w.resize(2 * radius + 1);
  return radius;
}

// Blur (separable, reflect), solarize and normalisation, writing the view to `out` (C, oh, ow).
// s.buf holds the view transposed, (C, ow, oh): its rows are image columns.
void blur_and_store(const ViewRow& row, int64_t C, int64_t oh, int64_t ow, int64_t taps,
                    float threshold, const float* scale, const float* shift, Scratch& s,
                    float* out) {
  const int64_t P = oh * ow;
  const bool blur = row.sigma > 0.f && taps > 1;
  if (blur) {
    std::vector<float>& gk = s.gauss;
    const int64_t R = gaussian_taps(static_cast<int>(taps), row.sigma, gk);
    const int kept = static_cast<int>(2 * R + 1);
    s.tmp.resize(std::max<size_t>(s.tmp.size(), C * P));
    s.line.resize(std::max<size_t>(s.line.size(), oh + 2 * R));
    std::vector<const float*>& src_rows = s.blur_rows;
    src_rows.resize(kept);
    for (int64_t c = 0; c < C; ++c) {
      float* img = &s.buf[c * P];  // (ow, oh)
      float* h = &s.tmp[c * P];
      for (int64_t x = 0; x < ow; ++x) {  // along each image column: pad by reflection, taps
        const float* src = img + x * oh;
        float* padded = s.line.data();
        std::copy(src, src + oh, padded + R);
        for (int64_t k = 1; k <= R; ++k) {  // reflect (edge not repeated) on both ends
          padded[R - k] = src[k];
          padded[R + oh - 1 + k] = src[oh - 1 - k];
        }
        blur_row(padded, gk.data(), kept, oh, h + x * oh);
      }
      for (int64_t x = 0; x < ow; ++x) {  // across columns: sums of reflected whole rows
        for (int k = 0; k < kept; ++k) src_rows[k] = h + reflect(x + k - R, ow) * oh;
        blur_column(src_rows.data(), gk.data(), kept, oh, img + x * oh);
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    transpose_finish(&s.buf[c * P], oh, ow, row.solarize, threshold, scale[c], shift[c],
                     out + c * P);
  }
}

// Builds every view into `out`. Views run on an OpenMP team; an exception in any thread (an
// allocation that fails) is handed over to the caller's thread after the team joins.
template <typename src_t>
void augment_all(const AugmentArgs& a, const std::vector<ViewRow>& rows,
                 const std::vector<ScratchSize>& sizes, at::Tensor& out) {
  const at::Tensor& images = a.images;
  const int64_t C = images.size(1), V = static_cast<int64_t>(rows.size());
  const int64_t oh = a.size[0], ow = a.size[1];
  const int64_t sN = images.stride(0), sC = images.stride(1), sH = images.stride(2),
                sW = images.stride(3);
  const src_t* base = images.const_data_ptr<src_t>();
  float* dst = out.mutable_data_ptr<float>();
  const float value_scale = std::is_same<src_t, uint8_t>::value ? 1.f / 255.f : 1.f;
  float scale[3] = {1.f, 1.f, 1.f}, shift[3] = {0.f, 0.f, 0.f};
  for (size_t c = 0; c < a.mean.size(); ++c) {
    scale[c] = static_cast<float>(1.0 / a.std[c]);
    shift[c] = static_cast<float>(-a.mean[c] / a.std[c]);
  }
  const float threshold = static_cast<float>(a.solarize_threshold);
  const int threads = at::get_num_threads();
  FirstError errors;

#pragma omp parallel num_threads(threads) if (V > 1)
  {
    Scratch s;
#pragma omp for schedule(dynamic, 1)
    for (int64_t v = 0; v < V; ++v) {
      if (errors.failed()) continue;
      errors.run([&] {
        const ViewRow& row = rows[v];
        reserve(s, sizes[v], v);
        resample(base + row.source * sN, sC, sH, sW, C, row, oh, ow, value_scale, s);
        colour(row, C, oh * ow, s);
        blur_and_store(row, C, oh, ow, a.blur_kernel_size, threshold, scale, shift, s,
                       dst + v * C * oh * ow);
      });
    }
  }
  errors.rethrow();
}

// Checks everything (values too: reading them costs nothing on the CPU), then builds the views
// into `out`, or into a new tensor when `out` is null.
at::Tensor run_cpu(SSL_AUGMENT_PARAMS, at::Tensor* out) {
  check_device(images, c10::DeviceType::CPU, "images");
  const at::Tensor src = source.contiguous(), box = crop.contiguous(), fl = flip.contiguous(),
                   ji = jitter.contiguous(), fa = factors.contiguous(), od = order.contiguous(),
                   gr = grayscale.contiguous(), bs = blur_sigma.contiguous(),
                   so = solarize.contiguous();
  const AugmentArgs a{images, src,  box,  fl,   ji,  fa, od, gr, bs, so, size, blur_kernel_size,
                      solarize_threshold, mean, std};
  const int64_t V = check_augment_args(a);
  const int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  std::vector<ViewRow> rows(V);
  std::vector<ScratchSize> sizes(V);
  for (int64_t v = 0; v < V; ++v) {
    rows[v] = read_row(a, v, N, H, W);
    sizes[v] = scratch_size(rows[v], C, size[0], size[1], blur_kernel_size);
    check_scratch(rows[v], v, sizes[v], size[0], size[1]);
  }

  at::Tensor result;
  if (out != nullptr) {
    check_augment_out(a, V, *out);
    result = *out;
  } else {
    result = at::empty({V, C, size[0], size[1]}, images.options().dtype(at::kFloat));
  }
  if (V == 0) return result;
  if (images.scalar_type() == at::kByte) {
    augment_all<uint8_t>(a, rows, sizes, result);
  } else {
    augment_all<float>(a, rows, sizes, result);
  }
  return result;
}

at::Tensor augment_views_cpu(SSL_AUGMENT_PARAMS) {
  return run_cpu(SSL_AUGMENT_ARGS, nullptr);
}

void augment_views_into_cpu(SSL_AUGMENT_PARAMS, at::Tensor& out) {
  run_cpu(SSL_AUGMENT_ARGS, &out);
}

}  // namespace
}  // namespace augment

TORCH_LIBRARY_IMPL(sslcore, CPU, m) {
  m.impl("augment_views", &augment::augment_views_cpu);
  m.impl("augment_views_into", &augment::augment_views_into_cpu);
}

}  // namespace sslcore
