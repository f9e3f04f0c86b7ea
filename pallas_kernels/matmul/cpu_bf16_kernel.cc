// Dense matmul in bfloat16 for CPUs with AVX512_BF16, as XLA FFI custom calls:
//   out[M, N] = bf16(x[M, K]) . w[layer][K, N]        (JaxserveMatmulBf16)
//   out[M, N] = bf16(x[M, K]) . w[N, K]^T             (JaxserveMatmulBf16Transposed, tied LM head)
// x and out are float32, w bfloat16. x is rounded to bfloat16 (to nearest, ties to even), and
// every product of two bfloat16 numbers is summed in float32 by `vdpbf16ps`, two k at a time:
// twice the multiply-adds per instruction of a float32 FMA, which is what bounds a batched
// step on these CPUs.
//
// Summation order: each output element is one lane of one accumulator, which adds the pair
// products (k, k+1) in k order, starting from zero. Every path below runs that same sequence
// whatever M, the register tile or the thread: a row's result is bitwise the same alone or in
// a batch.
//
// Layout: x is first rounded into a bfloat16 copy (rows padded with zeros to a multiple of 32).
// The product needs the two rows k, k+1 of a column of w side by side, so a unit packs a strip
// of w's columns into panels [K/2][32 columns][2] (for w[K, N], interleaving two rows with one
// `vpermt2w`; for w[N, K], whose pairs are its rows' 32-bit words, a 16 x 16 transpose of
// words in registers). The panels stay in L2 while register tiles of up to 12 rows x 32
// columns (24 accumulators, each x pair broadcast once) run down x.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__AVX512BF16__) && defined(__AVX512BW__)
#define JAXSERVE_HAS_BF16_DOT 1
#include <immintrin.h>
#endif

#include "xla_ffi_cpu.h"

namespace {

#if defined(JAXSERVE_HAS_BF16_DOT)

constexpr int kMR = 12;                // rows of a register tile: 24 accumulators of 32
constexpr int64_t kPanel = 32;         // columns of a panel (two 16-lane accumulators per row)
constexpr int64_t kStripPanels = 4;    // most panels (of 32 columns) a unit packs
constexpr int64_t kRowsPerUnit = 240;  // rows of one unit (a multiple of kMR)
constexpr int64_t kXAlign = 32;        // x's bfloat16 rows are padded to a multiple of this
constexpr int64_t kAhead = 16;         // rows of w prefetched ahead of the packing

inline int64_t RoundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// The first n lanes (none for n <= 0, all for n past the width).
inline __mmask16 Mask16(int64_t n) {
  return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
}
inline __mmask32 Mask32(int64_t n) {
  return n <= 0 ? 0 : n >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << n) - 1);
}

// xb[M][ldx] = bf16(x[M][K]), zero-padded: the same instruction rounds every element.
void RoundRows(const float* x, int64_t M, int64_t K, int64_t ldx, uint16_t* xb) {
  for (int64_t m = 0; m < M; ++m) {
    const float* src = x + m * K;
    uint16_t* dst = xb + m * ldx;
    for (int64_t k = 0; k < ldx; k += 32) {
      const __m512 lo = _mm512_maskz_loadu_ps(Mask16(K - k), src + k);
      const __m512 hi = _mm512_maskz_loadu_ps(Mask16(K - k - 16), src + k + 16);
      const __m512bh both = _mm512_cvtne2ps_pbh(hi, lo);
      _mm512_storeu_si512(dst + k, (__m512i)both);
    }
  }
}

struct Problem {
  int64_t M, K, N;
  const uint16_t* xb;  // [M][ldx]
  int64_t ldx;
  const uint16_t* w;
  float* out;
};

// ---- out = xb . w[K, N] ----

// vpermt2w indices interleaving rows a, b of 32 columns: [a0 b0 a1 b1 .. a15 b15] (kLo) and
// the same for columns 16..31 (kHi): the pairs (k, k+1) of each column, side by side.
inline __m512i InterleaveLo() {
  return _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7,
                          38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
}

