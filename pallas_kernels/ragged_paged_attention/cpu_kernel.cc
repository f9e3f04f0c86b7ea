// Ragged paged attention for CPU as an XLA FFI custom call.
//
// Same contract as reference.py: query tokens of all sequences flattened into q[T, H, D];
// sequence s owns tokens cu_q_lens[s]:cu_q_lens[s + 1], the last q_len of its kv_lens[s]
// tokens, whose K/V are already in the pages. Rows past cu_q_lens[num_seqs] are zero.
// Two score options: soft_cap (Gemma 2: scores become cap * tanh(s / cap)) and sinks (gpt-oss:
// one logit per query head that joins each row's softmax denominator without a value).
// Pages are float32, bfloat16, or int8 / float8_e4m3fn codes (a quantized KV cache whose scales
// are folded outside attention), which are read as plain numbers, widened to float32 as loaded.
//
// Why a native kernel on CPU: under XLA, attention gathers pages into a contiguous copy and
// runs many tiny batched dots; at 64 sequences x 500 tokens that measured 10x slower than
// reading the K/V once. Here every work unit (one sequence, one KV head, up to kBlockQ query
// tokens) walks its own pages in place: scores for a page of positions, an online softmax,
// then the weighted V rows, all in L1. Units are spread over XLA's intra-op thread pool.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "xla_ffi_cpu.h"

namespace {

constexpr int64_t kBlockQ = 8;  // query tokens of one sequence sharing a pass over its pages
constexpr int64_t kLatencyBoundKv = 4096;  // KV rows (positions x KV heads) of a short call

inline float Bf16ToF32(uint16_t x) {
  uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// A float8_e4m3fn code (1 sign, 4 exponent bits of bias 7, 3 mantissa bits; 0x7f and 0xff are
// NaN, there is no infinity): a type of its own, so templates tell it from int8.
struct E4m3 {
  uint8_t bits;
};

// Exact, and never through a float32 subnormal: XLA runs kernels with denormals flushed.
inline float E4m3ToF32(E4m3 x) {
  const uint32_t mag = x.bits & 0x7fu;
  uint32_t bits = (mag << 20) + (120u << 23);  // exponent rebiased from 7 to 127
  float f;
  std::memcpy(&f, &bits, sizeof f);
  f = mag < 8 ? static_cast<float>(mag) * 0x1p-9f : f;  // subnormal codes: m * 2^-9
  f = mag == 0x7f ? NAN : f;
  return x.bits & 0x80u ? -f : f;
}

// One stored K/V value as float32, for the loops over any head dim.
inline float Widen(int8_t x) { return static_cast<float>(x); }
inline float Widen(E4m3 x) { return E4m3ToF32(x); }

inline uint16_t F32ToBf16(float f) {  // round to nearest even; NaN stays NaN
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

template <typename T>
inline void LoadRow(const T* src, float* dst, int64_t n);

template <>
inline void LoadRow<float>(const float* src, float* dst, int64_t n) {
  std::memcpy(dst, src, n * sizeof(float));
}

template <>
inline void LoadRow<uint16_t>(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(src[i]);
}

template <typename T>
inline void StoreRow(const float* src, T* dst, int64_t n);

template <>
inline void StoreRow<float>(const float* src, float* dst, int64_t n) {
  std::memcpy(dst, src, n * sizeof(float));
}

template <>
inline void StoreRow<uint16_t>(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = F32ToBf16(src[i]);
}

inline float Dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Dot of a float row with a KV row stored as T.
template <typename T>
inline float DotKv(const float* q, const T* k, int64_t n) {  // int8 and float8 codes
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += q[i] * Widen(k[i]);
  return s;
}

template <>
inline float DotKv<float>(const float* q, const float* k, int64_t n) {
  return Dot(q, k, n);
}

template <>
inline float DotKv<uint16_t>(const float* q, const uint16_t* k, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += q[i] * Bf16ToF32(k[i]);
  return s;
}

template <typename T>
inline void Axpy(float a, const T* x, float* y, int64_t n) {  // int8 and float8 codes
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += a * Widen(x[i]);
}

template <>
inline void Axpy<float>(float a, const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

template <>
inline void Axpy<uint16_t>(float a, const uint16_t* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += a * Bf16ToF32(x[i]);
}

// 8 floats; unaligned loads and stores go through memcpy, which compiles to one move.
typedef float V8 __attribute__((vector_size(32)));

inline V8 Load8(const float* x) {
  V8 v;
  std::memcpy(&v, x, sizeof v);
  return v;
}

inline void Store8(float* x, V8 v) { std::memcpy(x, &v, sizeof v); }

inline float Sum8(V8 v) {
  return (v[0] + v[4]) + (v[1] + v[5]) + ((v[2] + v[6]) + (v[3] + v[7]));
}

// 8 bfloat16 values widened to float32 (exact): zero-extend, shift into the high half.
inline V8 Load8(const uint16_t* x) {
#if defined(__AVX2__)  // one vpmovzxwd and one shift; GCC splits the generic form in halves
  const __m256i w = _mm256_slli_epi32(
      _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))), 16);
  return reinterpret_cast<V8>(_mm256_castsi256_ps(w));
#else
  typedef uint16_t U16x8 __attribute__((vector_size(16)));
  typedef uint32_t U32x8 __attribute__((vector_size(32)));
  U16x8 h;
  std::memcpy(&h, x, sizeof h);
  const U32x8 w = __builtin_convertvector(h, U32x8) << 16;
  V8 v;
  std::memcpy(&v, &w, sizeof v);
  return v;
#endif
}

// 8 int8 codes as float32 (exact): sign-extend, convert.
inline V8 Load8(const int8_t* x) {
#if defined(__AVX2__)
  const __m256i w = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x)));
  return reinterpret_cast<V8>(_mm256_cvtepi32_ps(w));
