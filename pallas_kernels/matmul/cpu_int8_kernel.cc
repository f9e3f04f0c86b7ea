// Weight-only int8 matmul for CPUs with AVX-512, as XLA FFI custom calls:
//   out[M, N] = (x[M, K] . W[layer]) * scale[layer]
// x is float32 or bfloat16, out float32. W is int8 with one float32 scale per output column,
// packed once when the model loads (`cpu_int8.pack`) into panels of 32 columns,
// [L][N/32][K/2][32][2]: the pairs (k, k+1) of each column side by side, rows padded to an
// even count and columns to 32 with zeros; scale is [L][N/32 * 32].
//
// A decode step of a few rows is bound by the rate memory delivers the weights, and int8 is
// half the bytes of bfloat16. Each weight is widened exactly and the column scale multiplies
// each sum once at the end. Three ways to multiply:
//   JaxserveMatmulInt8: float32 products. x (bfloat16 widened exactly) is broadcast a pair
//     (x[k], x[k+1]) at a time and multiplied by FMA into per-row accumulators whose even
//     lanes sum the even k and odd lanes the odd k; each sum is even + odd at the end.
//   JaxserveMatmulInt8Bf16 (AVX512_BF16): x rounded to bfloat16 (to nearest even, as
//     `cpu_bf16` does), each widened weight pair narrowed to bfloat16 (exact: |w| <= 127),
//     and pairs of products summed in float32 by `vdpbf16ps`: the products are exact, and
//     one instruction does twice the products of an FMA, which bounds a step of 4 or more rows.
//   JaxserveMatmulInt8Int16 (AVX512_VNNI): each row of x quantized to int16 with its own scale,
//     s = max|x[m]| / 32767, x_q = round(x / s) (finer than bfloat16's 8 bits wherever an
//     element is above 1/256 of the row's largest); each weight pair sign-extended to int16 by
//     one vpmovsxbw, and pairs of products summed exactly in int32 by `vpdpwssd`: two
//     instructions per 32 weights where bfloat16 products take five, so that a step of one row
//     streams int8 weights as fast as memory delivers them. The int32 sums move into float32
//     every kFlushPairs pairs, before they could overflow; the result is sum * s * scale.
// A register tile covers MR rows and NP adjacent panels: few rows take several panels, so
// that enough independent accumulators hide the latency; many rows reuse each widened weight.
//
// Summation order: each output element is fixed by K alone (its lanes add their products in
// k order from zero), whatever M, the tile's shape or the thread: a row's result is bitwise
// the same alone or in a batch.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#define JAXSERVE_HAS_AVX512 1
#include <immintrin.h>
#if defined(__AVX512BF16__)
#define JAXSERVE_HAS_BF16_DOT 1
#endif
#if defined(__AVX512VNNI__)
#define JAXSERVE_HAS_VNNI 1
#endif
#endif

#include "xla_ffi_cpu.h"

namespace {

constexpr int64_t kPanel = 32;  // columns of a panel (two 16-lane accumulators per row)

enum class Products { kFloat32, kBfloat16, kInt16 };  // how x and the weights are multiplied

#if defined(JAXSERVE_HAS_AVX512)

constexpr int64_t kStripPanels = 4;    // most panels of one unit
constexpr int64_t kRowsPerUnit = 240;  // rows of one unit
constexpr int64_t kXAlign = 32;        // bfloat16 and int16 rows of x are padded to this
// Int16 products: |x_q| <= 32767 and |w| <= 128, so a lane's two products of a pair add at
// most 2 * 32767 * 128 = 8,388,352 to its int32 sum, and 256 pairs at most 2,147,418,112,
// under 2^31 - 1 = 2,147,483,647: a sum of 256 pairs is exact, never wrapped.
constexpr int64_t kFlushPairs = 256;
// Int16 products fetch each panel this many bytes (32 pairs) ahead into L1: their arithmetic
// is short enough that a tile of 4 rows waits on memory without it (gate_up [4, 576] .
// [576, 3072] over 30 layers, two threads: 22 GB/s of weights without, 28 with; 1 row and 16
// or 64 rows are no slower).
constexpr int64_t kPrefetchAhead = 2048;
constexpr float kInt16Max = 32767.0f;  // x_q's bound (not 32768: the bound above needs it)

inline int64_t RoundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

inline __mmask16 Mask16(int64_t n) {
  return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
}

struct Problem {
  int64_t M, K, N;
  const void* x;  // float32 [M][K]; bfloat16 (kBfloat16) or int16 (kInt16) [M][ldx], zero-padded
  int64_t ldx;
  const float* row_scale;  // kInt16: s of each row of x, [M]
  const int8_t* w;     // this layer's panels, [N/32][K/2][32][2]
  int64_t pairs;       // K/2, rounded up
  const float* scale;  // this layer's scales, [N/32 * 32]
  float* out;          // [M][N]
};

// 16 int8 weights widened to float32, exactly.
inline __m512 Widen16(const int8_t* src) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)src)));
}

