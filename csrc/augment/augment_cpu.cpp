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
  std::vector<float> buf;  // (C, oh, ow): the view being built
  std::vector<float> tmp;  // (C, rows, ow): horizontal pass of resample / blur
  std::vector<float> wx, wy, gauss;
  std::vector<int64_t> x0, y0;
  std::vector<int> xn, yn;
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

// Crop + resize (+ flip) of one view into s.buf: horizontal pass over the crop's rows into
// s.tmp, then a vertical pass that is a sum of whole rows (vectorised).
template <typename src_t>
void resample(const src_t* img, int64_t sC, int64_t sH, int64_t sW, int64_t C, const ViewRow& row,
              int64_t oh, int64_t ow, float value_scale, Scratch& s) {
  const float scx = aa_scale(row.width, ow), scy = aa_scale(row.height, oh);
  const int mx = aa_max_taps(scx), my = aa_max_taps(scy);
  s.wx.resize(ow * mx), s.x0.resize(ow), s.xn.resize(ow);
  s.wy.resize(oh * my), s.y0.resize(oh), s.yn.resize(oh);
  for (int64_t x = 0; x < ow; ++x) {
    float* w = &s.wx[x * mx];
    s.x0[x] = aa_taps(x, row.width, scx, w, s.xn[x]);
    for (int j = 0; j < s.xn[x]; ++j) w[j] *= value_scale;  // uint8 → [0, 1] folded in
  }
  for (int64_t y = 0; y < oh; ++y) s.y0[y] = aa_taps(y, row.height, scy, &s.wy[y * my], s.yn[y]);
  const int64_t r0 = s.y0[0], r1 = s.y0[oh - 1] + s.yn[oh - 1];  // crop rows any output reads
  const int64_t rows = r1 - r0;
  s.tmp.resize(std::max<size_t>(s.tmp.size(), C * rows * ow));
  s.buf.resize(std::max<size_t>(s.buf.size(), C * oh * ow));

  for (int64_t c = 0; c < C; ++c) {
    for (int64_t r = 0; r < rows; ++r) {
      const src_t* src = img + c * sC + (row.top + r0 + r) * sH + row.left * sW;
      float* out = &s.tmp[(c * rows + r) * ow];
      for (int64_t x = 0; x < ow; ++x) {
        const float* w = &s.wx[x * mx];
        const src_t* p = src + s.x0[x] * sW;
        float acc = 0.f;
        for (int j = 0; j < s.xn[x]; ++j) acc += w[j] * static_cast<float>(p[j * sW]);
        out[row.flip ? ow - 1 - x : x] = acc;
      }
    }
    for (int64_t y = 0; y < oh; ++y) {
      float* out = &s.buf[(c * oh + y) * ow];
      const float* w = &s.wy[y * my];
      const float* in = &s.tmp[(c * rows + s.y0[y] - r0) * ow];
      for (int64_t x = 0; x < ow; ++x) out[x] = w[0] * in[x];
      for (int j = 1; j < s.yn[y]; ++j) {
        const float* in_j = in + j * ow;
        for (int64_t x = 0; x < ow; ++x) out[x] += w[j] * in_j[x];
      }
    }
  }
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
        for (int64_t i = 0; i < C * P; ++i) r[i] = clamp01(f * r[i]);
      } else if (op == kContrast) {
        double sum = 0.0;  // the image's mean luma, accumulated in double
        if (C == 3) {
          for (int64_t i = 0; i < P; ++i) sum += luma(r[i], g[i], b[i]);
        } else {
          for (int64_t i = 0; i < P; ++i) sum += r[i];
        }
        const float mean = static_cast<float>(sum / static_cast<double>(P));
        for (int64_t i = 0; i < C * P; ++i) r[i] = blend(r[i], mean, f);
      } else if (op == kSaturation && C == 3) {
        for (int64_t i = 0; i < P; ++i) {
          const float l = luma(r[i], g[i], b[i]);
          r[i] = blend(r[i], l, f), g[i] = blend(g[i], l, f), b[i] = blend(b[i], l, f);
        }
      } else if (op == kHue && C == 3 && f != 0.f) {
        for (int64_t i = 0; i < P; ++i) adjust_hue_pixel(r[i], g[i], b[i], f);
      }
    }
  }
  if (row.gray && C == 3) {
    for (int64_t i = 0; i < P; ++i) r[i] = g[i] = b[i] = luma(r[i], g[i], b[i]);
  }
}

// Solarize + normalise one row of values and store it.
inline void finish_row(const float* in, float* out, int64_t n, bool solar, float threshold,
                       float scale, float shift) {
  if (solar) {
    for (int64_t x = 0; x < n; ++x) out[x] = solarize(in[x], threshold) * scale + shift;
  } else {
    for (int64_t x = 0; x < n; ++x) out[x] = in[x] * scale + shift;
  }
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
  s.gauss.resize(taps);
  float total = 0.f;
  for (int k = 0; k < taps; ++k) total += (s.gauss[k] = gaussian_tap(k, taps, row.sigma));
  for (int k = 0; k < taps; ++k) s.gauss[k] /= total;
  const float* gk = s.gauss.data();
  const int64_t pad = taps / 2;
  s.tmp.resize(std::max<size_t>(s.tmp.size(), C * P));
  std::vector<float> line(ow);  // one output row before solarize/normalise
  for (int64_t c = 0; c < C; ++c) {
    const float* in = &s.buf[c * P];
    float* h = &s.tmp[c * P];
    for (int64_t y = 0; y < oh; ++y) {  // horizontal pass, borders by reflection
      const float* src = in + y * ow;
      float* dst = h + y * ow;
      for (int64_t x = 0; x < ow; ++x) dst[x] = 0.f;
      for (int64_t k = 0; k < taps; ++k) {
        const float w = gk[k];
        const int64_t lo = std::max<int64_t>(0, pad - k), hi = std::min<int64_t>(ow, ow + pad - k);
        for (int64_t x = 0; x < lo; ++x) dst[x] += w * src[reflect(x + k - pad, ow)];
        for (int64_t x = lo; x < hi; ++x) dst[x] += w * src[x + k - pad];
        for (int64_t x = hi; x < ow; ++x) dst[x] += w * src[reflect(x + k - pad, ow)];
      }
    }
    for (int64_t y = 0; y < oh; ++y) {  // vertical pass: sums of whole rows
      for (int64_t x = 0; x < ow; ++x) line[x] = 0.f;
      for (int64_t k = 0; k < taps; ++k) {
        const float w = gk[k];
        const float* src = h + reflect(y + k - pad, oh) * ow;
        for (int64_t x = 0; x < ow; ++x) line[x] += w * src[x];
      }
      finish_row(line.data(), out + c * P + y * ow, ow, row.solarize, threshold, scale[c],
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
