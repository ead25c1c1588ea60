// CPU backend of sslcore::augment_views: OpenMP over views; each view is built in a per-thread
// scratch that stays in cache (resample → colour → blur), so memory sees the source bytes read
// once and the float views written once. The arithmetic is augment_math.h's.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "augment_args.h"
#include "augment_math.h"

namespace sslcore {
namespace augment {
namespace {

// Per-thread working memory, grown on demand and reused across views.
struct Scratch {
  std::vector<float> buf;   // (C, oh, ow): the view being built
  std::vector<float> tmp;   // (C, rows, ow): horizontal pass of resample / blur
  std::vector<float> line;  // one padded source or output row
  std::vector<float> wx, wy, gauss;  // taps, structure of arrays: w[j * n + i]
  std::vector<int32_t> x0;
  std::vector<int64_t> y0;
  std::vector<int> yn;
};

// Checks one view's values, naming the view and the field, and unpacks them.
ViewRow read_row(const AugmentArgs& a, int64_t v, int64_t N, int64_t H, int64_t W) {
  ViewRow row{};
  row.source = a.source.const_data_ptr<int64_t>()[v];
  TORCH_CHECK_VALUE(row.source >= 0 && row.source < N, "source: view ", v, " refers to image ",
                    row.source, " but the batch has ", N, " images");
  const int64_t* crop = a.crop.const_data_ptr<int64_t>() + 4 * v;
  row.top = crop[0], row.left = crop[1], row.height = crop[2], row.width = crop[3];
  TORCH_CHECK_VALUE(row.height >= 1 && row.width >= 1 && row.top >= 0 && row.left >= 0 &&
                        row.top + row.height <= H && row.left + row.width <= W,
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

// Horizontal resample of one row: out[x] = sum_j w[j][x] * row[x0[x] + j], every output with
// exactly `taps` taps (zero weights pad the short ones) so the loop vectorises with gathers.
SSL_CPU_CLONES void resample_row(const float* __restrict__ row, const int32_t* __restrict__ x0,
                                 const float* __restrict__ w, int taps, int64_t n,
                                 float* __restrict__ out) {
  // 32-bit indices into `row` keep the loads vectorisable as gathers.
  if (taps == 3) {
    const float *w0 = w, *w1 = w + n, *w2 = w + 2 * n;
    for (int64_t x = 0; x < n; ++x) {
      const int32_t i = x0[x];
      out[x] = w0[x] * row[i] + w1[x] * row[i + 1] + w2[x] * row[i + 2];
    }
    return;
  }
  for (int64_t x = 0; x < n; ++x) out[x] = w[x] * row[x0[x]];
  for (int j = 1; j < taps; ++j) {
    const float* wj = w + j * n;
    for (int64_t x = 0; x < n; ++x) {
      const int32_t i = x0[x] + j;
      out[x] += wj[x] * row[i];
    }
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
SSL_CPU_CLONES void sum_rows(const float* __restrict__ rows, int64_t stride,
                             const float* __restrict__ w, int taps, int64_t n,
                             float* __restrict__ out) {
  weighted_rows([=](int k) { return rows + k * stride; }, w, taps, n, out);
}

// Source row → float (uint8 scaled to [0, 1]), with `pad` zeros after it for the padded taps.
template <typename src_t>
void load_row(const src_t* src, int64_t stride, int64_t n, float scale, int pad, float* out) {
  if (stride == 1) {
    for (int64_t x = 0; x < n; ++x) out[x] = static_cast<float>(src[x]) * scale;
  } else {
    for (int64_t x = 0; x < n; ++x) out[x] = static_cast<float>(src[x * stride]) * scale;
  }
  for (int j = 0; j < pad; ++j) out[n + j] = 0.f;
}

// Crop + resize (+ flip) of one view into s.buf: a horizontal pass over the crop rows any output
// reads, into s.tmp, then a vertical pass of whole-row sums.
template <typename src_t>
void resample(const src_t* img, int64_t sC, int64_t sH, int64_t sW, int64_t C, const ViewRow& row,
              int64_t oh, int64_t ow, float value_scale, Scratch& s) {
  const float scx = aa_scale(row.width, ow), scy = aa_scale(row.height, oh);
  const int mx = aa_max_taps(scx), my = aa_max_taps(scy);
  s.wx.assign(static_cast<size_t>(mx) * ow, 0.f);
  s.x0.resize(ow);
  std::vector<float>& w = s.gauss;  // one output's taps, before spreading into s.wx
  w.resize(std::max(mx, my));
  for (int64_t x = 0; x < ow; ++x) {
    int n = 0;
    const int64_t xmin = aa_taps(row.flip ? ow - 1 - x : x, row.width, scx, w.data(), n);
    s.x0[x] = static_cast<int32_t>(xmin);
    for (int j = 0; j < n; ++j) s.wx[j * ow + x] = w[j];
  }
  s.wy.resize(static_cast<size_t>(my) * oh), s.y0.resize(oh), s.yn.resize(oh);
  for (int64_t y = 0; y < oh; ++y) s.y0[y] = aa_taps(y, row.height, scy, &s.wy[y * my], s.yn[y]);
  const int64_t r0 = s.y0[0], r1 = s.y0[oh - 1] + s.yn[oh - 1];  // crop rows any output reads
  const int64_t rows = r1 - r0;
  s.tmp.resize(std::max<size_t>(s.tmp.size(), C * rows * ow));
  s.buf.resize(std::max<size_t>(s.buf.size(), C * oh * ow));
  s.line.resize(std::max<size_t>(s.line.size(), row.width + mx));

  for (int64_t c = 0; c < C; ++c) {
    for (int64_t r = 0; r < rows; ++r) {
      const src_t* src = img + c * sC + (row.top + r0 + r) * sH + row.left * sW;
      load_row(src, sW, row.width, value_scale, mx, s.line.data());
      resample_row(s.line.data(), s.x0.data(), s.wx.data(), mx, ow, &s.tmp[(c * rows + r) * ow]);
    }
    for (int64_t y = 0; y < oh; ++y) {
      sum_rows(&s.tmp[(c * rows + s.y0[y] - r0) * ow], ow, &s.wy[y * my], s.yn[y], ow,
               &s.buf[(c * oh + y) * ow]);
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

// Solarize + normalise one row of values and store it.
SSL_CPU_CLONES void finish_row(const float* __restrict__ in, float* __restrict__ out, int64_t n,
                               bool solar, float threshold, float scale, float shift) {
  if (solar) {
    for (int64_t x = 0; x < n; ++x) out[x] = solarize(in[x], threshold) * scale + shift;
  } else {
    for (int64_t x = 0; x < n; ++x) out[x] = in[x] * scale + shift;
  }
}

// out[x] = sum_k w[k] * in[x + k] over a row padded by reflection: the horizontal blur.
// (Taps outer, outputs inner: with shifted reads of one row this vectorises better than blocks.)
SSL_CPU_CLONES void blur_row(const float* __restrict__ in, const float* __restrict__ w, int taps,
                             int64_t n, float* __restrict__ out) {
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

// Blur (separable, reflect), solarize and normalisation, writing the view to `out`.
void blur_and_store(const ViewRow& row, int64_t C, int64_t oh, int64_t ow, int64_t taps,
                    float threshold, const float* scale, const float* shift, Scratch& s,
                    float* out) {
  const int64_t P = oh * ow;
  if (row.sigma <= 0.f || taps == 1) {
    for (int64_t c = 0; c < C; ++c) {
      finish_row(&s.buf[c * P], out + c * P, P, row.solarize, threshold, scale[c], shift[c]);
    }
    return;
  }
  std::vector<float>& gk = s.gauss;
  const int64_t R = gaussian_taps(static_cast<int>(taps), row.sigma, gk);
  const int kept = static_cast<int>(2 * R + 1);
  s.tmp.resize(std::max<size_t>(s.tmp.size(), C * P));
  s.line.resize(std::max<size_t>(s.line.size(), std::max(ow + 2 * R, ow)));
  std::vector<const float*> src_rows(kept);
  for (int64_t c = 0; c < C; ++c) {
    const float* in = &s.buf[c * P];
    float* h = &s.tmp[c * P];
    for (int64_t y = 0; y < oh; ++y) {  // horizontal: pad the row by reflection, then taps
      const float* src = in + y * ow;
      float* padded = s.line.data();
      for (int64_t x = -R; x < ow + R; ++x) padded[x + R] = src[reflect(x, ow)];
      blur_row(padded, gk.data(), kept, ow, h + y * ow);
    }
    for (int64_t y = 0; y < oh; ++y) {  // vertical: reflected rows, sums of whole rows
      for (int k = 0; k < kept; ++k) src_rows[k] = h + reflect(y + k - R, oh) * ow;
      blur_column(src_rows.data(), gk.data(), kept, ow, s.line.data());
      finish_row(s.line.data(), out + c * P + y * ow, ow, row.solarize, threshold, scale[c],
                 shift[c]);
    }
  }
}

template <typename src_t>
void augment_all(const AugmentArgs& a, const std::vector<ViewRow>& rows, at::Tensor& out) {
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

#pragma omp parallel num_threads(threads) if (V > 1)
  {
    Scratch s;
#pragma omp for schedule(dynamic, 1)
    for (int64_t v = 0; v < V; ++v) {
      const ViewRow& row = rows[v];
      resample(base + row.source * sN, sC, sH, sW, C, row, oh, ow, value_scale, s);
      colour(row, C, oh * ow, s);
      blur_and_store(row, C, oh, ow, a.blur_kernel_size, threshold, scale, shift, s,
                     dst + v * C * oh * ow);
    }
  }
}

at::Tensor augment_views_cpu(const at::Tensor& images, const at::Tensor& source,
                             const at::Tensor& crop, const at::Tensor& flip,
                             const at::Tensor& jitter, const at::Tensor& factors,
                             const at::Tensor& order, const at::Tensor& grayscale,
                             const at::Tensor& blur_sigma, const at::Tensor& solarize,
                             c10::ArrayRef<int64_t> size, int64_t blur_kernel_size,
                             double solarize_threshold, c10::ArrayRef<double> mean,
                             c10::ArrayRef<double> std) {
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
  for (int64_t v = 0; v < V; ++v) rows[v] = read_row(a, v, N, H, W);

  at::Tensor out = at::empty({V, C, size[0], size[1]}, images.options().dtype(at::kFloat));
  if (V == 0) return out;
  if (images.scalar_type() == at::kByte) {
    augment_all<uint8_t>(a, rows, out);
  } else {
    augment_all<float>(a, rows, out);
  }
  return out;
}

}  // namespace
}  // namespace augment

TORCH_LIBRARY_IMPL(sslcore, CPU, m) { m.impl("augment_views", &augment::augment_views_cpu); }

}  // namespace sslcore