#else
  typedef int8_t I8x8 __attribute__((vector_size(8)));
  I8x8 c;
  std::memcpy(&c, x, sizeof c);
  return __builtin_convertvector(c, V8);
#endif
}

// 8 float8_e4m3fn codes as float32 (exact). A code's bits moved into a float16 (s 0 eeee mmm
// 0000000) are its value times 2^-8 (exponent bias 15 against 7), subnormals included: both
// formats' subnormals share their lowest exponent. vcvtph2ps widens float16 subnormals whatever
// the denormal flags say. 9 instructions where bfloat16 takes 2: no AVX2 or AVX-512 instruction
// reads float8, and these 8-lane loads feed the kernel's 8-lane vectors either way.
inline V8 Load8(const E4m3* x) {
#if defined(__AVX2__) && defined(__F16C__)
  const __m128i codes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x));
  const __m128i w = _mm_unpacklo_epi8(_mm_setzero_si128(), codes);  // code << 8 per 16-bit lane
  __m128i h = _mm_and_si128(_mm_srai_epi16(w, 1), _mm_set1_epi16(static_cast<int16_t>(0xbf80)));
  // NaN codes (0x7f, 0xff) land on +-1.875 * 2^-8: all ones is a float16 NaN instead
  const __m128i nan = _mm_cmpeq_epi16(_mm_slli_epi16(h, 1), _mm_set1_epi16(0x7f00));
  h = _mm_or_si128(h, nan);
  return reinterpret_cast<V8>(_mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_set1_ps(256.f)));
#else
  V8 v;
  for (int i = 0; i < 8; ++i) v[i] = E4m3ToF32(x[i]);
  return v;
#endif
}

typedef float V4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

#if defined(__clang__)
#define JAXSERVE_SHUFFLE(a, b, i0, i1, i2, i3) __builtin_shufflevector(a, b, i0, i1, i2, i3)
#else
#define JAXSERVE_SHUFFLE(a, b, i0, i1, i2, i3) __builtin_shuffle(a, b, I4{i0, i1, i2, i3})
#endif

inline V4 Fold(V8 a) {  // lanes i and i + 4 added
  V4 lo, hi;
  std::memcpy(&lo, &a, sizeof lo);
  std::memcpy(&hi, reinterpret_cast<const char*>(&a) + sizeof lo, sizeof hi);
  return lo + hi;
}

// The lane sums of four vectors, as one vector: a transpose-and-add, not four reductions.
inline V4 Sum4x8(V8 a0, V8 a1, V8 a2, V8 a3) {
  const V4 b0 = Fold(a0), b1 = Fold(a1), b2 = Fold(a2), b3 = Fold(a3);
  const V4 s01 = JAXSERVE_SHUFFLE(b0, b1, 0, 4, 1, 5) + JAXSERVE_SHUFFLE(b0, b1, 2, 6, 3, 7);
  const V4 s23 = JAXSERVE_SHUFFLE(b2, b3, 0, 4, 1, 5) + JAXSERVE_SHUFFLE(b2, b3, 2, 6, 3, 7);
  return JAXSERVE_SHUFFLE(s01, s23, 0, 1, 4, 5) + JAXSERVE_SHUFFLE(s01, s23, 2, 3, 6, 7);
}

