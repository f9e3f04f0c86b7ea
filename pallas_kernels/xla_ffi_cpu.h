// Helpers shared by jaxserve's native CPU kernels: XLA FFI call frames through the C API
// alone (the C++ binding header takes seconds to compile, and these kernels are compiled on
// the serving machine at first start), and work spread over XLA's intra-op thread pool.

#ifndef JAXSERVE_PALLAS_KERNELS_XLA_FFI_CPU_H_
#define JAXSERVE_PALLAS_KERNELS_XLA_FFI_CPU_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "xla/ffi/api/c_api.h"

namespace jaxserve_ffi {

// XLA's intra-op thread pool, through the C API.
class Pool {
 public:
  Pool(const XLA_FFI_Api* api, XLA_FFI_ExecutionContext* ctx) : api_(api), ctx_(ctx) {}

  int64_t NumThreads() const {
    int64_t n = 0;
    XLA_FFI_ThreadPool_NumThreads_Args args{};
    args.struct_size = XLA_FFI_ThreadPool_NumThreads_Args_STRUCT_SIZE;
    args.ctx = ctx_;
    args.num_threads = &n;
    if (XLA_FFI_Error* error = api_->XLA_FFI_ThreadPool_NumThreads(&args)) {
      Destroy(error);
      return 0;  // no pool: the caller does all the work
    }
    return n;
  }

  // Runs `f` on a pool thread; false (and `f` not run) if the pool refuses it.
  template <typename F>
  bool Schedule(F f) {
    F* data = new F(std::move(f));
    XLA_FFI_ThreadPool_Schedule_Args args{};
    args.struct_size = XLA_FFI_ThreadPool_Schedule_Args_STRUCT_SIZE;
    args.ctx = ctx_;
    args.task = +[](void* d) {
      F* task = static_cast<F*>(d);
      (*task)();
      delete task;
    };
    args.data = data;
    if (XLA_FFI_Error* error = api_->XLA_FFI_ThreadPool_Schedule(&args)) {
      Destroy(error);
      delete data;
      return false;
    }
    return true;
  }

 private:
  void Destroy(XLA_FFI_Error* error) const {
    XLA_FFI_Error_Destroy_Args args{};
    args.struct_size = XLA_FFI_Error_Destroy_Args_STRUCT_SIZE;
    args.error = error;
    api_->XLA_FFI_Error_Destroy(&args);
  }

  const XLA_FFI_Api* api_;
  XLA_FFI_ExecutionContext* ctx_;
};

// Spin-wait iterations (about 20-40 ns each) before a waiting caller sleeps.
constexpr int kSpinBeforeSleep = 20000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Runs units 0..n-1 on the caller plus up to `pool.NumThreads() - 1` pool tasks. Workers
// claim units from a shared counter, so the caller only ever waits for units already being
// worked on. `make_worker()` is called once per worker and returns its `void(int64_t unit)`
// (a worker's scratch space lives in that callable).
template <typename MakeWorker>
void ParallelFor(int64_t n, Pool& pool, MakeWorker make_worker) {
  if (n <= 0) return;
  struct Shared {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    std::mutex mu;
    std::condition_variable cv;
  };
  auto shared = std::make_shared<Shared>();
  auto work = [shared, n, make_worker]() {
    auto run = make_worker();
    int64_t finished = 0;
    for (int64_t i; (i = shared->next.fetch_add(1)) < n;) {
      run(i);
      ++finished;
    }
    if (finished > 0 && shared->done.fetch_add(finished) + finished == n) {
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->cv.notify_all();
    }
  };
  const int64_t helpers = std::min<int64_t>(pool.NumThreads(), n) - 1;
  for (int64_t i = 0; i < helpers; ++i) {
    // A task that starts after all units are claimed touches only `shared`, which it owns.
    auto task = work;  // each task owns a copy (and so a share of `shared`)
    if (!pool.Schedule(std::move(task))) break;
  }
  work();
  // The units still running elsewhere are short: spin a while before sleeping, as waking a
  // sleeping thread costs tens of microseconds, a sizeable share of a small matmul.
  for (int spin = 0; spin < kSpinBeforeSleep; ++spin) {
    if (shared->done.load(std::memory_order_acquire) == n) return;
    CpuRelax();
  }
  std::unique_lock<std::mutex> lock(shared->mu);
  shared->cv.wait(lock, [&] { return shared->done.load() == n; });
}

inline XLA_FFI_Error* MakeError(const XLA_FFI_Api* api, const std::string& message) {
  XLA_FFI_Error_Create_Args args{};
  args.struct_size = XLA_FFI_Error_Create_Args_STRUCT_SIZE;
  args.message = message.c_str();
  args.errc = XLA_FFI_Error_Code_INVALID_ARGUMENT;
  return api->XLA_FFI_Error_Create(&args);
}

inline const XLA_FFI_Buffer* BufferArg(const XLA_FFI_CallFrame* frame, int64_t i) {
  if (i >= frame->args.size || frame->args.types[i] != XLA_FFI_ArgType_BUFFER) return nullptr;
  return static_cast<const XLA_FFI_Buffer*>(frame->args.args[i]);
}

inline const XLA_FFI_Buffer* BufferRet(const XLA_FFI_CallFrame* frame, int64_t i) {
  if (i >= frame->rets.size || frame->rets.types[i] != XLA_FFI_RetType_BUFFER) return nullptr;
  return static_cast<const XLA_FFI_Buffer*>(frame->rets.rets[i]);
}

// The scalar attribute `name` of type `dtype`, or nullptr.
inline const void* ScalarAttr(const XLA_FFI_CallFrame* frame, const char* name,
                              XLA_FFI_DataType dtype) {
  const size_t len = std::strlen(name);
  for (int64_t i = 0; i < frame->attrs.size; ++i) {
    const XLA_FFI_ByteSpan* key = frame->attrs.names[i];
    if (key->len != len || std::memcmp(key->ptr, name, len) != 0) continue;
    if (frame->attrs.types[i] != XLA_FFI_AttrType_SCALAR) return nullptr;
    const auto* scalar = static_cast<const XLA_FFI_Scalar*>(frame->attrs.attrs[i]);
    return scalar->dtype == dtype ? scalar->value : nullptr;
  }
  return nullptr;
}

// The body of an `extern "C"` handler: answers XLA's metadata query (the FFI version this was
// built against, no traits), skips the stages before execution, and turns the message `run`
// returns (empty: success) into an FFI error.
template <typename Run>
XLA_FFI_Error* Handle(XLA_FFI_CallFrame* frame, Run run) {
  if (frame->extension_start != nullptr &&
      frame->extension_start->type == XLA_FFI_Extension_Metadata) {
    auto* extension = reinterpret_cast<XLA_FFI_Metadata_Extension*>(frame->extension_start);
    extension->metadata->api_version = XLA_FFI_Api_Version{
        XLA_FFI_Api_Version_STRUCT_SIZE, nullptr, XLA_FFI_API_MAJOR, XLA_FFI_API_MINOR};
    extension->metadata->traits = 0;
    extension->metadata->state_type_id = XLA_FFI_UNKNOWN_TYPE_ID;
    return nullptr;
  }
  if (frame->stage != XLA_FFI_ExecutionStage_EXECUTE) return nullptr;  // nothing to prepare
  const std::string error = run(frame);
  return error.empty() ? nullptr : MakeError(frame->api, error);
}

}  // namespace jaxserve_ffi

#endif  // JAXSERVE_PALLAS_KERNELS_XLA_FFI_CPU_H_
