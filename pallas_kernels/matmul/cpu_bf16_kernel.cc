// Dense matmul in bfloat16 for CPUs with AVX512_BF16, as an XLA FFI custom call:
//   out[M, N] = bf16(x[M, K]) . W[layer]      (JaxserveMatmulBf16)
// x and out are float32; W is bfloat16, packed once when the model loads (`cpu_bf16.pack`)
// into panels of 32 columns, [L][N/32][K/2][32][2]: the pairs (k, k+1) of each column side by
// side, as `vdpbf16ps` multiplies them, rows padded to an even count and columns to 32 with
// zeros. x is rounded to bfloat16 (to nearest, ties to even), and every product of two
// bfloat16 numbers is summed in float32 by `vdpbf16ps`, two k at a time: twice the
// multiply-adds per instruction of a float32 FMA, which is what bounds a batched step on these
// CPUs.
//
// A panel is one contiguous run of K * 64 bytes, so a decode step streams the weights front to
// back, the pattern the hardware prefetcher follows best: a step of one sequence is bound by
// the rate memory delivers them. Register tiles of up to 12 rows x 32 columns (24
// accumulators, each x pair broadcast once) run down x; with many rows, a strip of panels
// stays in L2 while the tiles reuse it.
//
// Summation order: each output element is one lane of one accumulator, which adds the pair
// products (k, k+1) in k order, starting from zero. Every tile runs that same sequence
// whatever M, the tile's height or the thread: a row's result is bitwise the same alone or
// in a batch.

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

constexpr int64_t kPanel = 32;  // columns of a panel (two 16-lane accumulators per row)

#if defined(JAXSERVE_HAS_BF16_DOT)

constexpr int kMR = 12;                // rows of a register tile: 24 accumulators of 32
constexpr int64_t kStripPanels = 4;    // most panels of one unit
constexpr int64_t kRowsPerUnit = 240;  // rows of one unit (a multiple of kMR)
constexpr int64_t kXAlign = 32;        // x's bfloat16 rows are padded to a multiple of this

inline int64_t RoundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// The first n lanes (none for n <= 0, all for n past the width).
inline __mmask16 Mask16(int64_t n) {
  return n <= 0 ? 0 : n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
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
  const uint16_t* w;   // this layer's panels, [N/32][K/2][32][2]
  int64_t panel_size;  // elements of one panel: K/2 * 64
  float* out;
};

// out rows m..m+MR, columns n..n+nc (<= 32) = xb rows . panel.
template <int MR>
inline void Tile(const Problem& p, const uint16_t* panel, int64_t m, int64_t n, int64_t nc) {
  __m512 c[MR][2];
  for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_ps();
  const uint16_t* a = p.xb + m * p.ldx;
  const int64_t pairs = p.panel_size / (2 * kPanel);
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

// Rows m0..m1, columns n0..n1 of out: register tiles down the rows, panel by panel.
void Unit(const Problem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t m = m0; m < m1; m += kMR) {
    for (int64_t n = n0; n < n1; n += kPanel) {
      const uint16_t* panel = p.w + (n / kPanel) * p.panel_size;
      const int64_t nc = std::min(kPanel, n1 - n);
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
  const bool latency_bound = p.M <= kMR;
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

// (x f32[M, K], w bf16[L, N/32, K/2, 64], layer s32[]) -> out f32[M, N] = bf16(x) . W[layer].
std::string Run(XLA_FFI_CallFrame* frame) {
  const XLA_FFI_Buffer* x = jaxserve_ffi::BufferArg(frame, 0);
  const XLA_FFI_Buffer* w = jaxserve_ffi::BufferArg(frame, 1);
  const XLA_FFI_Buffer* layer = jaxserve_ffi::BufferArg(frame, 2);
  const XLA_FFI_Buffer* out = jaxserve_ffi::BufferRet(frame, 0);
  if (!x || !w || !layer || !out || frame->args.size != 3 || frame->rets.size != 1) {
    return "expected 3 buffer arguments (x, w, layer) and 1 buffer result";
  }
  if (x->rank != 2 || w->rank != 4 || out->rank != 2 || layer->rank != 0) {
    return "expected x[M, K], packed w[L, N/32, K/2, 64], a scalar layer and out[M, N]";
  }
  const int64_t M = x->dims[0], K = x->dims[1], N = out->dims[1];
  if (out->dims[0] != M || w->dims[1] != (N + kPanel - 1) / kPanel || w->dims[2] != (K + 1) / 2 ||
      w->dims[3] != 2 * kPanel) {
    return "shapes must be x[M, K], packed w[L, ceil(N/32), ceil(K/2), 64], out[M, N]";
  }
  if (x->dtype != XLA_FFI_DataType_F32 || out->dtype != XLA_FFI_DataType_F32) {
    return "x and out must be float32";
  }
  if (w->dtype != XLA_FFI_DataType_BF16) return "w must be bfloat16";
  if (layer->dtype != XLA_FFI_DataType_S32) return "layer must be int32";
  const int64_t l = *static_cast<const int32_t*>(layer->data);
  if (l < 0 || l >= w->dims[0]) return "layer is out of range of w's leading axis";
#if defined(JAXSERVE_HAS_BF16_DOT)
  if (M == 0 || N == 0) return "";
  if (K == 0) {
    std::memset(out->data, 0, M * N * sizeof(float));
    return "";
  }
  const int64_t ldx = RoundUp(K, kXAlign), panel_size = w->dims[2] * w->dims[3];
  const Problem p{M, K, N, RoundedX(static_cast<const float*>(x->data), M, K, ldx), ldx,
                  static_cast<const uint16_t*>(w->data) + l * w->dims[1] * panel_size,
                  panel_size, static_cast<float*>(out->data)};
  jaxserve_ffi::Pool pool(frame->api, frame->ctx);
  Dispatch(p, pool);
  return "";
#else
  return kNoBf16;
#endif
}

}  // namespace

extern "C" XLA_FFI_Error* JaxserveMatmulBf16(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, Run);
}