// Columns n0..n1 of w as panels [K/2][32][2], one per 32 columns: row pairs side by side,
// zero-padded. One pass down k for the whole strip, so each row is read as one run.
void PackStrip(const Problem& p, int64_t n0, int64_t n1, int64_t panel_size, uint16_t* panels) {
  const __m512i lo = InterleaveLo(), hi = _mm512_add_epi16(lo, _mm512_set1_epi16(16));
  for (int64_t k = 0; k < p.K; k += 2) {
    const uint16_t* row = p.w + k * p.N;
    // Rows lie N * 2 bytes apart, often past a 4 KiB page: the hardware prefetcher does not
    // follow, so the rows kAhead further on are requested now, every line of their runs.
    if (k + kAhead + 1 < p.K) {
      for (int64_t n = n0; n < n1; n += 32) {
        _mm_prefetch(reinterpret_cast<const char*>(row + kAhead * p.N + n), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(row + (kAhead + 1) * p.N + n), _MM_HINT_T0);
      }
    }
    for (int64_t n = n0, i = 0; n < n1; n += kPanel, ++i) {
      const __mmask32 cols = Mask32(n1 - n);
      const __m512i a = _mm512_maskz_loadu_epi16(cols, row + n);
      const __m512i b =
          k + 1 < p.K ? _mm512_maskz_loadu_epi16(cols, row + p.N + n) : _mm512_setzero_si512();
      uint16_t* dst = panels + i * panel_size + k * kPanel;
      _mm512_storeu_si512(dst, _mm512_permutex2var_epi16(a, lo, b));
      _mm512_storeu_si512(dst + 32, _mm512_permutex2var_epi16(a, hi, b));
    }
  }
}

// ---- out = xb . w[N, K]^T ----
//
// The same panels and tiles: a panel's column j is row n0 + j of w, whose pairs (k, k+1) are
// its 32-bit words. Packing is a transpose of 32-bit words, 16 x 16 at a time in registers.

// t[c] = word c of rows v[0..15] (a 16 x 16 transpose of 32-bit words).
inline void Transpose16(__m512i v[16]) {
  __m512i a[16], b[16];
  for (int i = 0; i < 8; ++i) {  // per 128-bit lane L: rows 2i, 2i+1 of words 4L.. 4L+3
    a[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // b[4g + c], lane L: rows 4g..4g+3 of word 4L + c
    b[4 * g + 0] = _mm512_unpacklo_epi64(a[4 * g], a[4 * g + 2]);
    b[4 * g + 1] = _mm512_unpackhi_epi64(a[4 * g], a[4 * g + 2]);
    b[4 * g + 2] = _mm512_unpacklo_epi64(a[4 * g + 1], a[4 * g + 3]);
    b[4 * g + 3] = _mm512_unpackhi_epi64(a[4 * g + 1], a[4 * g + 3]);
  }
  for (int c = 0; c < 4; ++c) {  // gather lane L of the four row groups: word 4L + c
    const __m512i x0 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0x44);
    const __m512i x1 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0xEE);
    const __m512i y0 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0x44);
    const __m512i y1 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0xEE);
    v[c] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    v[4 + c] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
    v[8 + c] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    v[12 + c] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
  }
}

// Rows n0..n0+nc (at most kPanel) of w[N, K] as a panel [K/2][32][2], zero-padded.
void PackPanelTransposed(const Problem& p, int64_t n0, int64_t nc, uint16_t* panel) {
  const int64_t pairs = (p.K + 1) / 2;
  uint32_t* dst = reinterpret_cast<uint32_t*>(panel);  // [pairs][32] words
  for (int64_t half = 0; half < kPanel; half += 16) {
    for (int64_t kp = 0; kp < pairs; kp += 16) {
      const __mmask32 cols = Mask32(p.K - 2 * kp);  // bfloat16 elements left in these rows
      __m512i v[16];
      for (int r = 0; r < 16; ++r) {
        v[r] = half + r < nc ? _mm512_maskz_loadu_epi16(cols, p.w + (n0 + half + r) * p.K + 2 * kp)
                             : _mm512_setzero_si512();
      }
      Transpose16(v);
      for (int c = 0; c < 16 && kp + c < pairs; ++c) {
        _mm512_storeu_si512(dst + (kp + c) * kPanel + half, v[c]);
      }
    }
  }
}

