// Weight-only int8 matmul for CPUs with AVX-512, as an XLA FFI custom call:
//   out[M, N] = (x[M, K] . W[layer]) * scale[layer]      (JaxserveMatmulInt8)
// x is float32 or bfloat16 (widened exactly), out float32. W is int8 with one float32 scale per
// output column, packed once when the model loads (`cpu_int8.pack`) into panels of 32 columns,
// [L][N/32][K][32], columns padded to 32 with zeros; scale is [L][N/32 * 32].
//
// A decode step of a few rows is bound by the rate memory delivers the weights, and int8 is
// half the bytes of bfloat16. Per k, 32 int8 weights are loaded, widened to float32
// (vpmovsxbd + vcvtdq2ps: exact) and multiplied into per-row float32 accumulators with the
// broadcast x[m, k]; the column scale multiplies each sum once at the end. A register tile
// covers MR rows and NP adjacent panels: few rows take several panels, so that enough
// independent accumulators hide the FMA latency (one row of one panel is two dependent
// chains, half the rate memory allows); many rows reuse each widened weight vector instead.
//
// Summation order: each output element is one lane of one accumulator, which adds the
// products x[m, k] * w[k, n] in k order, starting from zero, and is then scaled. Every tile
// runs that same sequence whatever M, the tile's shape or the thread: a row's result is
// bitwise the same alone or in a batch.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#define JAXSERVE_HAS_AVX512 1
#include <immintrin.h>
#endif

#include "xla_ffi_cpu.h"

namespace {

constexpr int64_t kPanel = 32;  // columns of a panel (two 16-lane accumulators per row)

#if defined(JAXSERVE_HAS_AVX512)

constexpr int kMaxRows = 12;           // most rows of a register tile
constexpr int64_t kStripPanels = 4;    // most panels of one unit
constexpr int64_t kRowsPerUnit = 240;  // rows of one unit

inline __mmask16 Mask16(int64_t n) {
  return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
}

struct Problem {
  int64_t M, K, N;
  const float* x;       // [M][K]
  const int8_t* w;      // this layer's panels, [N/32][K][32]
  const float* scale;   // this layer's scales, [N/32 * 32]
  float* out;           // [M][N]
};

// Panels per tile for MR rows: as many as the 32 vector registers hold (MR * 2 * NP
// accumulators, 2 * NP widened weights, one broadcast x), at most 4.
constexpr int PanelsFor(int mr) { return mr <= 2 ? 4 : mr == 3 ? 3 : mr <= 6 ? 2 : 1; }

// out rows m..m+MR, panels j..j+NP (columns up to n1) = x rows . panels, then scaled.
template <int MR, int NP>
inline void Tile(const Problem& p, int64_t m, int64_t j, int64_t n1) {
  __m512 c[MR][NP][2];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NP; ++q) c[r][q][0] = c[r][q][1] = _mm512_setzero_ps();
  const int8_t* panel[NP];
  for (int q = 0; q < NP; ++q) panel[q] = p.w + (j + q) * p.K * kPanel;
  const float* a = p.x + m * p.K;
  for (int64_t k = 0; k < p.K; ++k) {
    __m512 b[NP][2];
    for (int q = 0; q < NP; ++q) {
      const int8_t* src = panel[q] + k * kPanel;
      b[q][0] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)src)));
      b[q][1] =
          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(src + 16))));
    }
    for (int r = 0; r < MR; ++r) {
      const __m512 xv = _mm512_set1_ps(a[r * p.K + k]);
      for (int q = 0; q < NP; ++q) {
        c[r][q][0] = _mm512_fmadd_ps(xv, b[q][0], c[r][q][0]);
        c[r][q][1] = _mm512_fmadd_ps(xv, b[q][1], c[r][q][1]);
      }
    }
  }
  for (int q = 0; q < NP; ++q) {
    const int64_t n = (j + q) * kPanel, nc = std::min(kPanel, n1 - n);
    const __m512 s0 = _mm512_loadu_ps(p.scale + n), s1 = _mm512_loadu_ps(p.scale + n + 16);
    const __mmask16 m0 = Mask16(nc), m1 = Mask16(nc - 16);
    for (int r = 0; r < MR; ++r) {
      float* dst = p.out + (m + r) * p.N + n;
      _mm512_mask_storeu_ps(dst, m0, _mm512_mul_ps(c[r][q][0], s0));
      if (nc > 16) _mm512_mask_storeu_ps(dst + 16, m1, _mm512_mul_ps(c[r][q][1], s1));
    }
  }
}

// Rows m..m+MR over columns n0..n1 (whole panels but the last), NP panels at a time.
template <int MR>
void RowTile(const Problem& p, int64_t m, int64_t n0, int64_t n1) {
  constexpr int NP = PanelsFor(MR);
  const int64_t j1 = (n1 + kPanel - 1) / kPanel;
  int64_t j = n0 / kPanel;
  for (; j + NP <= j1; j += NP) Tile<MR, NP>(p, m, j, n1);
  switch (j1 - j) {  // the panels left over: fewer than NP
    case 3: if constexpr (NP > 3) Tile<MR, 3>(p, m, j, n1); break;
    case 2: if constexpr (NP > 2) Tile<MR, 2>(p, m, j, n1); break;
    case 1: if constexpr (NP > 1) Tile<MR, 1>(p, m, j, n1); break;
    default: break;
  }
}