// e^x for 8 lanes: 2^n * p(r) with x = n ln2 + r, |r| <= ln2 / 2, p of degree 6 (relative
// error ~2e-7, like expf). Inputs below -87 give ~1e-38 rather than 0, which no softmax sees.
inline V8 Exp8(V8 x) {
  typedef int32_t I8 __attribute__((vector_size(32)));
  const V8 lo = V8{} - 87.0f, hi = V8{} + 88.0f;
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const V8 shifter = V8{} + 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const V8 n = (x * 1.44269504088896341f + shifter) - shifter;
  V8 r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  V8 y = V8{} + 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + r + 1.0f;
  const I8 bits = (__builtin_convertvector(n, I8) + 127) << 23;
  V8 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

// tanh for 8 lanes: an odd polynomial below |x| = 0.625 (Cephes' tanhf), where 1 - e^(-2|x|)
// would lose digits to cancellation, (1 - e^(-2|x|)) / (1 + e^(-2|x|)) above; within 2 ulp.
inline V8 Tanh8(V8 x) {
  const V8 ax = x < 0.f ? -x : x;
  const V8 z = ax * ax;
  V8 small = V8{} - 5.70498872745e-3f;
  small = small * z + 2.06390887954e-2f;
  small = small * z - 5.37397155531e-2f;
  small = small * z + 1.33314422036e-1f;
  small = small * z - 3.33332819422e-1f;
  small = small * z * ax + ax;
  const V8 t = Exp8(-2.f * ax);
  const V8 large = (1.f - t) / (1.f + t);
  const V8 y = ax < 0.625f ? small : large;
  return x < 0.f ? -y : y;
}

// s[j] = cap * tanh(s[j] / cap) for j < n. `s` has room for n rounded up to 8.
inline void SoftCap(float* s, int64_t n, float cap) {
  const float inv = 1.f / cap;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) Store8(s + j, cap * Tanh8(Load8(s + j) * inv));
  if (j < n) {  // the lanes past n hold stale scratch: capped as zeros, never stored
    float tail[8] = {};
    std::memcpy(tail, s + j, (n - j) * sizeof(float));
    Store8(tail, cap * Tanh8(Load8(tail) * inv));
    std::memcpy(s + j, tail, (n - j) * sizeof(float));
  }
}

// s[j] = e^(s[j] - mx) for j < n; returns their sum. `s` has room for n rounded up to 8.
inline float ExpShiftSum(float* s, int64_t n, float mx) {
  V8 total = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const V8 e = Exp8(Load8(s + j) - mx);
    Store8(s + j, e);
    total += e;
  }
  float sum = Sum8(total);
  if (j < n) {
    float tail[8] = {};
    std::memcpy(tail, s + j, (n - j) * sizeof(float));
    V8 e = Exp8(Load8(tail) - mx);
    Store8(tail, e);
    for (int64_t i = 0; i < n - j; ++i) {
      s[j + i] = tail[i];
      sum += tail[i];
    }
  }
  return sum;
}

// out[j] = q . k[j * stride], j < n: four positions at a time, so four independent FMA chains.
template <typename KT>
inline void Scores(const float* q, const KT* k, int64_t stride, int64_t n, int64_t D, float* out) {
  for (int64_t j = 0; j < n; ++j) out[j] = DotKv<KT>(q, k + j * stride, D);
}

template <>
inline void Scores<float>(const float* q, const float* k, int64_t stride, int64_t n, int64_t D,
                          float* out) {
  if (D % 8 != 0) {
    for (int64_t j = 0; j < n; ++j) out[j] = Dot(q, k + j * stride, D);
    return;
  }
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* k0 = k + j * stride;
    V8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int64_t d = 0; d < D; d += 8) {
      const V8 qv = Load8(q + d);
      a0 += qv * Load8(k0 + d);
      a1 += qv * Load8(k0 + stride + d);
      a2 += qv * Load8(k0 + 2 * stride + d);
      a3 += qv * Load8(k0 + 3 * stride + d);
    }
    out[j] = Sum8(a0);
    out[j + 1] = Sum8(a1);
    out[j + 2] = Sum8(a2);
    out[j + 3] = Sum8(a3);
  }
  for (; j < n; ++j) out[j] = Dot(q, k + j * stride, D);
}