// out rows m..m+MR, columns n..n+nc (<= 32) = xb rows . panel.
template <int MR>
inline void Tile(const Problem& p, const uint16_t* panel, int64_t m, int64_t n, int64_t nc) {
  __m512 c[MR][2];
  for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_ps();
  const uint16_t* a = p.xb + m * p.ldx;
  const int64_t pairs = (p.K + 1) / 2;
  for (int64_t kp = 0; kp < pairs; ++kp) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + kp * 2 * kPanel);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + kp * 2 * kPanel + 32);
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * p.ldx + 2 * kp, sizeof pair);
      const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
      c[r][0] = _mm512_dpbf16_ps(c[r][0], x, b0);
      c[r][1] = _mm512_dpbf16_ps(c[r][1], x, b1);
    }
  }
  const __mmask16 m0 = Mask16(nc), m1 = Mask16(nc - 16);
  for (int r = 0; r < MR; ++r) {
    float* dst = p.out + (m + r) * p.N + n;
    _mm512_mask_storeu_ps(dst, m0, c[r][0]);
    if (nc > 16) _mm512_mask_storeu_ps(dst + 16, m1, c[r][1]);
  }
}

// out rows m..m+MR, columns n..n+32*P (the last clipped at n1) = xb rows . w, interleaving
// w's row pairs in registers as they are read: for a lone row tile, a packed panel would be
// stored and read back once, extra traffic that halved the rate at which w streams. The
// products and their order are those of Tile: the same bits.
template <int MR, int P>
inline void TileDirect(const Problem& p, int64_t m, int64_t n, int64_t n1) {
  const __m512i lo = InterleaveLo(), hi = _mm512_add_epi16(lo, _mm512_set1_epi16(16));
  __m512 c[MR][2 * P];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < 2 * P; ++j) c[r][j] = _mm512_setzero_ps();
  __mmask32 cols[P];
  for (int i = 0; i < P; ++i) cols[i] = Mask32(n1 - n - i * kPanel);
  const uint16_t* a = p.xb + m * p.ldx;
  for (int64_t k = 0; k < p.K; k += 2) {
    const uint16_t* row = p.w + k * p.N + n;
    if (k + kAhead + 1 < p.K) {
      for (int i = 0; i < P; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(row + kAhead * p.N + i * kPanel), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(row + (kAhead + 1) * p.N + i * kPanel),
                     _MM_HINT_T0);
      }
    }
    __m512bh b[2 * P];
    for (int i = 0; i < P; ++i) {
      const __m512i r0 = _mm512_maskz_loadu_epi16(cols[i], row + i * kPanel);
      const __m512i r1 = k + 1 < p.K ? _mm512_maskz_loadu_epi16(cols[i], row + p.N + i * kPanel)
                                     : _mm512_setzero_si512();
      b[2 * i] = (__m512bh)_mm512_permutex2var_epi16(r0, lo, r1);
      b[2 * i + 1] = (__m512bh)_mm512_permutex2var_epi16(r0, hi, r1);
    }
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * p.ldx + k, sizeof pair);
      const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
      for (int j = 0; j < 2 * P; ++j) c[r][j] = _mm512_dpbf16_ps(c[r][j], x, b[j]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    float* dst = p.out + (m + r) * p.N + n;
    for (int j = 0; j < 2 * P; ++j) {
      const int64_t left = n1 - n - j * 16;
      if (left > 0) _mm512_mask_storeu_ps(dst + j * 16, Mask16(left), c[r][j]);
    }
  }
}

// Rows m..m+mr (at most kMR) of out, columns n0..n1, straight from w.
template <int MR>
void DirectRows(const Problem& p, int64_t m, int64_t n0, int64_t n1) {
  constexpr int P = MR <= 3 ? 4 : MR <= 6 ? 2 : 1;  // panels at once: <= 24 accumulators
  for (int64_t n = n0; n < n1; n += P * kPanel) TileDirect<MR, P>(p, m, n, n1);
}

