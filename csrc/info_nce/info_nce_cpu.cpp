// InfoNCE on the CPU in square tiles of the logit matrix S = rows · colsᵀ / τ, never all of it.
//
// Forward: each tile is one BLAS call (at::mm_out, single-threaded inside our OpenMP team) and one
// pass that folds its rows (and, when the columns are rows of the loss too, its columns) into
// per-row online log-sum-exp states. Backward recomputes each tile, turns it into ∂L/∂S in place
// (info_nce_math.h) and multiplies it back into both gradients. With rows = cols (NT-Xent on one
// process) only tiles on and above the diagonal are visited: S is symmetric, so one tile serves
// its row block and, read by columns, its column block, which halves the multiply work.
//
// Threads take tiles round-robin; each keeps its own states and gradient buffer, merged
// once at the end, so the extra memory is O(threads · N · D + threads · tile²), never N².
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <torch/library.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "../common/first_error.h"
#include "info_nce_args.h"
#include "info_nce_math.h"

namespace sslcore {
namespace info_nce {
namespace {

// Tile side: a 512 × 512 float tile (1 MiB) stays in L2 between its multiply and its passes, and
// one tile is ~67 MFLOP at D = 128, long enough for the multiply to run near its peak and to hide
// the call overhead. Small problems take smaller tiles so that every thread gets work.
constexpr int64_t kMaxTile = 512;
constexpr int64_t kMinTile = 64;

// The problem one call solves, in the compute dtype T (float or double), contiguous.
template <typename T>
struct Problem {
  at::Tensor rows, cols;  // (m, D), (n, D); the same tensor when mirror
  at::Tensor scaled_rows;   // rows / τ, the multiply's left operand (O(m·D), saves a pass a tile)
  const int64_t* positive;  // (m,): the column of each row's positive
  const int64_t* exclude;   // (m,): a column each row leaves out (−1: none); null when mirror
  bool mirror;              // cols is rows: visit tiles J ≥ I, serve block J through columns
  bool col_stats;           // columns are rows of their own softmax (the CLIP form)
  int64_t m, n;
  int64_t side;  // tile side, also the scratch tile's row stride
};

// The largest tile side (a power of two ≤ kMaxTile) that still gives each thread ~4 tiles.
inline int64_t tile_side(int64_t m, int64_t n, bool mirror) {
  const int64_t threads = std::max(1, at::get_num_threads());
  int64_t side = kMaxTile;
  auto count = [&](int64_t s) {
    const int64_t bm = (m + s - 1) / s, bn = (n + s - 1) / s;
    return mirror ? bm * (bm + 1) / 2 : bm * bn;
  };
  while (side > kMinTile && count(side) < 4 * threads) side /= 2;
  return side;
}

struct Tile {
  int64_t r0, tr, c0, tc;
  bool diagonal;  // mirror and the same block: the full symmetric block, rows only
};

template <typename T>
std::vector<Tile> make_tiles(const Problem<T>& p) {
  std::vector<Tile> tiles;
  for (int64_t r0 = 0; r0 < p.m; r0 += p.side) {
    for (int64_t c0 = p.mirror ? r0 : 0; c0 < p.n; c0 += p.side) {
      tiles.push_back({r0, std::min(p.side, p.m - r0), c0, std::min(p.side, p.n - c0),
                       p.mirror && c0 == r0});
    }
  }
  return tiles;
}

// Views of each row block and column block, made once per call: a tile then costs no view
// creation (thousands of narrow/transpose calls add up to milliseconds per step).
inline std::vector<at::Tensor> split_rows(const at::Tensor& t, int64_t side) {
  std::vector<at::Tensor> blocks;
  for (int64_t r0 = 0; r0 < t.size(0); r0 += side) {
    blocks.push_back(t.narrow(0, r0, std::min(side, t.size(0) - r0)));
  }
  return blocks;
}

struct Blocks {
  std::vector<at::Tensor> rows, scaled_rows, cols, cols_t;