// acc = acc * alpha + sum_j p[j] * v[j * stride].
template <typename KT>
inline void Accumulate(const float* p, const KT* v, int64_t stride, int64_t n, int64_t D,
                       float alpha, float* acc) {
  for (int64_t d = 0; d < D; ++d) acc[d] *= alpha;
  for (int64_t j = 0; j < n; ++j) Axpy<KT>(p[j], v + j * stride, acc, D);
}

template <>
inline void Accumulate<float>(const float* p, const float* v, int64_t stride, int64_t n,
                              int64_t D, float alpha, float* acc) {
  if (D % 8 != 0) {
    for (int64_t d = 0; d < D; ++d) acc[d] *= alpha;
    for (int64_t j = 0; j < n; ++j) Axpy<float>(p[j], v + j * stride, acc, D);
    return;
  }
  for (int64_t d0 = 0; d0 < D; d0 += 32) {  // up to four accumulators held in registers
    const int64_t w = std::min<int64_t>(32, D - d0);
    V8 a[4];
    for (int64_t i = 0; i < w / 8; ++i) a[i] = Load8(acc + d0 + 8 * i) * alpha;
    for (int64_t j = 0; j < n; ++j) {
      const float* vj = v + j * stride + d0;
      for (int64_t i = 0; i < w / 8; ++i) a[i] += p[j] * Load8(vj + 8 * i);
    }
    for (int64_t i = 0; i < w / 8; ++i) Store8(acc + d0 + 8 * i, a[i]);
  }
}

// Head-dim-specialized versions (D a multiple of 8 known at compile time): the query row and
// the accumulator stay in registers, K/V rows (any page dtype) are widened as loaded,
// and four positions' dot products are reduced together.
template <int D, typename KT>
inline void ScoresD(const float* q, const KT* k, int64_t stride, int64_t n, float* out) {
  V8 qv[D / 8];
  for (int i = 0; i < D / 8; ++i) qv[i] = Load8(q + 8 * i);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const KT* k0 = k + j * stride;
    V8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int i = 0; i < D / 8; ++i) {
      a0 += qv[i] * Load8(k0 + 8 * i);
      a1 += qv[i] * Load8(k0 + stride + 8 * i);
      a2 += qv[i] * Load8(k0 + 2 * stride + 8 * i);
      a3 += qv[i] * Load8(k0 + 3 * stride + 8 * i);
    }
    const V4 sums = Sum4x8(a0, a1, a2, a3);
    std::memcpy(out + j, &sums, sizeof sums);
  }
  for (; j < n; ++j) {
    V8 a = {};
    for (int i = 0; i < D / 8; ++i) a += qv[i] * Load8(k + j * stride + 8 * i);
    out[j] = Sum8(a);
  }
}

template <int D, typename KT>
inline void AccumulateD(const float* p, const KT* v, int64_t stride, int64_t n, float alpha,
                        float* acc) {
  V8 a[D / 8];
  for (int i = 0; i < D / 8; ++i) a[i] = Load8(acc + 8 * i) * alpha;
  for (int64_t j = 0; j < n; ++j) {
    const V8 pj = V8{} + p[j];
    const KT* vj = v + j * stride;
    for (int i = 0; i < D / 8; ++i) a[i] += pj * Load8(vj + 8 * i);
  }
  for (int i = 0; i < D / 8; ++i) Store8(acc + 8 * i, a[i]);
}

// D > 0: the specialized loops for that head dim; D == 0: the generic ones (any head dim).
template <int D, typename KT>
inline void RowScores(const float* q, const KT* k, int64_t stride, int64_t n, int64_t d,
                      float* out) {
  if constexpr (D > 0) {
    ScoresD<D, KT>(q, k, stride, n, out);
  } else {
    Scores<KT>(q, k, stride, n, d, out);
  }
}

template <int D, typename KT>
inline void RowAccumulate(const float* p, const KT* v, int64_t stride, int64_t n, int64_t d,
                          float alpha, float* acc) {
  if constexpr (D > 0) {
    AccumulateD<D, KT>(p, v, stride, n, alpha, acc);
  } else {
    Accumulate<KT>(p, v, stride, n, d, alpha, acc);
  }
}