// Rows m0..m1, columns n0..n1 of out, one packed panel at a time.
template <bool Transposed>
void Unit(const Problem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t panels = (n1 - n0 + kPanel - 1) / kPanel, panel_size = RoundUp(p.K, 2) * kPanel;
  // Panels go to a buffer the thread keeps between calls: a fresh one of this size would be
  // mapped, faulted in page by page and unmapped on every call.
  thread_local std::vector<uint16_t> scratch;
  if (scratch.size() < static_cast<size_t>(panels * panel_size + 32)) {
    scratch.resize(panels * panel_size + 32);
  }
  if constexpr (!Transposed) {
    if (m1 - m0 <= kMR) {
      switch (m1 - m0) {
        case 12: return DirectRows<12>(p, m0, n0, n1);
        case 11: return DirectRows<11>(p, m0, n0, n1);
        case 10: return DirectRows<10>(p, m0, n0, n1);
        case 9: return DirectRows<9>(p, m0, n0, n1);
        case 8: return DirectRows<8>(p, m0, n0, n1);
        case 7: return DirectRows<7>(p, m0, n0, n1);
        case 6: return DirectRows<6>(p, m0, n0, n1);
        case 5: return DirectRows<5>(p, m0, n0, n1);
        case 4: return DirectRows<4>(p, m0, n0, n1);
        case 3: return DirectRows<3>(p, m0, n0, n1);
        case 2: return DirectRows<2>(p, m0, n0, n1);
        default: return DirectRows<1>(p, m0, n0, n1);
      }
    }
  }
  if constexpr (Transposed) {
    for (int64_t i = 0; i < panels; ++i) {
      const int64_t n = n0 + i * kPanel, nc = std::min(kPanel, n1 - n);
      PackPanelTransposed(p, n, nc, scratch.data() + i * panel_size);
    }
  } else {
    PackStrip(p, n0, n1, panel_size, scratch.data());
  }
  for (int64_t m = m0; m < m1; m += kMR) {
    for (int64_t i = 0; i < panels; ++i) {
      const uint16_t* panel = scratch.data() + i * panel_size;
      const int64_t n = n0 + i * kPanel, nc = std::min(kPanel, n1 - n);
      switch (std::min<int64_t>(kMR, m1 - m)) {
        case 12: Tile<12>(p, panel, m, n, nc); break;
        case 11: Tile<11>(p, panel, m, n, nc); break;
        case 10: Tile<10>(p, panel, m, n, nc); break;
        case 9: Tile<9>(p, panel, m, n, nc); break;
        case 8: Tile<8>(p, panel, m, n, nc); break;
        case 7: Tile<7>(p, panel, m, n, nc); break;
        case 6: Tile<6>(p, panel, m, n, nc); break;
        case 5: Tile<5>(p, panel, m, n, nc); break;
        case 4: Tile<4>(p, panel, m, n, nc); break;
        case 3: Tile<3>(p, panel, m, n, nc); break;
        case 2: Tile<2>(p, panel, m, n, nc); break;
        default: Tile<1>(p, panel, m, n, nc); break;
      }
    }
  }
}

template <bool Transposed>
void Dispatch(const Problem& p, jaxserve_ffi::Pool& pool) {
  const int64_t threads = std::max<int64_t>(1, pool.NumThreads());
  // Column strips of at most kStripPanels panels, as many as a multiple of the threads, so
  // that the threads finish together; wide strips read w's rows in longer runs.
  const int64_t panels = (p.N + kPanel - 1) / kPanel;
  const int64_t want = threads * ((panels + threads * kStripPanels - 1) / (threads * kStripPanels));
  const int64_t strip = (panels + want - 1) / want * kPanel;
  const int64_t strips = (p.N + strip - 1) / strip;
  const int64_t row_units = (p.M + kRowsPerUnit - 1) / kRowsPerUnit;
  jaxserve_ffi::ParallelFor(strips * row_units, pool, [&p, strip, strips]() {
    return [&p, strip, strips](int64_t unit) {
      const int64_t n0 = (unit % strips) * strip, n1 = std::min(p.N, n0 + strip);
      const int64_t m0 = (unit / strips) * kRowsPerUnit, m1 = std::min(p.M, m0 + kRowsPerUnit);
      Unit<Transposed>(p, m0, m1, n0, n1);
    };
  });
}

// x rounded to bfloat16 in a buffer the calling thread keeps between calls (a fresh one would
// be page-faulted in on every call); workers get the pointer.
const uint16_t* RoundedX(const float* x, int64_t M, int64_t K, int64_t ldx) {
  thread_local std::vector<uint16_t> buffer;
  buffer.resize(M * ldx);
  RoundRows(x, M, K, ldx, buffer.data());
  return buffer.data();
}

#endif  // JAXSERVE_HAS_BF16_DOT

constexpr const char* kNoBf16 =
    "this kernel was compiled for a CPU without AVX512_BF16 and AVX512BW (vdpbf16ps)";

std::string CheckFloat32(const XLA_FFI_Buffer* x, const XLA_FFI_Buffer* out) {
  if (x->dtype != XLA_FFI_DataType_F32 || out->dtype != XLA_FFI_DataType_F32) {
    return "x and out must be float32";
  }
  return "";
}

