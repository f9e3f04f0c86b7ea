// Helpers shared by jaxserve's native CPU kernels: XLA FFI call frames through the C API
// alone (the C++ binding header takes seconds to compile, and these kernels are compiled on
// the serving machine at first start), and work spread over XLA's intra-op thread pool or, for
// short calls made often, over helper threads that stay awake between calls (`Team`).

#ifndef JAXSERVE_PALLAS_KERNELS_XLA_FFI_CPU_H_
#define JAXSERVE_PALLAS_KERNELS_XLA_FFI_CPU_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

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

// Runs units 0..n-1 on the caller plus `helpers` tasks on XLA's pool (see ParallelFor).
template <typename MakeWorker>
void PoolParallelFor(int64_t n, Pool& pool, int64_t helpers, MakeWorker make_worker) {
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

// Helper threads of this library that stay awake between kernel calls.
//
// A decode step calls a kernel every 30-100 us, and XLA's intra-op pool threads sleep between
// calls: waking one costs tens of microseconds, so on a one-sequence step the second core
// joined too late to take any share of a matmul (measured: the same step time with and
// without it). A team thread, once it has worked, polls for the next job for a while
// (`kPollSeconds`, yielding the core to any other runnable thread as it polls) and only then
// sleeps; the steps of a busy engine keep it polling, an idle one lets it sleep.
//
// One job at a time: a caller that finds the team busy (another XLA thread in a kernel) runs
// its units on XLA's pool instead. Jobs are handed out with one atomic word,
// generation << 16 | slots still open: a helper takes a slot by decrementing it, and the
// caller, once its own share is done, closes the job by zeroing the slots and then waits
// only for the helpers that took one, so a helper that wakes late never touches the job.
class Team {
 public:
  // The team: a thread for each core this process may run on, but one. One per process: the
  // pointer below is a GNU unique symbol, shared by every kernel library built from this
  // header (all are rebuilt together when it changes), so the kernels share its threads.
  static Team& Get() {
    static Team* team = new Team(AvailableCores() - 1);  // never destroyed: threads outlive exit
    return *team;
  }

  int64_t Size() const { return static_cast<int64_t>(threads_.size()); }

  // Runs `work` on the caller and on up to `helpers` team threads; false (nothing run) if the
  // team is serving another job or has no threads.
  bool Run(int64_t helpers, const std::function<void()>& work) {
    helpers = std::min<int64_t>(helpers, Size());
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || helpers <= 0) return false;
    work_ = &work;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t generation = (state_.load(std::memory_order_relaxed) >> 16) + 1;
    state_.store(generation << 16 | static_cast<uint64_t>(helpers), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    work();
    const uint64_t left = state_.exchange(generation << 16, std::memory_order_acq_rel) & 0xFFFF;
    const int64_t taken = helpers - static_cast<int64_t>(left);
    while (done_.load(std::memory_order_acquire) < taken) CpuRelax();
    return true;
  }

 private:
  static constexpr double kPollSeconds = 0.005;

  explicit Team(int64_t size) {
    for (int64_t i = 0; i < size; ++i) {
      threads_.emplace_back([this] { Loop(); });
      threads_.back().detach();
    }
  }

  static int64_t AvailableCores() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
    return std::max(1u, std::thread::hardware_concurrency());
  }

  // Takes a slot of an open job it has not served yet; true if it ran one.
  bool TryServe(uint64_t& served) {
    uint64_t s = state_.load(std::memory_order_acquire);
    while ((s >> 16) != served && (s & 0xFFFF) != 0) {
      if (state_.compare_exchange_weak(s, s - 1, std::memory_order_acq_rel)) {
        served = s >> 16;
        (*work_)();
        done_.fetch_add(1, std::memory_order_release);
        return true;
      }
    }
    return false;
  }

  void Loop() {
    uint64_t served = 0;
    for (;;) {
      auto last = std::chrono::steady_clock::now();
      for (int64_t polls = 0;; ++polls) {
        if (TryServe(served)) {
          last = std::chrono::steady_clock::now();
          polls = 0;
          continue;
        }
        if (polls < 2000) {
          CpuRelax();  // a few tens of microseconds of pure spinning: the next call is near
          continue;
        }
        if (std::chrono::steady_clock::now() - last > std::chrono::duration<double>(kPollSeconds)) {
          break;
        }
        std::this_thread::yield();  // poll, but let any other runnable thread have the core
      }
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      cv_.wait(lock, [&] {
        const uint64_t s = state_.load(std::memory_order_seq_cst);
        return (s >> 16) != served && (s & 0xFFFF) != 0;
      });
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  std::mutex busy_;                       // held by the caller of the current job
  std::atomic<uint64_t> state_{0};        // generation << 16 | open slots
  const std::function<void()>* work_ = nullptr;
  std::atomic<int64_t> done_{0};          // helpers of the current job that finished
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

// Runs units 0..n-1 on the caller plus up to `pool.NumThreads() - 1` helpers: tasks on XLA's
// pool, or, with `latency_bound` (a short call made often, such as a matmul of a few decode
// rows), this library's team (`Team`) when it is free. Workers claim units from a shared
// counter, so the caller only ever waits for units already being worked on. `make_worker()` is
// called once per worker and returns its `void(int64_t unit)` (a worker's scratch space lives
// in that callable).
//
// Only latency-bound calls use the team: its polling thread holds a core for a moment after
// each job, which a batched step's own multithreaded XLA ops then lack (64-sequence steps
// measured 5-10% slower with every call on the team).
template <typename MakeWorker>
void ParallelFor(int64_t n, Pool& pool, MakeWorker make_worker, bool latency_bound = false) {
  if (n <= 0) return;
  const int64_t helpers = std::min<int64_t>(pool.NumThreads(), n) - 1;
  if (helpers > 0 && latency_bound) {
    std::atomic<int64_t> next{0};
    const std::function<void()> work = [&next, n, &make_worker] {
      auto run = make_worker();
      for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) run(i);
    };
    if (Team::Get().Run(helpers, work)) return;
  }
  PoolParallelFor(n, pool, helpers, make_worker);
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