// Columns n..n+nc (<= 32) of out row m: the sums lo (columns n..n+15), hi, times the scales.
inline void StoreRow(const Problem& p, int64_t m, int64_t n, int64_t nc, __m512 lo, __m512 hi) {
  float* dst = p.out + m * p.N + n;
  _mm512_mask_storeu_ps(dst, Mask16(nc), _mm512_mul_ps(lo, _mm512_loadu_ps(p.scale + n)));
  if (nc > 16) {
    const __m512 s = _mm512_loadu_ps(p.scale + n + 16);
    _mm512_mask_storeu_ps(dst + 16, Mask16(nc - 16), _mm512_mul_ps(hi, s));
  }
}

// Float32 products: out rows m..m+MR, panels j..j+NP (columns up to n1). Accumulator v of a
// panel holds columns 8v..8v+7, each as (even k, odd k) lanes.
template <int MR, int NP>
inline void TileF32(const Problem& p, int64_t m, int64_t j, int64_t n1) {
  __m512 c[MR][NP][4];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NP; ++q)
      for (int v = 0; v < 4; ++v) c[r][q][v] = _mm512_setzero_ps();
  const float* a = static_cast<const float*>(p.x) + m * p.K;
  auto step = [&](int64_t kp, auto tail) {  // tail: k + 1 == K, whose pair is (x[k], 0)
    __m512 b[NP][4];
    for (int q = 0; q < NP; ++q)
      for (int v = 0; v < 4; ++v) b[q][v] = Widen16(p.w + ((j + q) * p.pairs + kp) * 64 + 16 * v);
    for (int r = 0; r < MR; ++r) {
      uint64_t pair = 0;
      std::memcpy(&pair, a + r * p.K + 2 * kp, decltype(tail)::value ? 4 : 8);
      const __m512 xv = _mm512_castsi512_ps(_mm512_set1_epi64(static_cast<int64_t>(pair)));
      for (int q = 0; q < NP; ++q)
        for (int v = 0; v < 4; ++v) c[r][q][v] = _mm512_fmadd_ps(xv, b[q][v], c[r][q][v]);
    }
  };
  const int64_t whole = p.K / 2;
  for (int64_t kp = 0; kp < whole; ++kp) step(kp, std::false_type{});
  if (whole < p.pairs) step(whole, std::true_type{});
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int q = 0; q < NP; ++q) {
    const int64_t n = (j + q) * kPanel, nc = std::min(kPanel, n1 - n);
    for (int r = 0; r < MR; ++r) {
      __m512 half[2];
      for (int h = 0; h < 2; ++h) {
        const __m512 lo = c[r][q][2 * h], hi = c[r][q][2 * h + 1];
        half[h] = _mm512_add_ps(_mm512_permutex2var_ps(lo, even, hi),
                                _mm512_permutex2var_ps(lo, odd, hi));
      }
      StoreRow(p, m + r, n, nc, half[0], half[1]);
    }
  }
}