  template <typename T>
  explicit Blocks(const Problem<T>& p)
      : rows(split_rows(p.rows, p.side)),
        scaled_rows(split_rows(p.scaled_rows, p.side)),
        cols(split_rows(p.cols, p.side)) {
    for (const at::Tensor& c : cols) cols_t.push_back(c.t());
  }
};

// The tile's (tr, tc) part of a thread's side × side scratch.
inline at::Tensor tile_view(const at::Tensor& tile, int64_t tr, int64_t tc) {
  return tr == tile.size(0) && tc == tile.size(1) ? tile : tile.narrow(0, 0, tr).narrow(1, 0, tc);
}

// Does the tile mirror its columns into rows (the column direction of the softmax)?
template <typename T>
bool serves_columns(const Problem<T>& p, const Tile& t) {
  return p.mirror ? !t.diagonal : p.col_stats;
}

// S_tile = (rows[r0:r0+tr] / τ) · cols[c0:c0+tc]ᵀ into `tile` (row stride p.side), then masks the
// excluded logits with −inf so that both passes give them weight exactly 0.
template <typename T>
void compute_tile(const Problem<T>& p, const Blocks& b, const Tile& t, at::Tensor& tile) {
  at::Tensor out = tile_view(tile, t.tr, t.tc);
  at::mm_out(out, b.scaled_rows[t.r0 / p.side], b.cols_t[t.c0 / p.side]);
  T* s = tile.mutable_data_ptr<T>();
  for (int64_t r = 0; r < t.tr; ++r) {
    const int64_t ex = t.diagonal ? t.r0 + r : (p.exclude ? p.exclude[t.r0 + r] : -1);
    if (ex >= t.c0 && ex < t.c0 + t.tc) s[r * p.side + ex - t.c0] = -std::numeric_limits<T>::infinity();
  }
}

// One tile's contribution to the running states: per row its max and Σ exp(S − max), and, when
// `col_state` is given, the same per column. `cmax`/`csum`/`rmax` are scratch of `ld` entries.
template <typename T>
__attribute__((always_inline)) inline void fold_tile_impl(const T* s, int64_t tr, int64_t tc, int64_t ld, OnlineLse* row_state,
                           OnlineLse* col_state, T* cmax, T* csum,
                                                         T* rmax_scratch) {
  const T lowest = -std::numeric_limits<T>::infinity();
  // One sweep for the maxima: each row's, and each column's when asked.
  if (col_state) {
    for (int64_t c = 0; c < tc; ++c) cmax[c] = lowest, csum[c] = 0;
  }
  for (int64_t r = 0; r < tr; ++r) {
    const T* row = s + r * ld;
    T rmax = lowest;
    if (col_state) {
#pragma omp simd reduction(max : rmax)
      for (int64_t c = 0; c < tc; ++c) {
        rmax = row[c] > rmax ? row[c] : rmax;
        cmax[c] = row[c] > cmax[c] ? row[c] : cmax[c];
      }
    } else {
#pragma omp simd reduction(max : rmax)
      for (int64_t c = 0; c < tc; ++c) rmax = row[c] > rmax ? row[c] : rmax;
    }
    rmax_scratch[r] = rmax;
  }
  // One sweep for the sums of exponentials.
  for (int64_t r = 0; r < tr; ++r) {
    const T* row = s + r * ld;
    const T rmax = rmax_scratch[r];
    T rsum = 0;
    if (col_state) {
#pragma omp simd reduction(+ : rsum)
      for (int64_t c = 0; c < tc; ++c) {
        rsum += exp_shifted(row[c] - rmax);
        csum[c] += exp_shifted(row[c] - cmax[c]);
      }
    } else {
#pragma omp simd reduction(+ : rsum)
      for (int64_t c = 0; c < tc; ++c) rsum += exp_shifted(row[c] - rmax);
    }
    row_state[r].merge(rmax, rsum);
  }
  if (col_state) {
    for (int64_t c = 0; c < tc; ++c) col_state[c].merge(cmax[c], csum[c]);
  }
}

SSL_CPU_CLONES void fold_tile(const float* s, int64_t tr, int64_t tc, int64_t ld, OnlineLse* row_state,
                              OnlineLse* col_state, float* cmax, float* csum, float* rmax) {
  fold_tile_impl(s, tr, tc, ld, row_state, col_state, cmax, csum, rmax);
}

void fold_tile(const double* s, int64_t tr, int64_t tc, int64_t ld, OnlineLse* row_state,
               OnlineLse* col_state, double* cmax, double* csum, double* rmax) {
  fold_tile_impl(s, tr, tc, ld, row_state, col_state, cmax, csum, rmax);
}

// ∂L/∂S of the softmax parts in place (info_nce_math.h: softmax_grad); a column without its own
// softmax has weight 0.
template <typename T>
__attribute__((always_inline)) inline void grad_tile_impl(T* s, int64_t tr, int64_t tc, int64_t ld, const T* row_w, const T* row_l,
                           const T* col_w, const T* col_l) {
  for (int64_t r = 0; r < tr; ++r) {
    T* row = s + r * ld;
    const T w = row_w[r], l = row_l[r];
    if (col_w) {
#pragma omp simd
      for (int64_t c = 0; c < tc; ++c) row[c] = softmax_grad(row[c], l, w, col_l[c], col_w[c]);
    } else {
#pragma omp simd
      for (int64_t c = 0; c < tc; ++c) row[c] = w * exp_shifted(row[c] - l);
    }
  }
}

SSL_CPU_CLONES void grad_tile(float* s, int64_t tr, int64_t tc, int64_t ld, const float* row_w,
                              const float* row_l, const float* col_w, const float* col_l) {
  grad_tile_impl(s, tr, tc, ld, row_w, row_l, col_w, col_l);
}

void grad_tile(double* s, int64_t tr, int64_t tc, int64_t ld, const double* row_w, const double* row_l,
               const double* col_w, const double* col_l) {
  grad_tile_impl(s, tr, tc, ld, row_w, row_l, col_w, col_l);
}

int team_size(size_t tiles) {
  return static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>(at::get_num_threads(), static_cast<int64_t>(tiles))));
}

// Runs body(thread, tile_index) over the tiles on an OpenMP team. Each thread takes the caller's
// thread-local state (autograd and dispatch modes, so the tile multiplies see what the op sees),
// and an exception in any thread is handed over to the caller's thread after the team joins
// (FirstError): nothing may escape an OpenMP region.
template <typename Setup, typename Body>
void for_each_tile(size_t tiles, int threads, Setup setup, Body body) {
  const at::ThreadLocalState caller;
  FirstError errors;
#pragma omp parallel num_threads(threads)
  {
    const at::ThreadLocalStateGuard guard(caller);
    int me = 0;
#ifdef _OPENMP
    me = omp_get_thread_num();
#endif
    errors.run([&] { setup(me); });
    // Static round-robin: tiles cost the same, and a fixed tile-to-thread map makes the sums'
    // order, hence the result, the same on every call with the same thread count.
#pragma omp for schedule(static, 1)
    for (size_t i = 0; i < tiles; ++i) {
      if (errors.failed()) continue;
      errors.run([&] { body(me, i); });
    }
  }
  errors.rethrow();
}

// Per-row states of all threads merged into lse, and the positive's logit compared with the
// row's max for top-1 accuracy (the positive is one of the logits the max was taken over).
template <typename T>
void finish_rows(const std::vector<std::vector<OnlineLse>>& states, int64_t offset, int64_t count,
                 at::Tensor& lse, const at::Tensor& pos, at::Tensor& top1) {
  T* l = lse.mutable_data_ptr<T>();
  const T* ps = pos.const_data_ptr<T>();
  bool* t1 = top1.mutable_data_ptr<bool>();
  for (int64_t r = 0; r < count; ++r) {
    OnlineLse total;
    for (const auto& s : states) total.merge(s[offset + r].max, s[offset + r].sum);
    l[r] = static_cast<T>(total.lse());
    t1[r] = static_cast<double>(ps[r]) >= total.max;
  }
}

// Forward: lse, positive logit and top-1 of every row, and of every column when col_stats.
template <typename T>
void forward(const Problem<T>& p, at::Tensor& row_lse, at::Tensor& row_pos, at::Tensor& row_top1,
             at::Tensor& col_lse, at::Tensor& col_pos, at::Tensor& col_top1) {
  const std::vector<Tile> tiles = make_tiles(p);
  const Blocks blocks(p);
  const int threads = team_size(tiles.size());
  // States for rows [0, m) and, in the CLIP form, columns at [m, m + n).
  const int64_t states_len = p.m + (p.col_stats ? p.n : 0);
  std::vector<std::vector<OnlineLse>> states(threads);
  T* rpos = row_pos.mutable_data_ptr<T>();
  T* cpos = p.col_stats ? col_pos.mutable_data_ptr<T>() : nullptr;

  std::vector<at::Tensor> tiles_buf(threads);
  std::vector<std::vector<T>> scratch(threads);
  auto setup = [&](int me) {
    tiles_buf[me] = at::empty({p.side, p.side}, p.rows.options());
    scratch[me].resize(3 * p.side);
    states[me].assign(states_len, OnlineLse{});
  };
  auto body = [&](int me, size_t i) {
    const Tile& t = tiles[i];
    compute_tile(p, blocks, t, tiles_buf[me]);
    const T* s = tiles_buf[me].template const_data_ptr<T>();
    // Each positive logit lies in exactly one visited tile: record it there.
    for (int64_t r = 0; r < t.tr; ++r) {
      const int64_t c = p.positive[t.r0 + r];
      if (c < t.c0 || c >= t.c0 + t.tc) continue;
      rpos[t.r0 + r] = s[r * p.side + c - t.c0];
      if (p.mirror && !t.diagonal) rpos[c] = rpos[t.r0 + r];  // (c, r) is its mirror
      if (cpos) cpos[c] = rpos[t.r0 + r];
    }
    OnlineLse* state = states[me].data();
    OnlineLse* cols = nullptr;
    if (serves_columns(p, t)) cols = state + (p.mirror ? t.c0 : p.m + t.c0);
    T* sc = scratch[me].data();
    fold_tile(s, t.tr, t.tc, p.side, state + t.r0, cols, sc, sc + p.side, sc + 2 * p.side);
  };
  for_each_tile(tiles.size(), threads, setup, body);
  finish_rows<T>(states, 0, p.m, row_lse, row_pos, row_top1);
  if (p.col_stats) finish_rows<T>(states, p.m, p.n, col_lse, col_pos, col_top1);
}

// Backward of the softmax parts: d_rows += G · cols, d_cols += Gᵀ · rows with G = ∂L/∂S (all
// unscaled by 1/τ, which the caller applies once). In the mirror form d_cols is d_rows.
template <typename T>
void backward(const Problem<T>& p, const T* row_w, const T* row_l, const T* col_w, const T* col_l,
              at::Tensor& d_rows, at::Tensor& d_cols) {
  const std::vector<Tile> tiles = make_tiles(p);
  const Blocks blocks(p);
  const int threads = team_size(tiles.size());
  const int64_t D = p.rows.size(1);
  // Thread 0 adds into the outputs; the others into private buffers summed at the end.
  std::vector<at::Tensor> rows_acc(threads), cols_acc(threads);
  rows_acc[0] = d_rows;
  cols_acc[0] = d_cols;
  for (int i = 1; i < threads; ++i) {
    rows_acc[i] = at::zeros({p.m, D}, p.rows.options());
    cols_acc[i] = p.mirror ? rows_acc[i] : at::zeros({p.n, D}, p.rows.options());
  }
  struct AccBlocks {
    std::vector<at::Tensor> rows, cols;
  };
  std::vector<AccBlocks> acc_blocks;
  for (int i = 0; i < threads; ++i) {
    acc_blocks.push_back({split_rows(rows_acc[i], p.side), split_rows(cols_acc[i], p.side)});
  }

  std::vector<at::Tensor> tiles_buf(threads);
  auto setup = [&](int me) { tiles_buf[me] = at::empty({p.side, p.side}, p.rows.options()); };
  auto body = [&](int me, size_t i) {
    const Tile& t = tiles[i];
    at::Tensor& tile = tiles_buf[me];
    compute_tile(p, blocks, t, tile);
    const bool cols_softmax = serves_columns(p, t) || t.diagonal;
    grad_tile(tile.template mutable_data_ptr<T>(), t.tr, t.tc, p.side, row_w + t.r0, row_l + t.r0,
              cols_softmax ? col_w + t.c0 : nullptr, cols_softmax ? col_l + t.c0 : nullptr);
    const at::Tensor g = tile_view(tile, t.tr, t.tc);
    acc_blocks[me].rows[t.r0 / p.side].addmm_(g, blocks.cols[t.c0 / p.side]);
    // A diagonal block's G already holds both directions (it is the whole symmetric block).
    if (!t.diagonal) {
      acc_blocks[me].cols[t.c0 / p.side].addmm_(g.t(), blocks.rows[t.r0 / p.side]);
    }
  };
  for_each_tile(tiles.size(), threads, setup, body);
  for (int i = 1; i < threads; ++i) {
    d_rows.add_(rows_acc[i]);
    if (!p.mirror) d_cols.add_(cols_acc[i]);
  }
}

// ---- checks of values, which the CPU reads for free -------------------------------------------

template <typename T>
void check_finite(const at::Tensor& z, const char* name, double temperature) {
  const T* v = z.const_data_ptr<T>();
  const int64_t rows = z.size(0), D = z.size(1);
  double max_sq = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    double sq = 0.0;
    for (int64_t k = 0; k < D; ++k) {
      const double x = static_cast<double>(v[r * D + k]);
      TORCH_CHECK_VALUE(std::isfinite(x), name, ": expected finite values, found ", x,
                        " at row ", r, ", feature ", k);
      sq += x * x;
    }
    max_sq = std::max(max_sq, sq);
  }
  // |S_rc| ≤ |z_r| |z_c| / τ, so this bound keeps every logit finite.
  TORCH_CHECK_VALUE(max_sq / temperature < 0.5 * static_cast<double>(std::numeric_limits<T>::max()),
                    name, ": logits would overflow: max |z|² / temperature = ", max_sq / temperature,
                    "; normalise the embeddings (normalize=True) or raise the temperature");
}