// float8 codes take 9 instructions to widen 8 values where int8 and bfloat16 take 2, and a
// unit's query rows (G heads x its tokens) each read the same K/V rows: with enough of them, a
// page's float8 rows are widened once into float32 scratch that the rows then read. With fewer
// the copy costs more than it saves. 64 decodes x 500 positions, AMD EPYC, staged / in place:
// G = 2 (D 128, 8 KV heads) 20.8 / 12.9 ms, G = 3 9.7 / 9.1, G = 4 36.2 / 35.5, G = 8 (D 64)
// 2.1 / 4.9; 4 decodes x 2000 at G = 4 3.1 / 4.4; a 2 x 256-token prefill at G = 2 14 / 77.
constexpr int64_t kStageReuse = 4;  // query rows per K/V row from which float8 pages are staged

// dst[j * D + d] = src[j * stride + d] as float32, for n rows.
template <typename KT>
void WidenRows(const KT* src, int64_t stride, int64_t n, int64_t D, float* dst) {
  for (int64_t j = 0; j < n; ++j) {
    const KT* row = src + j * stride;
    float* out = dst + j * D;
    int64_t d = 0;
    for (; d + 8 <= D; d += 8) Store8(out + d, Load8(row + d));
    for (; d < D; ++d) out[d] = Widen(row[d]);
  }
}

struct Problem {
  const void* q;
  const void* k_pages;
  const void* v_pages;
  void* out;
  const int32_t* kv_lens;
  const int32_t* page_indices;
  const int32_t* cu_q_lens;
  int64_t num_heads, num_kv_heads, head_dim, page_size, num_pages, pages_per_seq;
  float sm_scale;
  int64_t sliding_window;  // 0: none
  float soft_cap;          // 0: none
  const float* sinks;      // [H] logits, or nullptr: none
};

struct Unit {
  int32_t seq;
  int32_t kv_begin, kv_end;  // KV heads [kv_begin, kv_end) and their query heads
  int32_t first, count;      // `count` query tokens starting at token `first`
};

// Each row's softmax state before any position: with sinks, a position scored at the row's
// sink logit whose value row is zero; else empty. Out of line: inlined into RunUnit, the sinks
// branch changed its register allocation and cost the D=128 decode loop ~3%.
__attribute__((noinline)) void StartRows(const Problem& p, const Unit& u, int64_t nh, float* m,
                                         float* l, int64_t R) {
  const int64_t G = p.num_heads / p.num_kv_heads;
  if (p.sinks) {
    for (int64_t r = 0; r < R; ++r) m[r] = p.sinks[u.kv_begin * G + r % nh];
    std::fill(l, l + R, 1.f);
  } else {
    std::fill(m, m + R, -INFINITY);
    std::fill(l, l + R, 0.f);
  }
}