#if defined(JAXSERVE_HAS_BF16_DOT)
// Bfloat16 products: out rows m..m+MR, panels j..j+NP (columns up to n1).
template <int MR, int NP>
inline void TileBf16(const Problem& p, int64_t m, int64_t j, int64_t n1) {
  __m512 c[MR][NP][2];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NP; ++q) c[r][q][0] = c[r][q][1] = _mm512_setzero_ps();
  const uint16_t* a = static_cast<const uint16_t*>(p.x) + m * p.ldx;
  for (int64_t kp = 0; kp < p.pairs; ++kp) {
    __m512bh b[NP][2];
    for (int q = 0; q < NP; ++q) {
      const int8_t* src = p.w + ((j + q) * p.pairs + kp) * 64;
      for (int h = 0; h < 2; ++h) {  // columns 16h..16h+15, as (k, k + 1) pairs
        b[q][h] = _mm512_cvtne2ps_pbh(Widen16(src + 32 * h + 16), Widen16(src + 32 * h));
      }
    }
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * p.ldx + 2 * kp, sizeof pair);
      const __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
      for (int q = 0; q < NP; ++q) {
        c[r][q][0] = _mm512_dpbf16_ps(c[r][q][0], xv, b[q][0]);
        c[r][q][1] = _mm512_dpbf16_ps(c[r][q][1], xv, b[q][1]);
      }
    }
  }
  for (int q = 0; q < NP; ++q) {
    const int64_t n = (j + q) * kPanel, nc = std::min(kPanel, n1 - n);
    for (int r = 0; r < MR; ++r) StoreRow(p, m + r, n, nc, c[r][q][0], c[r][q][1]);
  }
}
#endif  // JAXSERVE_HAS_BF16_DOT

#if defined(JAXSERVE_HAS_VNNI)
// acc += a . b, pair by pair (`vpdpwssd`), in place: through the intrinsic GCC 12 copies each
// accumulator of a tile of 24 to a fresh register and spills half of them on every pair.
inline __m512i DotInt16(__m512i acc, __m512i a, __m512i b) {
  asm("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

// Int16 products of pairs k0..k1 (at most kFlushPairs) of rows m..m+MR of x_q and panels
// j..j+NP, added to the float32 `sums`. Lane i of accumulator h of a panel sums column
// 16h + i's pairs (x_q[k] w[k] + x_q[k+1] w[k+1]) in int32, exactly (see kFlushPairs).
template <int MR, int NP>
inline void BlockInt16(const Problem& p, int64_t m, int64_t j, int64_t k0, int64_t k1,
                       float (*sums)[NP][2][16]) {
  const int16_t* a = static_cast<const int16_t*>(p.x) + m * p.ldx;
  __m512i c[MR][NP][2];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NP; ++q) c[r][q][0] = c[r][q][1] = _mm512_setzero_si512();
  for (int64_t kp = k0; kp < k1; ++kp) {
    __m512i b[NP][2];
    for (int q = 0; q < NP; ++q) {
      const int8_t* src = p.w + ((j + q) * p.pairs + kp) * 64;
      _mm_prefetch((const char*)src + kPrefetchAhead, _MM_HINT_T0);
      for (int h = 0; h < 2; ++h) {  // columns 16h..16h+15, as (k, k + 1) pairs
        b[q][h] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)(src + 32 * h)));
      }
    }
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * p.ldx + 2 * kp, sizeof pair);
      const __m512i xv = _mm512_set1_epi32(pair);
      for (int q = 0; q < NP; ++q) {
        c[r][q][0] = DotInt16(c[r][q][0], xv, b[q][0]);
        c[r][q][1] = DotInt16(c[r][q][1], xv, b[q][1]);
      }
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NP; ++q)
      for (int h = 0; h < 2; ++h) {
        const __m512 sum = _mm512_cvtepi32_ps(c[r][q][h]);
        _mm512_store_ps(sums[r][q][h], _mm512_add_ps(_mm512_load_ps(sums[r][q][h]), sum));
      }
}