void check_index_values(const at::Tensor& index, int64_t lo, int64_t n, const char* name) {
  const int64_t* v = index.const_data_ptr<int64_t>();
  for (int64_t r = 0; r < index.size(0); ++r) {
    TORCH_CHECK_VALUE(v[r] >= lo && v[r] < n, name, ": entry ", r, " is ", v[r],
                      ", expected a column in [", lo, ", ", n, ")");
  }
}

// Self form: every row's positive is another row that names it back (pairs, as NT-Xent's views).
void check_pairs(const at::Tensor& positive) {
  const int64_t* v = positive.const_data_ptr<int64_t>();
  const int64_t m = positive.size(0);
  check_index_values(positive, 0, m, "positive");
  for (int64_t r = 0; r < m; ++r) {
    TORCH_CHECK_VALUE(v[r] != r && v[v[r]] == r, "positive: expected pairs (positive[positive[r]] "
                      "== r != positive[r]), row ", r, " has positive ", v[r], " whose positive is ",
                      v[v[r]]);
  }
}

void check_permutation(const at::Tensor& positive, int64_t n) {
  std::vector<char> seen(n, 0);
  const int64_t* v = positive.const_data_ptr<int64_t>();
  for (int64_t r = 0; r < positive.size(0); ++r) {
    TORCH_CHECK_VALUE(!seen[v[r]], "positive: col_stats needs each column to be the positive of "
                      "exactly one row; column ", v[r], " is named twice");
    seen[v[r]] = 1;
  }
}

