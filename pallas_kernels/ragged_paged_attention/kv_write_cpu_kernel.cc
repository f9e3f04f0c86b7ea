// Writing a step's new K/V rows into the page pool on CPU, in place, as an XLA FFI custom call:
//   pages[slot_mapping[t]] = new[t]      (pages aliased to the result: no copy of the pool)
// pages are float32 or bfloat16, new float32 or the pages' dtype; float32 is rounded to
// bfloat16 to nearest, ties to even (as XLA's convert does). Or pages of int8 / float8_e4m3fn
// codes (a quantized cache), whose new rows arrive as codes and are copied. Why: XLA's CPU
// backend scatters into a bfloat16 or float8 array by widening all of it to float32 and back,
// over a second per layer for a pool of a few GiB; this writes just the rows. A slot outside
// the pool is skipped, as XLA's scatter drops an out-of-bounds update.

#include <cstdint>
#include <cstring>
#include <string>

#include "xla_ffi_cpu.h"

namespace {

inline uint16_t RoundToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // NaN
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// Elements in dims [from, rank) of `b`.
int64_t Trailing(const XLA_FFI_Buffer* b, int64_t from) {
  int64_t n = 1;
  for (int64_t i = from; i < b->rank; ++i) n *= b->dims[i];
  return n;
}

// (pages [..., page_size, K, D], new [T, K, D], slots s32[T]) -> pages, aliased. A slot is
// a row of the flattened pool [rows, K * D].
std::string Run(XLA_FFI_CallFrame* frame) {
  const XLA_FFI_Buffer* pages = jaxserve_ffi::BufferArg(frame, 0);
  const XLA_FFI_Buffer* fresh = jaxserve_ffi::BufferArg(frame, 1);
  const XLA_FFI_Buffer* slots = jaxserve_ffi::BufferArg(frame, 2);
  const XLA_FFI_Buffer* out = jaxserve_ffi::BufferRet(frame, 0);
  if (!pages || !fresh || !slots || !out || frame->args.size != 3 || frame->rets.size != 1) {
    return "expected 3 buffer arguments (pages, new, slot_mapping) and 1 buffer result";
  }
  if (pages->rank < 3 || fresh->rank != 3 || slots->rank != 1 || out->rank != pages->rank ||
      Trailing(pages, pages->rank - 2) != Trailing(fresh, 1) ||
      slots->dims[0] != fresh->dims[0] || Trailing(out, 0) != Trailing(pages, 0)) {
    return "shapes must be pages[..., K, D], new[T, K, D], slot_mapping[T]";
  }
  if (slots->dtype != XLA_FFI_DataType_S32) return "slot_mapping must be int32";
  if (out->dtype != pages->dtype) return "the result must have the pages' dtype";
  const bool f32 = pages->dtype == XLA_FFI_DataType_F32;
  const bool bf16 = pages->dtype == XLA_FFI_DataType_BF16;
  const bool codes =
      pages->dtype == XLA_FFI_DataType_S8 || pages->dtype == XLA_FFI_DataType_F8E4M3FN;
  if (!f32 && !bf16 && !codes) return "pages must be float32, bfloat16, int8 or float8_e4m3fn";
  if (codes && fresh->dtype != pages->dtype) return "new rows must have the code pages' dtype";
  if (fresh->dtype != XLA_FFI_DataType_F32 && fresh->dtype != pages->dtype) {
    return "new rows must be float32 or the pages' dtype";
  }
  const int64_t width = Trailing(pages, pages->rank - 2), rows = Trailing(pages, 0) / width;
  const int64_t tokens = fresh->dims[0];
  const size_t elem = f32 ? 4 : bf16 ? 2 : 1;
  char* dst = static_cast<char*>(out->data);
  if (out->data != pages->data) {  // not aliased: XLA gave the result a buffer of its own
    std::memcpy(dst, pages->data, static_cast<size_t>(rows * width) * elem);
  }
  const int32_t* slot = static_cast<const int32_t*>(slots->data);
  for (int64_t t = 0; t < tokens; ++t) {
    if (slot[t] < 0 || slot[t] >= rows) continue;
    char* row = dst + static_cast<size_t>(slot[t]) * width * elem;
    if (fresh->dtype == pages->dtype) {
      std::memcpy(row, static_cast<const char*>(fresh->data) + t * width * elem, width * elem);
    } else {  // float32 into bfloat16
      const float* src = static_cast<const float*>(fresh->data) + t * width;
      uint16_t* to = reinterpret_cast<uint16_t*>(row);
      for (int64_t i = 0; i < width; ++i) to[i] = RoundToBf16(src[i]);
    }
  }
  return "";
}

}  // namespace

extern "C" XLA_FFI_Error* JaxserveWriteKvPages(XLA_FFI_CallFrame* frame) {
  return jaxserve_ffi::Handle(frame, Run);
}