// Int16 products: out rows m..m+MR, panels j..j+NP (columns up to n1), one block of
// kFlushPairs pairs at a time, the blocks summed in float32, times each row's scale.
template <int MR, int NP>
inline void TileInt16(const Problem& p, int64_t m, int64_t j, int64_t n1) {
  alignas(64) float sums[MR][NP][2][16] = {};
  for (int64_t k0 = 0; k0 < p.pairs; k0 += kFlushPairs) {
    BlockInt16<MR, NP>(p, m, j, k0, std::min(p.pairs, k0 + kFlushPairs), sums);
  }
  for (int q = 0; q < NP; ++q) {
    const int64_t n = (j + q) * kPanel, nc = std::min(kPanel, n1 - n);
    for (int r = 0; r < MR; ++r) {
      const __m512 s = _mm512_set1_ps(p.row_scale[m + r]);
      StoreRow(p, m + r, n, nc, _mm512_mul_ps(_mm512_load_ps(sums[r][q][0]), s),
               _mm512_mul_ps(_mm512_load_ps(sums[r][q][1]), s));
    }
  }
}
#endif  // JAXSERVE_HAS_VNNI

// Register budget (32 vectors) of a tile: most rows, and panels for MR rows.
template <Products P>
struct Shape;
template <>
struct Shape<Products::kFloat32> {  // MR * NP * 4 accumulators, NP * 4 weights, one x
  static constexpr int kMaxRows = 6;
  static constexpr int Panels(int mr) { return mr == 1 ? 3 : mr == 2 ? 2 : 1; }
};
template <>
struct Shape<Products::kBfloat16> {  // MR * NP * 2 accumulators, NP * 2 weights, one x
  static constexpr int kMaxRows = 12;
  static constexpr int Panels(int mr) { return mr <= 2 ? 4 : mr == 3 ? 3 : mr <= 6 ? 2 : 1; }
};

template <>
struct Shape<Products::kInt16> : Shape<Products::kBfloat16> {};  // int32 accumulators, alike

template <Products P, int MR, int NP>
inline void Tile(const Problem& p, int64_t m, int64_t j, int64_t n1) {
  if constexpr (P == Products::kFloat32) {
    TileF32<MR, NP>(p, m, j, n1);
  } else if constexpr (P == Products::kBfloat16) {
#if defined(JAXSERVE_HAS_BF16_DOT)
    TileBf16<MR, NP>(p, m, j, n1);
#endif
  } else {
#if defined(JAXSERVE_HAS_VNNI)
    TileInt16<MR, NP>(p, m, j, n1);
#endif
  }
}

// Rows m..m+MR over columns n0..n1 (whole panels but the last), NP panels at a time.
template <Products P, int MR>
void RowTile(const Problem& p, int64_t m, int64_t n0, int64_t n1) {
  constexpr int NP = Shape<P>::Panels(MR);
  const int64_t j1 = (n1 + kPanel - 1) / kPanel;
  int64_t j = n0 / kPanel;
  for (; j + NP <= j1; j += NP) Tile<P, MR, NP>(p, m, j, n1);
  switch (j1 - j) {  // the panels left over: fewer than NP
    case 3: if constexpr (NP > 3) Tile<P, MR, 3>(p, m, j, n1); break;
    case 2: if constexpr (NP > 2) Tile<P, MR, 2>(p, m, j, n1); break;
    case 1: if constexpr (NP > 1) Tile<P, MR, 1>(p, m, j, n1); break;
    default: break;
  }
}

using RowTileFn = void (*)(const Problem&, int64_t, int64_t, int64_t);

template <Products P, int... MR>
constexpr std::array<RowTileFn, sizeof...(MR)> RowTiles(std::integer_sequence<int, MR...>) {
  return {RowTile<P, MR + 1>...};
}

// Rows m0..m1, columns n0..n1 of out: tiles of even height (16 rows of bfloat16 products: two
// of 8), each over the columns, so a tile of many rows widens each weight once for all of them.
template <Products P>
void Unit(const Problem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  constexpr int kMaxRows = Shape<P>::kMaxRows;
  static constexpr auto tiles_of = RowTiles<P>(std::make_integer_sequence<int, kMaxRows>{});
  const int64_t rows = m1 - m0, tiles = (rows + kMaxRows - 1) / kMaxRows;
  for (int64_t t = 0, m = m0; t < tiles; ++t) {
    const int64_t height = (rows - (m - m0) + (tiles - t) - 1) / (tiles - t);
    tiles_of[height - 1](p, m, n0, n1);
    m += height;
  }
}