// Rows of a per-row input vector with lse = −inf (no logits) get weight 0 and a harmless lse.
template <typename T>
void safe_weights(const at::Tensor& weight, const at::Tensor& lse, std::vector<T>& w,
                  std::vector<T>& l) {
  const T* wv = weight.const_data_ptr<T>();
  const T* lv = lse.const_data_ptr<T>();
  w.resize(lse.size(0));
  l.resize(lse.size(0));
  for (int64_t r = 0; r < lse.size(0); ++r) {
    const bool any = std::isfinite(static_cast<double>(lv[r]));
    w[r] = any ? wv[r] : T(0);
    l[r] = any ? lv[r] : T(0);
  }
}

// ---- the ops ------------------------------------------------------------------------------------

using Stats = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

Stats empty_stats(const at::Tensor& like, int64_t n) {
  return {at::empty({n}, like.options()), at::empty({n}, like.options()),
          at::empty({n}, like.options().dtype(at::kBool))};
}

Stats info_nce_self_cpu(const at::Tensor& z, const at::Tensor& positive, double temperature) {
  check_self_args(z, positive, temperature);
  check_device(z, c10::DeviceType::CPU, "z");
  const at::Tensor zc = z.contiguous(), pc = positive.contiguous();
  check_pairs(pc);
  const int64_t m = z.size(0);
  at::Tensor lse, pos, top1, unused_l, unused_p, unused_t;
  std::tie(lse, pos, top1) = empty_stats(z, m);
  std::tie(unused_l, unused_p, unused_t) = empty_stats(z, 0);
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "info_nce_self", [&] {
    check_finite<scalar_t>(zc, "z", temperature);
    const Problem<scalar_t> p{zc, zc, zc * (1.0 / temperature), pc.const_data_ptr<int64_t>(),
                              nullptr, true, false, m, m, tile_side(m, m, true)};
    forward(p, lse, pos, top1, unused_l, unused_p, unused_t);
  });
  return {lse, pos, top1};
}