// One unit: `count` consecutive query tokens of one sequence and the query heads of KV heads
// [kv_begin, kv_end), against that sequence's pages. A unit holding every KV head reads each
// page's rows whole and in order.
template <typename QT, typename KT, int DC, bool Stage>
void RunUnit(const Problem& p, const Unit& u, std::vector<float>& scratch) {
  const int64_t D = p.head_dim, K = p.num_kv_heads, H = p.num_heads, G = H / K;
  const int64_t nh = (u.kv_end - u.kv_begin) * G;  // query heads in this unit
  const int64_t R = u.count * nh;                  // query rows: row t * nh + h
  const int64_t ps = p.page_size, ps8 = (ps + 7) / 8 * 8;
  const int64_t staged = Stage ? ps * D : 0;  // floats per staged page of K or V
  scratch.resize(R * D * 2 + ps8 + R * 2 + 2 * staged);
  float* q = scratch.data();  // [R, D], pre-scaled
  float* acc = q + R * D;     // [R, D]
  float* m = acc + R * D;     // [R] running max
  float* l = m + R;           // [R] running denominator
  float* s = l + R;           // [ps8] one row's scores over one page
  float* k_staged = s + ps8;  // [ps, D] one KV head's K rows of one page, widened
  float* v_staged = k_staged + staged;  // [ps, D] and its V rows

  const int32_t s_idx = u.seq;
  const int64_t kv_len = p.kv_lens[s_idx];
  const int64_t q_len = p.cu_q_lens[s_idx + 1] - p.cu_q_lens[s_idx];
  const int64_t q_pos0 = kv_len - q_len + (u.first - p.cu_q_lens[s_idx]);  // first row's position

  const QT* qsrc = static_cast<const QT*>(p.q);
  for (int64_t t = 0; t < u.count; ++t) {
    float* row = q + t * nh * D;
    LoadRow<QT>(qsrc + ((u.first + t) * H + u.kv_begin * G) * D, row, nh * D);
    for (int64_t d = 0; d < nh * D; ++d) row[d] *= p.sm_scale;
  }
  std::fill(acc, acc + R * D, 0.f);
  StartRows(p, u, nh, m, l, R);

  const int64_t last_pos = q_pos0 + u.count - 1;  // the block sees positions <= last_pos
  const int64_t end = std::min(last_pos + 1, kv_len);
  int64_t begin = 0;
  if (p.sliding_window > 0) begin = std::max<int64_t>(0, q_pos0 - p.sliding_window + 1);
  const int32_t* table = p.page_indices + s_idx * p.pages_per_seq;
  const KT* kbase = static_cast<const KT*>(p.k_pages);
  const KT* vbase = static_cast<const KT*>(p.v_pages);
  const int64_t stride = K * D;  // between positions within a page
  const float soft_cap = p.soft_cap;  // a local: stores to the scores cannot alias it

  for (int64_t page_no = begin / ps; page_no * ps < end; ++page_no) {
    const int64_t page = table[page_no];
    if (page < 0 || page >= p.num_pages) continue;  // a corrupt table never reads out of bounds
    const int64_t lo = std::max(page_no * ps, begin), hi = std::min(page_no * ps + ps, end);
    // Position j's row for KV head kh: base + (j - page_no * ps) * stride + kh * D.
    const int64_t offset = (page * ps - page_no * ps) * stride;
    if ((page_no + 1) * ps < end) {  // start fetching the next page while this one computes
      const int64_t next = table[page_no + 1];
      if (next >= 0 && next < p.num_pages) {
        const char* kn = reinterpret_cast<const char*>(kbase + next * ps * stride);
        const char* vn = reinterpret_cast<const char*>(vbase + next * ps * stride);
        const int64_t bytes = ps * stride * static_cast<int64_t>(sizeof(KT));
        for (int64_t b = 0; b < bytes; b += 64) {
          __builtin_prefetch(kn + b);
          __builtin_prefetch(vn + b);
        }
      }
    }
    for (int64_t kh = u.kv_begin; kh < u.kv_end; ++kh) {
      const KT* kp = kbase + offset + kh * D;
      const KT* vp = vbase + offset + kh * D;
      if constexpr (Stage) {  // position j's rows: k_staged + (j - lo) * D, and v_staged's
        WidenRows(kp + lo * stride, stride, hi - lo, D, k_staged);
        WidenRows(vp + lo * stride, stride, hi - lo, D, v_staged);
      }
      for (int64_t t = 0; t < u.count; ++t) {
        const int64_t pos = q_pos0 + t;
        const int64_t row_lo =
            p.sliding_window > 0 ? std::max(lo, pos - p.sliding_window + 1) : lo;
        const int64_t row_hi = std::min(hi, pos + 1);
        if (row_lo >= row_hi) continue;
        const int64_t n = row_hi - row_lo;
        for (int64_t g = 0; g < G; ++g) {
          const int64_t r = t * nh + (kh - u.kv_begin) * G + g;
          if constexpr (Stage) {
            RowScores<DC, float>(q + r * D, k_staged + (row_lo - lo) * D, D, n, D, s);
          } else {
            RowScores<DC, KT>(q + r * D, kp + row_lo * stride, stride, n, D, s);
          }
          if (soft_cap > 0.f) SoftCap(s, n, soft_cap);
          float mx = m[r];
          for (int64_t j = 0; j < n; ++j) mx = std::max(mx, s[j]);
          const float alpha = std::exp(m[r] - mx);  // exp(-inf) = 0 on the first page
          const float sum = ExpShiftSum(s, n, mx);
          if constexpr (Stage) {
            RowAccumulate<DC, float>(s, v_staged + (row_lo - lo) * D, D, n, D, alpha, acc + r * D);
          } else {
            RowAccumulate<DC, KT>(s, vp + row_lo * stride, stride, n, D, alpha, acc + r * D);
          }
          l[r] = l[r] * alpha + sum;
          m[r] = mx;
        }
      }
    }
  }

  QT* dst = static_cast<QT*>(p.out);
  for (int64_t r = 0; r < R; ++r) {
    float* ar = acc + r * D;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    for (int64_t d = 0; d < D; ++d) ar[d] *= inv;
  }
  for (int64_t t = 0; t < u.count; ++t) {
    StoreRow<QT>(acc + t * nh * D, dst + ((u.first + t) * H + u.kv_begin * G) * D, nh * D);
  }
}