template <Products P>
void Dispatch(const Problem& p, jaxserve_ffi::Pool& pool) {
  const int64_t threads = std::max<int64_t>(1, pool.NumThreads());
  // Column strips of at most kStripPanels panels, as many as a multiple of the threads, so
  // that the threads finish together.
  const int64_t panels = (p.N + kPanel - 1) / kPanel;
  const int64_t want = threads * ((panels + threads * kStripPanels - 1) / (threads * kStripPanels));
  const int64_t strip = (panels + want - 1) / want * kPanel;
  const int64_t strips = (p.N + strip - 1) / strip;
  const int64_t row_units = (p.M + kRowsPerUnit - 1) / kRowsPerUnit;
  // A decode step of up to 16 sequences streams the weights in tens of microseconds:
  // latency-bound, so the team's awake threads share them (see jaxserve_ffi::ParallelFor).
  const bool latency_bound = p.M <= 16;
  jaxserve_ffi::ParallelFor(
      strips * row_units, pool,
      [&p, strip, strips]() {
        return [&p, strip, strips](int64_t unit) {
          const int64_t n0 = (unit % strips) * strip, n1 = std::min(p.N, n0 + strip);
          const int64_t m0 = (unit / strips) * kRowsPerUnit, m1 = std::min(p.M, m0 + kRowsPerUnit);
          Unit<P>(p, m0, m1, n0, n1);
        };
      },
      latency_bound);
}