at::Tensor info_nce_self_backward_cpu(const at::Tensor& grad_lse, const at::Tensor& grad_pos,
                                      const at::Tensor& z, const at::Tensor& positive,
                                      const at::Tensor& lse, double temperature) {
  check_self_backward_args(grad_lse, grad_pos, z, positive, lse, temperature);
  check_device(z, c10::DeviceType::CPU, "z");
  const int64_t m = z.size(0);
  const at::Tensor zc = z.contiguous(), pc = positive.contiguous();
  check_pairs(pc);
  at::Tensor dz = at::zeros_like(zc);
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "info_nce_self_backward", [&] {
    std::vector<scalar_t> w, l;
    safe_weights<scalar_t>(grad_lse.contiguous(), lse.contiguous(), w, l);
    const Problem<scalar_t> p{zc, zc, zc * (1.0 / temperature), pc.const_data_ptr<int64_t>(),
                              nullptr, true, false, m, m, tile_side(m, m, true)};
    backward(p, w.data(), l.data(), w.data(), l.data(), dz, dz);
    // The positives' logits S_{r,p(r)} = z_r · z_p / τ: their gradient reaches both rows.
    const at::Tensor gp = grad_pos.contiguous().unsqueeze(1);
    dz.index_add_(0, pc, zc * gp);
    dz.add_(zc.index_select(0, pc) * gp);
    dz.mul_(1.0 / temperature);
  });
  return dz;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>