using RowTileFn = void (*)(const Problem&, int64_t, int64_t, int64_t);
constexpr RowTileFn kRowTiles[kMaxRows] = {
    RowTile<1>, RowTile<2>, RowTile<3>, RowTile<4>,  RowTile<5>,  RowTile<6>,
    RowTile<7>, RowTile<8>, RowTile<9>, RowTile<10>, RowTile<11>, RowTile<12>};

// Rows m0..m1, columns n0..n1 of out: tiles of even height (16 rows: two of 8), each over
// the columns, so a tile of many rows widens each weight vector once for all of them.
void Unit(const Problem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t rows = m1 - m0, tiles = (rows + kMaxRows - 1) / kMaxRows;
  for (int64_t t = 0, m = m0; t < tiles; ++t) {
    const int64_t height = (rows - (m - m0) + (tiles - t) - 1) / (tiles - t);
    kRowTiles[height - 1](p, m, n0, n1);
    m += height;
  }
}

void Dispatch(const Problem& p, jaxserve_ffi::Pool& pool) {
  const int64_t threads = std::max<int64_t>(1, pool.NumThreads());
  // Column strips of at most kStripPanels panels, as many as a multiple of the threads, so
  // that the threads finish together.
  const int64_t panels = (p.N + kPanel - 1) / kPanel;
  const int64_t want = threads * ((panels + threads * kStripPanels - 1) / (threads * kStripPanels));
  const int64_t strip = (panels + want - 1) / want * kPanel;
  const int64_t strips = (p.N + strip - 1) / strip;
  const int64_t row_units = (p.M + kRowsPerUnit - 1) / kRowsPerUnit;
  // A few rows (a decode step of a few sequences) stream the weights in tens of microseconds:
  // latency-bound, so the team's awake threads share them (see jaxserve_ffi::ParallelFor).
  const bool latency_bound = p.M <= 16;
  jaxserve_ffi::ParallelFor(
      strips * row_units, pool,
      [&p, strip, strips]() {
        return [&p, strip, strips](int64_t unit) {
          const int64_t n0 = (unit % strips) * strip, n1 = std::min(p.N, n0 + strip);
          const int64_t m0 = (unit / strips) * kRowsPerUnit, m1 = std::min(p.M, m0 + kRowsPerUnit);
          Unit(p, m0, m1, n0, n1);
        };
      },
      latency_bound);
}

// bfloat16 x widened to float32 (exact) in a buffer the calling thread keeps between calls (a
// fresh one would be page-faulted in on every call); workers get the pointer.
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

// (x f32|bf16[M, K], w s8[L, N/32, K, 32], scale f32[L, N/32 * 32], layer s32[])
//   -> out f32[M, N] = (x . W[layer]) * scale[layer].
std::string Run(XLA_FFI_CallFrame* frame) {
  const XLA_FFI_Buffer* x = jaxserve_ffi::BufferArg(frame, 0);
  const XLA_FFI_Buffer* w = jaxserve_ffi::BufferArg(frame, 1);
  const XLA_FFI_Buffer* scale = jaxserve_ffi::BufferArg(frame, 2);
  const XLA_FFI_Buffer* layer = jaxserve_ffi::BufferArg(frame, 3);
  const XLA_FFI_Buffer* out = jaxserve_ffi::BufferRet(frame, 0);
  if (!x || !w || !scale || !layer || !out || frame->args.size != 4 || frame->rets.size != 1) {
    return "expected 4 buffer arguments (x, w, scale, layer) and 1 buffer result";
  }
  if (x->rank != 2 || w->rank != 4 || scale->rank != 2 || out->rank != 2 || layer->rank != 0) {
    return "expected x[M, K], packed w[L, N/32, K, 32], scale[L, N/32 * 32], a scalar layer "
           "and out[M, N]";
  }
  const int64_t M = x->dims[0], K = x->dims[1], N = out->dims[1];
  const int64_t panels = (N + kPanel - 1) / kPanel;
  if (out->dims[0] != M || w->dims[1] != panels || w->dims[2] != K || w->dims[3] != kPanel ||
      scale->dims[0] != w->dims[0] || scale->dims[1] != panels * kPanel) {
    return "shapes must be x[M, K], packed w[L, ceil(N/32), K, 32], scale[L, ceil(N/32) * 32], "
           "out[M, N]";
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
  if (M == 0 || N == 0) return "";
  if (K == 0) {
    std::memset(out->data, 0, M * N * sizeof(float));
    return "";
  }
  const float* xf = x->dtype == XLA_FFI_DataType_F32
                        ? static_cast<const float*>(x->data)
                        : WidenedX(static_cast<const uint16_t*>(x->data), M * K);
  const Problem p{M, K, N, xf, static_cast<const int8_t*>(w->data) + l * panels * K * kPanel,
                  static_cast<const float*>(scale->data) + l * panels * kPanel,
                  static_cast<float*>(out->data)};
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  Dispatch(p, pool);
  return "";
#else
  return kNoAvx512;
#endif
}

}  // namespace

extern "C" XLA_FFI_Error* JaxserveMatmulInt8(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, Run);
}