// x as bfloat16 rows [M][ldx], zero-padded, in a buffer the calling thread keeps between calls
// (a fresh one would be page-faulted in on every call); workers get the pointer. float32 x is
// rounded to nearest even, by one instruction for every element as `cpu_bf16` rounds it.
const uint16_t* Bf16Rows(const XLA_FFI_Buffer* x, int64_t M, int64_t K, int64_t ldx) {
  thread_local std::vector<uint16_t> buffer;
  buffer.assign(M * ldx, 0);
  for (int64_t m = 0; m < M; ++m) {
    uint16_t* dst = buffer.data() + m * ldx;
    if (x->dtype == XLA_FFI_DataType_BF16) {
      std::memcpy(dst, static_cast<const uint16_t*>(x->data) + m * K, K * sizeof(uint16_t));
      continue;
    }
#if defined(JAXSERVE_HAS_BF16_DOT)
    const float* src = static_cast<const float*>(x->data) + m * K;
    for (int64_t k = 0; k < ldx; k += 32) {
      const __m512 lo = _mm512_maskz_loadu_ps(Mask16(K - k), src + k);
      const __m512 hi = _mm512_maskz_loadu_ps(Mask16(K - k - 16), src + k + 16);
      _mm512_storeu_si512(dst + k, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
#endif
  }
  return buffer.data();
}

#if defined(JAXSERVE_HAS_VNNI)
// 16 elements k..k+15 of a float32 or bfloat16 row (bfloat16 widened exactly), zeros past K.
inline __m512 Load16(const void* row, bool bf16, int64_t k, int64_t K) {
  const __mmask16 mask = Mask16(K - k);
  if (!bf16) return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(row) + k);
  const __m256i h = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(row) + k);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// x quantized row by row to int16 [M][ldx], zero-padded, with each row's scale s in [M]:
// x_q = round(x * (32767 / max|x|)) (to nearest even), s = max|x| / 32767. A row of zeros has
// s = 0; a row with an infinity or a NaN has x_q = 0 and s = NaN, so its results are NaN.
// Buffers kept by the calling thread, as `Bf16Rows`.
std::pair<const int16_t*, const float*> Int16Rows(const XLA_FFI_Buffer* x, int64_t M, int64_t K,
                                                  int64_t ldx) {
  thread_local std::vector<int16_t> rows;
  thread_local std::vector<float> scales;
  rows.assign(M * ldx, 0);
  scales.resize(M);
  const bool bf16 = x->dtype == XLA_FFI_DataType_BF16;
  const int64_t bytes = bf16 ? 2 : 4;
  for (int64_t m = 0; m < M; ++m) {
    const void* src = static_cast<const char*>(x->data) + m * K * bytes;
    __m512 top = _mm512_setzero_ps();
    __mmask16 unordered = 0;
    for (int64_t k = 0; k < K; k += 16) {
      const __m512 v = Load16(src, bf16, k, K);
      top = _mm512_max_ps(top, _mm512_abs_ps(v));
      unordered |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    }
    const float max = _mm512_reduce_max_ps(top);
    if (unordered || max > std::numeric_limits<float>::max()) {
      scales[m] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    scales[m] = max / kInt16Max;
    if (max == 0) continue;
    const __m512 inv = _mm512_set1_ps(kInt16Max / max);
    int16_t* dst = rows.data() + m * ldx;
    for (int64_t k = 0; k < K; k += 16) {
      const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(Load16(src, bf16, k, K), inv));
      _mm256_storeu_si256((__m256i*)(dst + k), _mm512_cvtsepi32_epi16(q));
    }
  }
  return {rows.data(), scales.data()};
}
#endif  // JAXSERVE_HAS_VNNI

// The rows of x but a trailing run of copies of its last row: a decode step pads its rows to
// a bucket with identical rows (one sequence decodes as 4 rows, 3 of them the same padding).
// Their results are bitwise those of the row they copy (a row's result does not depend on the
// rows beside it), so they are computed once and copied: half the products of a one-sequence
// step, which at 4 rows bound int16 products as much as memory does.
int64_t DistinctRows(const XLA_FFI_Buffer* x, int64_t M, int64_t K) {
  const size_t bytes = K * (x->dtype == XLA_FFI_DataType_BF16 ? 2 : 4);
  const char* last = static_cast<const char*>(x->data) + (M - 1) * bytes;
  int64_t rows = M;
  while (rows > 1 && std::memcmp(last - (M - rows + 1) * bytes, last, bytes) == 0) --rows;
  return rows;
}

// bfloat16 x widened to float32 (exact), in a buffer kept as above.
const float* WidenedX(const uint16_t* x, int64_t size) {
  thread_local std::vector<float> buffer;
  buffer.resize(size);
  for (int64_t i = 0; i < size; ++i) {
    const uint32_t bits = static_cast<uint32_t>(x[i]) << 16;
    std::memcpy(&buffer[i], &bits, sizeof bits);
  }
  return buffer.data();
}

#endif  // JAXSERVE_HAS_AVX512

constexpr const char* kNoAvx512 =
    "this kernel was compiled for a CPU without AVX512F and AVX512BW";
constexpr const char* kNoBf16 =
    "bfloat16 products need AVX512_BF16 (vdpbf16ps), which this kernel was compiled without";
constexpr const char* kNoVnni =
    "int16 products need AVX512_VNNI (vpdpwssd), which this kernel was compiled without";

// (x f32|bf16[M, K], w s8[L, N/32, K/2, 64], scale f32[L, N/32 * 32], layer s32[])
//   -> out f32[M, N] = (x . W[layer]) * scale[layer].
std::string Run(XLA_FFI_CallFrame* frame, Products products) {
  const XLA_FFI_Buffer* x = jaxserve_ffi::BufferArg(frame, 0);
  const XLA_FFI_Buffer* w = jaxserve_ffi::BufferArg(frame, 1);
  const XLA_FFI_Buffer* scale = jaxserve_ffi::BufferArg(frame, 2);
  const XLA_FFI_Buffer* layer = jaxserve_ffi::BufferArg(frame, 3);
  const XLA_FFI_Buffer* out = jaxserve_ffi::BufferRet(frame, 0);
  if (!x || !w || !scale || !layer || !out || frame->args.size != 4 || frame->rets.size != 1) {
    return "expected 4 buffer arguments (x, w, scale, layer) and 1 buffer result";
  }
  if (x->rank != 2 || w->rank != 4 || scale->rank != 2 || out->rank != 2 || layer->rank != 0) {
    return "expected x[M, K], packed w[L, N/32, K/2, 64], scale[L, N/32 * 32], a scalar layer "
           "and out[M, N]";
  }
  const int64_t M = x->dims[0], K = x->dims[1], N = out->dims[1];
  const int64_t panels = (N + kPanel - 1) / kPanel, pairs = (K + 1) / 2;
  if (out->dims[0] != M || w->dims[1] != panels || w->dims[2] != pairs ||
      w->dims[3] != 2 * kPanel || scale->dims[0] != w->dims[0] ||
      scale->dims[1] != panels * kPanel) {
    return "shapes must be x[M, K], packed w[L, ceil(N/32), ceil(K/2), 64], "
           "scale[L, ceil(N/32) * 32], out[M, N]";
  }
  if (x->dtype != XLA_FFI_DataType_F32 && x->dtype != XLA_FFI_DataType_BF16) {
    return "x must be float32 or bfloat16";
  }
  if (out->dtype != XLA_FFI_DataType_F32 || scale->dtype != XLA_FFI_DataType_F32) {
    return "scale and out must be float32";
  }
  if (w->dtype != XLA_FFI_DataType_S8) return "w must be int8";
  if (layer->dtype != XLA_FFI_DataType_S32) return "layer must be int32";
  const int64_t l = *static_cast<const int32_t*>(layer->data);
  if (l < 0 || l >= w->dims[0]) return "layer is out of range of w's leading axis";
#if defined(JAXSERVE_HAS_AVX512)
#if !defined(JAXSERVE_HAS_BF16_DOT)
  if (products == Products::kBfloat16) return kNoBf16;
#endif
#if !defined(JAXSERVE_HAS_VNNI)
  if (products == Products::kInt16) return kNoVnni;
#endif
  if (M == 0 || N == 0) return "";
  if (K == 0) {
    std::memset(out->data, 0, M * N * sizeof(float));
    return "";
  }
  const int64_t rows = DistinctRows(x, M, K);  // out rows rows..M copy row rows - 1
  Problem p{rows, K, N, x->data, K, nullptr,
            static_cast<const int8_t*>(w->data) + l * panels * pairs * 64, pairs,
            static_cast<const float*>(scale->data) + l * panels * kPanel,
            static_cast<float*>(out->data)};
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  if (products == Products::kInt16) {
#if defined(JAXSERVE_HAS_VNNI)
    p.ldx = RoundUp(K, kXAlign);
    std::tie(p.x, p.row_scale) = Int16Rows(x, rows, K, p.ldx);
    Dispatch<Products::kInt16>(p, pool);
#endif
  } else if (products == Products::kBfloat16) {
    p.ldx = RoundUp(K, kXAlign);
    p.x = Bf16Rows(x, rows, K, p.ldx);
    Dispatch<Products::kBfloat16>(p, pool);
  } else {
    if (x->dtype == XLA_FFI_DataType_BF16) {
      p.x = WidenedX(static_cast<const uint16_t*>(x->data), rows * K);
    }
    Dispatch<Products::kFloat32>(p, pool);
  }
  float* result = static_cast<float*>(out->data);
  for (int64_t m = rows; m < M; ++m) {
    std::memcpy(result + m * N, result + (rows - 1) * N, N * sizeof(float));
  }
  return "";
#else
  return kNoAvx512;
#endif
}

}  // namespace

extern "C" XLA_FFI_Error* JaxserveMatmulInt8(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, [](XLA_FFI_CallFrame* f) { return Run(f, Products::kFloat32); });
}

extern "C" XLA_FFI_Error* JaxserveMatmulInt8Bf16(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame,
                              [](XLA_FFI_CallFrame* f) { return Run(f, Products::kBfloat16); });
}

extern "C" XLA_FFI_Error* JaxserveMatmulInt8Int16(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, [](XLA_FFI_CallFrame* f) { return Run(f, Products::kInt16); });
}