info_nce_cross_cpu(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& positive,
                   const at::Tensor& exclude, double temperature, bool col_stats) {
  check_cross_args(rows, cols, positive, exclude, temperature, col_stats);
  check_device(rows, c10::DeviceType::CPU, "rows");
  const at::Tensor rc = rows.contiguous(), cc = cols.contiguous(), pc = positive.contiguous(),
                   ec = exclude.contiguous();
  const int64_t m = rows.size(0), n = cols.size(0);
  check_index_values(pc, 0, n, "positive");
  check_index_values(ec, -1, n, "exclude");
  TORCH_CHECK_VALUE(!(pc == ec).any().item<bool>(),
                    "exclude: a row cannot leave out its own positive");
  if (col_stats) check_permutation(pc, n);
  at::Tensor row_lse, row_pos, row_top1, col_lse, col_pos, col_top1;
  std::tie(row_lse, row_pos, row_top1) = empty_stats(rows, m);
  std::tie(col_lse, col_pos, col_top1) = empty_stats(rows, col_stats ? n : 0);
  AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "info_nce_cross", [&] {
    check_finite<scalar_t>(rc, "rows", temperature);
    check_finite<scalar_t>(cc, "cols", temperature);
    const Problem<scalar_t> p{rc, cc, rc * (1.0 / temperature), pc.const_data_ptr<int64_t>(),
                              ec.const_data_ptr<int64_t>(), false, col_stats, m, n,
                              tile_side(m, n, false)};
    forward(p, row_lse, row_pos, row_top1, col_lse, col_pos, col_top1);
  });
  return {row_lse, row_pos, row_top1, col_lse, col_pos, col_top1};
}