// (x f32[M, K], w bf16[L, K, N], layer s32[]) -> out f32[M, N] = bf16(x) . w[layer].
std::string Run(XLA_FFI_CallFrame* frame) {
  const XLA_FFI_Buffer* x = jaxserve_ffi::BufferArg(frame, 0);
  const XLA_FFI_Buffer* w = jaxserve_ffi::BufferArg(frame, 1);
  const XLA_FFI_Buffer* layer = jaxserve_ffi::BufferArg(frame, 2);
  const XLA_FFI_Buffer* out = jaxserve_ffi::BufferRet(frame, 0);
  if (!x || !w || !layer || !out || frame->args.size != 3 || frame->rets.size != 1) {
    return "expected 3 buffer arguments (x, w, layer) and 1 buffer result";
  }
  if (x->rank != 2 || w->rank != 3 || out->rank != 2 || layer->rank != 0) {
    return "expected x[M, K], w[L, K, N], a scalar layer and out[M, N]";
  }
  if (x->dims[1] != w->dims[1] || out->dims[0] != x->dims[0] || out->dims[1] != w->dims[2]) {
    return "shapes must be x[M, K], w[L, K, N], out[M, N]";
  }
  if (std::string error = CheckFloat32(x, out); !error.empty()) return error;
  if (w->dtype != XLA_FFI_DataType_BF16) return "w must be bfloat16";
  if (layer->dtype != XLA_FFI_DataType_S32) return "layer must be int32";
  const int64_t l = *static_cast<const int32_t*>(layer->data);
  if (l < 0 || l >= w->dims[0]) return "layer is out of range of w's leading axis";
#if defined(JAXSERVE_HAS_BF16_DOT)
  const int64_t M = x->dims[0], K = w->dims[1], N = w->dims[2];
  if (M == 0 || N == 0) return "";
  if (K == 0) {
    std::memset(out->data, 0, M * N * sizeof(float));
    return "";
  }
  const int64_t ldx = RoundUp(K, kXAlign);
  const Problem p{M, K, N, RoundedX(static_cast<const float*>(x->data), M, K, ldx), ldx,
                  static_cast<const uint16_t*>(w->data) + l * K * N,
                  static_cast<float*>(out->data)};
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  Dispatch<false>(p, pool);
  return "";
#else
  return kNoBf16;
#endif
}

// (x f32[M, K], w bf16[N, K]) -> out f32[M, N] = bf16(x) . w^T.
std::string RunTransposed(XLA_FFI_CallFrame* frame) {
  const XLA_FFI_Buffer* x = jaxserve_ffi::BufferArg(frame, 0);
  const XLA_FFI_Buffer* w = jaxserve_ffi::BufferArg(frame, 1);
  const XLA_FFI_Buffer* out = jaxserve_ffi::BufferRet(frame, 0);
  if (!x || !w || !out || frame->args.size != 2 || frame->rets.size != 1) {
    return "expected 2 buffer arguments (x, w) and 1 buffer result";
  }
  if (x->rank != 2 || w->rank != 2 || out->rank != 2 || x->dims[1] != w->dims[1] ||
      out->dims[0] != x->dims[0] || out->dims[1] != w->dims[0]) {
    return "shapes must be x[M, K], w[N, K], out[M, N]";
  }
  if (std::string error = CheckFloat32(x, out); !error.empty()) return error;
  if (w->dtype != XLA_FFI_DataType_BF16) return "w must be bfloat16";
#if defined(JAXSERVE_HAS_BF16_DOT)
  const int64_t M = x->dims[0], K = x->dims[1], N = w->dims[0];
  if (M == 0 || N == 0) return "";
  if (K == 0) {
    std::memset(out->data, 0, M * N * sizeof(float));
    return "";
  }
  const int64_t ldx = RoundUp(K, kXAlign);
  const Problem p{M, K, N, RoundedX(static_cast<const float*>(x->data), M, K, ldx), ldx,
                  static_cast<const uint16_t*>(w->data), static_cast<float*>(out->data)};
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  Dispatch<true>(p, pool);
  return "";
#else
  return kNoBf16;
#endif
}

}  // namespace

extern "C" XLA_FFI_Error* JaxserveMatmulBf16(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, Run);
}

extern "C" XLA_FFI_Error* JaxserveMatmulBf16Transposed(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, RunTransposed);
}