// Runs every unit, spread over XLA's intra-op thread pool.
template <typename QT, typename KT, int DC>
void RunAllD(const Problem& p, const std::vector<Unit>& units, jaxserve_ffi::Pool& pool,
             bool latency_bound) {
  jaxserve_ffi::ParallelFor(
      static_cast<int64_t>(units.size()), pool,
      [&p, &units]() {
        return [&p, &units, scratch = std::vector<float>()](int64_t i) mutable {
          if constexpr (std::is_same_v<KT, E4m3>) {
            const int64_t reuse = units[i].count * (p.num_heads / p.num_kv_heads);
            if (reuse >= kStageReuse) return RunUnit<QT, KT, DC, true>(p, units[i], scratch);
          }
          RunUnit<QT, KT, DC, false>(p, units[i], scratch);
        };
      },
      latency_bound);
}

template <typename QT, typename KT>
void RunAll(const Problem& p, const std::vector<Unit>& units, jaxserve_ffi::Pool& pool,
            bool latency_bound) {
  switch (p.head_dim) {  // the common head dims get loops unrolled for them
    case 64:
      return RunAllD<QT, KT, 64>(p, units, pool, latency_bound);
    case 128:
      return RunAllD<QT, KT, 128>(p, units, pool, latency_bound);
    default:
      return RunAllD<QT, KT, 0>(p, units, pool, latency_bound);
  }
}

template <typename QT, typename KT>
std::string Dispatch(const Problem& p, int64_t num_tokens, int32_t num_seqs,
                     jaxserve_ffi::Pool& pool) {
  const int64_t row = p.num_heads * p.head_dim;
  std::vector<Unit> units;
  int64_t real_end = 0;
  for (int32_t s = 0; s < num_seqs; ++s) {
    const int32_t first = p.cu_q_lens[s], last = p.cu_q_lens[s + 1];
    if (first < 0 || last < first || last > num_tokens) {
      return "cu_q_lens is not a non-decreasing sequence within T";
    }
    if (p.kv_lens[s] < last - first || p.kv_lens[s] > p.pages_per_seq * p.page_size) {
      return "kv_lens[s] must cover the sequence's queries and fit its page table";
    }
    for (int32_t t = first; t < last; t += kBlockQ) {
      units.push_back({s, 0, static_cast<int32_t>(p.num_kv_heads), t,
                       std::min<int32_t>(kBlockQ, last - t)});
    }
    real_end = std::max<int64_t>(real_end, last);
  }
  QT* out = static_cast<QT*>(p.out);
  std::memset(out + real_end * row, 0, (num_tokens - real_end) * row * sizeof(QT));
  // Too few units to keep every thread busy (a small decode batch): one unit per KV head.
  if (static_cast<int64_t>(units.size()) < 4 * pool.NumThreads() && p.num_kv_heads > 1) {
    std::vector<Unit> split;
    for (const Unit& u : units) {
      for (int32_t kh = 0; kh < p.num_kv_heads; ++kh) split.push_back({u.seq, kh, kh + 1, u.first, u.count});
    }
    units.swap(split);
  }
  // A step of a few sequences reads little KV: tens of microseconds, latency-bound (see
  // jaxserve_ffi::ParallelFor), so it goes to the team's awake threads.
  int64_t kv_tokens = 0;
  for (int32_t s = 0; s < num_seqs; ++s) kv_tokens += p.kv_lens[s];
  RunAll<QT, KT>(p, units, pool, kv_tokens * p.num_kv_heads <= kLatencyBoundKv);
  return "";
}

using jaxserve_ffi::BufferArg;
using jaxserve_ffi::ScalarAttr;