std::tuple<at::Tensor, at::Tensor> info_nce_cross_backward_cpu(
    const at::Tensor& grad_row_lse, const at::Tensor& grad_row_pos, const at::Tensor& grad_col_lse,
    const at::Tensor& grad_col_pos, const at::Tensor& rows, const at::Tensor& cols,
    const at::Tensor& positive, const at::Tensor& exclude, const at::Tensor& row_lse,
    const at::Tensor& col_lse, double temperature) {
  const bool col_stats =
      check_cross_backward_args(grad_row_lse, grad_row_pos, grad_col_lse, grad_col_pos, rows, cols,
                                positive, exclude, row_lse, col_lse, temperature);
  check_device(rows, c10::DeviceType::CPU, "rows");
  const int64_t m = rows.size(0), n = cols.size(0);
  const at::Tensor rc = rows.contiguous(), cc = cols.contiguous(), pc = positive.contiguous(),
                   ec = exclude.contiguous();
  check_index_values(pc, 0, n, "positive");
  check_index_values(ec, -1, n, "exclude");
  at::Tensor d_rows = at::zeros_like(rc), d_cols = at::zeros_like(cc);
  AT_DISPATCH_FLOATING_TYPES(rows.scalar_type(), "info_nce_cross_backward", [&] {
    std::vector<scalar_t> rw, rl, cw, cl;
    safe_weights<scalar_t>(grad_row_lse.contiguous(), row_lse.contiguous(), rw, rl);
    if (col_stats) safe_weights<scalar_t>(grad_col_lse.contiguous(), col_lse.contiguous(), cw, cl);
    const Problem<scalar_t> p{rc, cc, rc * (1.0 / temperature), pc.const_data_ptr<int64_t>(),
                              ec.const_data_ptr<int64_t>(), false, col_stats, m, n,
                              tile_side(m, n, false)};
    backward(p, rw.data(), rl.data(), col_stats ? cw.data() : nullptr,
             col_stats ? cl.data() : nullptr, d_rows, d_cols);
    // Positive logits S_{r,pos(r)}: from the rows' side, and (CLIP) from the columns' side.
    at::Tensor gp = grad_row_pos.contiguous().unsqueeze(1);
    if (col_stats) gp = gp + grad_col_pos.index_select(0, pc).unsqueeze(1);
    d_rows.add_(cc.index_select(0, pc) * gp);
    d_cols.index_add_(0, pc, rc * gp);
  });
  d_rows.mul_(1.0 / temperature);
  d_cols.mul_(1.0 / temperature);
  return {d_rows, d_cols};
}

}  // namespace

TORCH_LIBRARY_IMPL(sslcore, CPU, m) {
  m.impl("info_nce_self", &info_nce_self_cpu);
  m.impl("info_nce_self_backward", &info_nce_self_backward_cpu);
  m.impl("info_nce_cross", &info_nce_cross_cpu);
  m.impl("info_nce_cross_backward", &info_nce_cross_backward_cpu);
}

}  // namespace info_nce
}  // namespace sslcore
