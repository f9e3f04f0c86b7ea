// Dense matmul for CPU as an XLA FFI custom call: out[M, N] = x[M, K] . w[layer][K, N], float32
// activations and accumulation, weights float32 or bfloat16 (widened exactly as they are read).
//
// Why a native kernel: a bfloat16 checkpoint can then keep its weights in bfloat16, half the
// bytes a decode step streams from memory, while computing exactly what float32 weights would;
// XLA widens them into a float32 copy on every call instead.
//
// Summation order: K is cut into at most kGroups groups of whole 16-row bands. Each output
// element is the sum, in group order, of per-group dot products, each summed in k order.
// Both paths below keep that order, so a row's result is bitwise the same whatever M is and
// however the work lands on threads: a sequence's logits do not depend on its batch.
//
// Small M (decode steps): a unit is one group; it streams the group's rows of w 16 at a time
// (16 sequential streams that the hardware prefetcher follows) into its own [M, N] partial
// sums, which the caller adds up in group order. Larger M: a unit packs a strip of w's columns
// into float32 panels [K][16] (L2-resident), then runs 6 x 16 register tiles down the rows,
// group by group, adding each group's tile into the output.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__FMA__)
#include <immintrin.h>
#endif

#include "xla_ffi_cpu.h"

namespace {

typedef float V8 __attribute__((vector_size(32)));
typedef uint16_t U16x8 __attribute__((vector_size(16)));
typedef uint32_t U32x8 __attribute__((vector_size(32)));

constexpr int64_t kBand = 16;          // rows of w streamed together on the small-M path
constexpr int64_t kGroups = 8;         // most groups K is cut into (see the top)
constexpr int64_t kTileRows = 6;       // rows of a register tile; M up to this is "small"
constexpr int64_t kStrip = 64;         // widest column strip a unit packs
constexpr int64_t kRowsPerUnit = 192;  // rows of one unit on the packed path

inline V8 Load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline V8 Load8(const uint16_t* p) {  // 8 bfloat16 -> 8 float32, exactly
  U16x8 h;
  std::memcpy(&h, p, sizeof h);
  const U32x8 bits = __builtin_convertvector(h, U32x8) << 16;
  V8 v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

inline float Widen(float x) { return x; }

inline float Widen(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

struct Problem {
  int64_t M, K, N;
  const float* x;
  const void* w;
  float* out;

  int64_t Groups() const { return std::min(kGroups, (K + kBand - 1) / kBand); }
  // Rows [begin, end) of w in group g: whole bands, spread evenly.
  int64_t GroupBegin(int64_t g) const {
    const int64_t bands = (K + kBand - 1) / kBand;
    return std::min(K, g * bands / Groups() * kBand);
  }
};

// ---- Small M: stream w's rows ----

// acc[MR, N] += x[:, k0:k1] . w[k0:k1, :] (= if `first`: acc need not be initialized), 16
// columns at a time; each column block walks the rows k0..k1 (at most kBand of them) in order.
template <int MR, typename W>
void SmallBand(const Problem& p, int64_t k0, int64_t k1, bool first, float* acc) {
  const W* w = static_cast<const W*>(p.w);
  int64_t j = 0;
  for (; j + 16 <= p.N; j += 16) {
    V8 c[2 * MR];  // a loop of fixed trip count, unrolled: these stay in registers
    for (int r = 0; r < MR; ++r) {
      c[2 * r] = first ? V8{} : Load8(acc + r * p.N + j);
      c[2 * r + 1] = first ? V8{} : Load8(acc + r * p.N + j + 8);
    }
    for (int64_t k = k0; k < k1; ++k) {
      const V8 lo = Load8(w + k * p.N + j), hi = Load8(w + k * p.N + j + 8);
      for (int r = 0; r < MR; ++r) {
        const float a = p.x[r * p.K + k];
        c[2 * r] += a * lo;
        c[2 * r + 1] += a * hi;
      }
    }
    for (int r = 0; r < MR; ++r) {
      std::memcpy(acc + r * p.N + j, &c[2 * r], sizeof(V8));
      std::memcpy(acc + r * p.N + j + 8, &c[2 * r + 1], sizeof(V8));
    }
  }
  for (; j < p.N; ++j) {  // the last N % 16 columns
    if (first) {
      for (int r = 0; r < MR; ++r) acc[r * p.N + j] = 0.0f;
    }
    for (int64_t k = k0; k < k1; ++k) {
      const float b = Widen(w[k * p.N + j]);
      for (int r = 0; r < MR; ++r) {
        acc[r * p.N + j] = std::fma(p.x[r * p.K + k], b, acc[r * p.N + j]);
      }
    }
  }
}

template <int MR, typename W>
void SmallGroup(const Problem& p, int64_t g, float* acc) {
  const int64_t begin = p.GroupBegin(g), end = p.GroupBegin(g + 1);
  for (int64_t k = begin; k < end; k += kBand) {
    SmallBand<MR, W>(p, k, std::min(end, k + kBand), k == begin, acc);
  }
}

template <typename W>
void SmallM(const Problem& p, jaxserve_ffi::Pool& pool) {
  const int64_t size = p.M * p.N, groups = p.Groups();
  if (groups == 0) {  // K == 0
    std::memset(p.out, 0, size * sizeof(float));
    return;
  }
  // Group 0 sums straight into out; the others into their own partial sums, in a buffer this
  // thread keeps between calls (a fresh one would be page-faulted in on every call).
  // Workers get the pointer: in their own threads the name would be their own buffer.
  thread_local std::vector<float> buffer;
  buffer.resize((groups - 1) * size);
  float* partials = buffer.data();
  jaxserve_ffi::ParallelFor(groups, pool, [&p, partials, size]() {
    return [&p, partials, size](int64_t g) {
      float* acc = g == 0 ? p.out : partials + (g - 1) * size;
      switch (p.M) {
        case 6: SmallGroup<6, W>(p, g, acc); break;
        case 5: SmallGroup<5, W>(p, g, acc); break;
        case 4: SmallGroup<4, W>(p, g, acc); break;
        case 3: SmallGroup<3, W>(p, g, acc); break;
        case 2: SmallGroup<2, W>(p, g, acc); break;
        default: SmallGroup<1, W>(p, g, acc); break;
      }
    };
  });
  for (int64_t g = 1; g < groups; ++g) {
    const float* part = partials + (g - 1) * size;
    for (int64_t i = 0; i < size; ++i) p.out[i] += part[i];
  }
}

// ---- Larger M: packed panels and register tiles ----

// Accumulator I of an MR x 16 tile: row I / 2, half I % 2. Twelve named registers rather
// than an array: GCC keeps an array of vectors that lives across the k loop in memory and
// stores it on every iteration.
template <int I, int MR>
inline void Fma(V8& c, const float* a, int64_t lda, const float* b) {
  if constexpr (I / 2 < MR) c += a[(I / 2) * lda] * Load8(b + 8 * (I % 2));
}

template <int I, int MR>
inline void Put(const V8& c, float* tile) {
  if constexpr (I / 2 < MR) std::memcpy(tile + (I / 2) * 16 + 8 * (I % 2), &c, sizeof c);
}

// c[MR x ncols] (=, or += if `add`) a[MR x kn] (rows lda apart) . panel[kn x 16].
template <int MR>
inline void Tile(int64_t kn, const float* a, int64_t lda, const float* panel, float* c,
                 int64_t ldc, int64_t ncols, bool add) {
  V8 c0 = {}, c1 = {}, c2 = {}, c3 = {}, c4 = {}, c5 = {}, c6 = {}, c7 = {}, c8 = {}, c9 = {},
     c10 = {}, c11 = {};
  for (int64_t k = 0; k < kn; ++k) {
    const float* ak = a + k;
    const float* bk = panel + k * 16;
    Fma<0, MR>(c0, ak, lda, bk), Fma<1, MR>(c1, ak, lda, bk), Fma<2, MR>(c2, ak, lda, bk);
    Fma<3, MR>(c3, ak, lda, bk), Fma<4, MR>(c4, ak, lda, bk), Fma<5, MR>(c5, ak, lda, bk);
    Fma<6, MR>(c6, ak, lda, bk), Fma<7, MR>(c7, ak, lda, bk), Fma<8, MR>(c8, ak, lda, bk);
    Fma<9, MR>(c9, ak, lda, bk), Fma<10, MR>(c10, ak, lda, bk), Fma<11, MR>(c11, ak, lda, bk);
  }
  float tile[MR * 16];
  Put<0, MR>(c0, tile), Put<1, MR>(c1, tile), Put<2, MR>(c2, tile), Put<3, MR>(c3, tile);
  Put<4, MR>(c4, tile), Put<5, MR>(c5, tile), Put<6, MR>(c6, tile), Put<7, MR>(c7, tile);
  Put<8, MR>(c8, tile), Put<9, MR>(c9, tile), Put<10, MR>(c10, tile), Put<11, MR>(c11, tile);
  for (int r = 0; r < MR; ++r) {
    float* dst = c + r * ldc;
    const float* src = tile + r * 16;
    if (add) {
      for (int64_t j = 0; j < ncols; ++j) dst[j] += src[j];
    } else {
      std::memcpy(dst, src, ncols * sizeof(float));
    }
  }
}

// Columns n0..n0+nc of w, widened to float32 panels [K][16] (the last zero-padded).
template <typename W>
void Pack(const Problem& p, int64_t n0, int64_t nc, float* panels) {
  const W* w = static_cast<const W*>(p.w);
  for (int64_t k = 0; k < p.K; ++k) {
    const W* row = w + k * p.N + n0;
    __builtin_prefetch(row + 8 * p.N);
    for (int64_t j0 = 0; j0 < nc; j0 += 16) {
      float* dst = panels + (j0 / 16 * p.K + k) * 16;
      if (nc - j0 >= 16) {
        const V8 lo = Load8(row + j0), hi = Load8(row + j0 + 8);
        std::memcpy(dst, &lo, sizeof lo);
        std::memcpy(dst + 8, &hi, sizeof hi);
      } else {
        for (int64_t j = 0; j < 16; ++j) dst[j] = j0 + j < nc ? Widen(row[j0 + j]) : 0.0f;
      }
    }
  }
}

template <int MR>
void TileGroups(const Problem& p, const float* panel, int64_t m, int64_t n, int64_t ncols) {
  const float* a = p.x + m * p.K;
  float* c = p.out + m * p.N + n;
  for (int64_t g = 0, groups = p.Groups(); g < groups; ++g) {
    const int64_t k0 = p.GroupBegin(g), k1 = p.GroupBegin(g + 1);
    Tile<MR>(k1 - k0, a + k0, p.K, panel + k0 * 16, c, p.N, ncols, g > 0);
  }
}

// Rows m0..m1, columns n0..n1, through packed panels.
template <typename W>
void Packed(const Problem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
            std::vector<float>& scratch) {
  const int64_t nc = n1 - n0;
  scratch.resize((nc + 15) / 16 * 16 * p.K);
  Pack<W>(p, n0, nc, scratch.data());
  for (int64_t j0 = 0; j0 < nc; j0 += 16) {
    const float* panel = scratch.data() + j0 * p.K;
    const int64_t cols = std::min<int64_t>(16, nc - j0);
    for (int64_t m = m0; m < m1; m += kTileRows) {
      switch (std::min<int64_t>(kTileRows, m1 - m)) {
        case 6: TileGroups<6>(p, panel, m, n0 + j0, cols); break;
        case 5: TileGroups<5>(p, panel, m, n0 + j0, cols); break;
        case 4: TileGroups<4>(p, panel, m, n0 + j0, cols); break;
        case 3: TileGroups<3>(p, panel, m, n0 + j0, cols); break;
        case 2: TileGroups<2>(p, panel, m, n0 + j0, cols); break;
        default: TileGroups<1>(p, panel, m, n0 + j0, cols); break;
      }
    }
  }
}

template <typename W>
void Dispatch(const Problem& p, jaxserve_ffi::Pool& pool) {
  if (p.M == 0 || p.N == 0) return;
  if (p.K == 0) {
    std::memset(p.out, 0, p.M * p.N * sizeof(float));
    return;
  }
  if (p.M <= kTileRows) return SmallM<W>(p, pool);
  const int64_t threads = std::max<int64_t>(1, pool.NumThreads());
  // Column strips: 64 wide, narrower (down to 16) until every thread has about 8 units, so
  // that the last units leave little imbalance.
  int64_t strip = kStrip;
  while (strip > 16 && (p.N + strip - 1) / strip < 8 * threads) strip /= 2;
  const int64_t strips = (p.N + strip - 1) / strip;
  const int64_t row_units = (p.M + kRowsPerUnit - 1) / kRowsPerUnit;
  jaxserve_ffi::ParallelFor(strips * row_units, pool, [&p, strip, strips]() {
    return [&p, strip, strips, scratch = std::vector<float>()](int64_t unit) mutable {
      const int64_t n0 = (unit % strips) * strip, n1 = std::min(p.N, n0 + strip);
      const int64_t m0 = (unit / strips) * kRowsPerUnit, m1 = std::min(p.M, m0 + kRowsPerUnit);
      Packed<W>(p, m0, m1, n0, n1, scratch);
    };
  });
}

// ---- Transposed weights: out[M, N] = x[M, K] . w[N, K]^T (a tied LM head, w = embeddings) ----
//
// Every output element is a dot product of two contiguous rows: 8 lane sums in k order (lane l
// sums the k = l mod 8 products, one fused multiply-add per step), then a fixed horizontal sum
// (`Sum8x8`, 8 elements at a time), then the K % 8 tail in k order. Nothing else touches an
// element, so its value depends on neither M, nor its place in a register block, nor the
// thread that computes it: a row's logits are bitwise the same alone or in a batch of any size.
//
// Blocking: a unit is a strip of kTStrip rows of w, which stays in L2 while every block of
// kTRows rows of x runs against it, kTCols rows of w at a time: 4 x 6 dot products, 24
// accumulators of the 32 vector registers AVX-512 has, each w vector loaded once per step. x is
// read once per strip; the first row block streams the strip from memory, prefetching the next
// block's rows of w, and the others find it in cache. A lone row (a decode step of one
// sequence, or the last of M) takes 12 rows of w at once: more streams read memory faster.
// With kTWidenRows rows or more, a unit first widens its bfloat16 strip into a float32 copy
// (exact, so the products are the same), which costs less than widening it per row block.

constexpr int kTRows = 4;
constexpr int kTCols = 6;
constexpr int kTColsOneRow = 12;
constexpr int64_t kTStrip = 48;  // a multiple of kTCols and kTColsOneRow
constexpr int64_t kTWidenRows = 12;

// The horizontal sum of one element's 8 lanes: ((v0 + v4) + (v1 + v5)) + ((v2 + v6) + (v3 + v7)),
// done for 8 elements at once (each add below is that of one level, for several of them).
template <int... I>
inline V8 Shuffle(V8 a, V8 b) {  // lanes I of the 16 of a and b
#if defined(__clang__)
  return __builtin_shufflevector(a, b, I...);
#else
  typedef int32_t I32x8 __attribute__((vector_size(32)));
  return __builtin_shuffle(a, b, I32x8{I...});
#endif
}

inline V8 Sum8x8(const V8* v) {  // lane i: the sum of v[i]
  V8 halves[4], pairs[2];
  for (int i = 0; i < 4; ++i) {  // [a0 + a4, .., a3 + a7, b0 + b4, .., b3 + b7]
    halves[i] = Shuffle<0, 1, 2, 3, 8, 9, 10, 11>(v[2 * i], v[2 * i + 1]) +
                Shuffle<4, 5, 6, 7, 12, 13, 14, 15>(v[2 * i], v[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {  // [a01, a23, c01, c23, b01, b23, d01, d23]
    pairs[i] = Shuffle<0, 2, 8, 10, 4, 6, 12, 14>(halves[2 * i], halves[2 * i + 1]) +
               Shuffle<1, 3, 9, 11, 5, 7, 13, 15>(halves[2 * i], halves[2 * i + 1]);
  }
  const V8 sums = Shuffle<0, 2, 8, 10, 4, 6, 12, 14>(pairs[0], pairs[1]) +
                  Shuffle<1, 3, 9, 11, 5, 7, 13, 15>(pairs[0], pairs[1]);  // [a, c, e, g, b, ..]
  return Shuffle<0, 4, 1, 5, 2, 6, 3, 7>(sums, sums);
}

// a * b + c per lane, rounded once. Written out rather than left to -ffp-contract: GCC tuned
// for AMD Zen splits a lone chain of multiply-adds (one accumulator, as in a 1 x 1 block) into
// a multiply and an add, which would round differently from the same element in a larger block.
inline V8 Fma8(V8 a, V8 b, V8 c) {
#if defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  for (int i = 0; i < 8; ++i) c[i] = std::fma(a[i], b[i], c[i]);
  return c;
#endif
}

// Keeps `v` in a register: GCC would otherwise fold its load into each multiply-add that uses
// it, MR loads where one does.
inline void InRegister(V8& v) {
#if defined(__AVX__) && defined(__GNUC__)
  asm("" : "+v"(v));
#endif
}

// out[r, c] = x[r, :] . w[c, :] for r < MR, c < NR (rows K apart, out's ldo apart). `Stream`:
// w comes from memory, so the next block's rows are prefetched as these are read.
template <int MR, int NR, bool Stream, typename W>
inline void DotBlock(int64_t K, const float* x, const W* w, float* out, int64_t ldo) {
  V8 acc[MR][NR];  // fixed trip counts, unrolled: registers
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NR; ++c) acc[r][c] = V8{};
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    V8 xv[MR];
    for (int r = 0; r < MR; ++r) xv[r] = Load8(x + r * K + k);
    for (int c = 0; c < NR; ++c) {
      if constexpr (Stream) __builtin_prefetch(w + (NR + c) * K + k);
      V8 wv = Load8(w + c * K + k);
      InRegister(wv);
      for (int r = 0; r < MR; ++r) acc[r][c] = Fma8(xv[r], wv, acc[r][c]);
    }
  }
  constexpr int kGroups = (MR * NR + 7) / 8;
  V8 lanes[kGroups * 8] = {};  // element r * NR + c, then zeros
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NR; ++c) lanes[r * NR + c] = acc[r][c];
  float sums[kGroups * 8];
  for (int g = 0; g < kGroups; ++g) {
    const V8 group = Sum8x8(lanes + 8 * g);
    std::memcpy(sums + 8 * g, &group, sizeof group);
  }
  for (int r = 0; r < MR; ++r) {
    for (int c = 0; c < NR; ++c) {
      float sum = sums[r * NR + c];
      for (int64_t t = k; t < K; ++t) sum = std::fma(x[r * K + t], Widen(w[c * K + t]), sum);
      out[r * ldo + c] = sum;
    }
  }
}

// Rows [m, m + MR) of x against the nr <= kTCols rows of w from row n (at `w`).
template <int MR, bool Stream, typename W>
inline void DotCols(const Problem& p, int64_t m, const W* w, int64_t n, int64_t nr) {
  const float* x = p.x + m * p.K;
  float* out = p.out + m * p.N + n;
  switch (nr) {
    case 6: return DotBlock<MR, 6, Stream, W>(p.K, x, w, out, p.N);
    case 5: return DotBlock<MR, 5, Stream, W>(p.K, x, w, out, p.N);
    case 4: return DotBlock<MR, 4, Stream, W>(p.K, x, w, out, p.N);
    case 3: return DotBlock<MR, 3, Stream, W>(p.K, x, w, out, p.N);
    case 2: return DotBlock<MR, 2, Stream, W>(p.K, x, w, out, p.N);
    default: return DotBlock<MR, 1, Stream, W>(p.K, x, w, out, p.N);
  }
}

// Rows [m, m + mr) of x against rows [n0, n1) of w, which start at `w`.
template <bool Stream, typename W>
void DotRowBlock(const Problem& p, int64_t m, int64_t mr, const W* w, int64_t n0, int64_t n1) {
  int64_t n = n0;
  if (mr == 1) {  // a lone row streams w: more rows of w at once read memory faster
    for (; n + kTColsOneRow <= n1; n += kTColsOneRow) {
      const float* x = p.x + m * p.K;
      DotBlock<1, kTColsOneRow, Stream, W>(p.K, x, w + (n - n0) * p.K, p.out + m * p.N + n, p.N);
    }
  }
  for (; n < n1; n += kTCols) {
    const int64_t nr = std::min<int64_t>(kTCols, n1 - n);
    const W* wn = w + (n - n0) * p.K;
    switch (mr) {
      case 4: DotCols<4, Stream, W>(p, m, wn, n, nr); break;
      case 3: DotCols<3, Stream, W>(p, m, wn, n, nr); break;
      case 2: DotCols<2, Stream, W>(p, m, wn, n, nr); break;
      default: DotCols<1, Stream, W>(p, m, wn, n, nr); break;
    }
  }
}

// Every row of x against rows [n0, n1) of w, which start at `w`: row blocks outer, so the
// first streams the strip from memory and the others find it in cache. `cached`: it is there
// from the start (a widened copy).
template <typename W>
void DotStrip(const Problem& p, const W* w, int64_t n0, int64_t n1, bool cached) {
  for (int64_t m = 0; m < p.M; m += kTRows) {
    const int64_t mr = std::min<int64_t>(kTRows, p.M - m);
    if (m == 0 && !cached) {
      DotRowBlock<true, W>(p, m, mr, w, n0, n1);
    } else {
      DotRowBlock<false, W>(p, m, mr, w, n0, n1);
    }
  }
}

template <typename W>
void DispatchTransposed(const Problem& p, jaxserve_ffi::Pool& pool) {
  if (p.M == 0 || p.N == 0) return;
  const int64_t strips = (p.N + kTStrip - 1) / kTStrip;
  jaxserve_ffi::ParallelFor(strips, pool, [&p]() {
    return [&p, scratch = std::vector<float>()](int64_t strip) mutable {
      const W* w = static_cast<const W*>(p.w);
      const int64_t n0 = strip * kTStrip, n1 = std::min(p.N, n0 + kTStrip);
      if (std::is_same_v<W, float> || p.M < kTWidenRows) {
        return DotStrip<W>(p, w + n0 * p.K, n0, n1, false);
      }
      // Widening is exact, so the float32 copy gives the same products with fewer instructions.
      const int64_t size = (n1 - n0) * p.K;
      scratch.resize(size);
      for (int64_t i = 0; i < size; ++i) scratch[i] = Widen(w[n0 * p.K + i]);
      DotStrip<float>(p, scratch.data(), n0, n1, true);
    };
  });
}

// Decodes the call frame: (x f32[M, K], w f32|bf16[L, K, N], layer s32[]) -> out f32[M, N],
// multiplying by w[layer]: a layer loop passes all its layers' weights and an index, so no
// slice of them is ever copied.
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
  if (x->dtype != XLA_FFI_DataType_F32 || out->dtype != XLA_FFI_DataType_F32) {
    return "x and out must be float32";
  }
  if (layer->dtype != XLA_FFI_DataType_S32) return "layer must be int32";
  const int64_t l = *static_cast<const int32_t*>(layer->data);
  if (l < 0 || l >= w->dims[0]) return "layer is out of range of w's leading axis";
  const int64_t K = w->dims[1], N = w->dims[2], offset = l * K * N;
  Problem p{x->dims[0], K, N, static_cast<const float*>(x->data), nullptr,
            static_cast<float*>(out->data)};
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  if (w->dtype == XLA_FFI_DataType_F32) {
    p.w = static_cast<const float*>(w->data) + offset;
    Dispatch<float>(p, pool);
  } else if (w->dtype == XLA_FFI_DataType_BF16) {
    p.w = static_cast<const uint16_t*>(w->data) + offset;
    Dispatch<uint16_t>(p, pool);
  } else {
    return "w must be float32 or bfloat16";
  }
  return "";
}

// (x f32[M, K], w f32|bf16[N, K]) -> out f32[M, N] = x . w^T.
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
  if (x->dtype != XLA_FFI_DataType_F32 || out->dtype != XLA_FFI_DataType_F32) {
    return "x and out must be float32";
  }
  Problem p{x->dims[0], x->dims[1], w->dims[0], static_cast<const float*>(x->data), w->data,
            static_cast<float*>(out->data)};
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  if (w->dtype == XLA_FFI_DataType_F32) {
    DispatchTransposed<float>(p, pool);
  } else if (w->dtype == XLA_FFI_DataType_BF16) {
    DispatchTransposed<uint16_t>(p, pool);
  } else {
    return "w must be float32 or bfloat16";
  }
  return "";
}

}  // namespace

extern "C" XLA_FFI_Error* JaxserveMatmul(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, Run);
}

extern "C" XLA_FFI_Error* JaxserveMatmulTransposed(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, RunTransposed);
}