// Decodes the call frame: (q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens, num_seqs,
// sinks) -> out, with sinks f32[H] or f32[0] for none; attributes sm_scale (f32),
// sliding_window (s64, 0 for none) and soft_cap (f32, 0 for none).
std::string Run(XLA_FFI_CallFrame* frame) {
  const XLA_FFI_Buffer* in[8];
  for (int64_t i = 0; i < 8; ++i) {
    if (!(in[i] = BufferArg(frame, i))) return "expected 8 buffer arguments";
  }
  if (frame->args.size != 8 || frame->rets.size != 1 ||
      frame->rets.types[0] != XLA_FFI_RetType_BUFFER) {
    return "expected 8 arguments and 1 result";
  }
  const auto* out = static_cast<const XLA_FFI_Buffer*>(frame->rets.rets[0]);
  const auto* scale = static_cast<const float*>(ScalarAttr(frame, "sm_scale", XLA_FFI_DataType_F32));
  const auto* window =
      static_cast<const int64_t*>(ScalarAttr(frame, "sliding_window", XLA_FFI_DataType_S64));
  const auto* cap = static_cast<const float*>(ScalarAttr(frame, "soft_cap", XLA_FFI_DataType_F32));
  if (!scale || !window || !cap) {
    return "expected attributes sm_scale (f32), sliding_window (s64) and soft_cap (f32)";
  }
  const XLA_FFI_Buffer *q = in[0], *k = in[1], *v = in[2];
  if (q->rank != 3 || k->rank != 4 || v->rank != 4 || out->rank != 3 || in[4]->rank != 2) {
    return "q must be [T, H, D], the pages [P, page, K, D] and page_indices [S, pages]";
  }
  for (int64_t i = 3; i < 7; ++i) {
    if (in[i]->dtype != XLA_FFI_DataType_S32) return "the index arguments must be int32";
  }
  if (k->dtype != v->dtype || q->dtype != out->dtype) {
    return "k/v pages and q/out must share dtypes";
  }
  if (k->dims[3] != q->dims[2] || q->dims[1] % k->dims[2] != 0) {
    return "head dims differ or H is not a multiple of K";
  }
  const XLA_FFI_Buffer* sinks = in[7];
  if (sinks->dtype != XLA_FFI_DataType_F32 || sinks->rank != 1 ||
      (sinks->dims[0] != 0 && sinks->dims[0] != q->dims[1])) {
    return "sinks must be f32[H] (one logit per query head) or f32[0] for none";
  }
  const int64_t num_slots = in[4]->dims[0];
  if (in[3]->dims[0] < num_slots || in[5]->dims[0] < num_slots + 1) {
    return "kv_lens and cu_q_lens must cover every sequence slot";
  }
  Problem p{q->data,
            k->data,
            v->data,
            out->data,
            static_cast<const int32_t*>(in[3]->data),
            static_cast<const int32_t*>(in[4]->data),
            static_cast<const int32_t*>(in[5]->data),
            q->dims[1],
            k->dims[2],
            q->dims[2],
            k->dims[1],
            k->dims[0],
            in[4]->dims[1],
            *scale,
            *window,
            *cap,
            sinks->dims[0] ? static_cast<const float*>(sinks->data) : nullptr};
  const int32_t n = static_cast<int32_t>(
      std::max<int64_t>(0, std::min<int64_t>(static_cast<const int32_t*>(in[6]->data)[0], num_slots)));
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  const int64_t t = q->dims[0];
  const bool qf = q->dtype == XLA_FFI_DataType_F32, qb = q->dtype == XLA_FFI_DataType_BF16;
  const bool kf = k->dtype == XLA_FFI_DataType_F32, kb = k->dtype == XLA_FFI_DataType_BF16;
  const bool ki = k->dtype == XLA_FFI_DataType_S8, ke = k->dtype == XLA_FFI_DataType_F8E4M3FN;
  if (qf && kf) return Dispatch<float, float>(p, t, n, pool);
  if (qf && kb) return Dispatch<float, uint16_t>(p, t, n, pool);
  if (qb && kb) return Dispatch<uint16_t, uint16_t>(p, t, n, pool);
  if (qf && ki) return Dispatch<float, int8_t>(p, t, n, pool);
  if (qb && ki) return Dispatch<uint16_t, int8_t>(p, t, n, pool);
  if (qf && ke) return Dispatch<float, E4m3>(p, t, n, pool);
  if (qb && ke) return Dispatch<uint16_t, E4m3>(p, t, n, pool);
  return "supported dtypes (q, pages): (f32, f32), (f32 or bf16, bf16 or s8 or f8e4m3fn)";
}

}  // namespace

extern "C" XLA_FFI_Error* JaxserveRaggedPagedAttention(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, Run);
}
