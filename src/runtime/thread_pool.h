// ThreadPool: a fixed set of worker threads that run the tasks of
// ParallelFor calls. The calling thread works too, so a pool of `threads`
// uses threads - 1 workers. Several callers may run ParallelFor at once;
// their tasks interleave on the workers.
//
// A worker that runs out of tasks polls for new ones for kSpin before it
// sleeps, so that calls in quick succession find it awake. ParallelForAwake
// is for work too short to pay for waking a thread (one row): it shares only
// with workers already awake and never blocks.
//
// Thread safety: ParallelFor and ParallelForAwake may be called from any
// thread. The destructor waits for the workers; no call may be running then.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ark::runtime {

class ThreadPool {
 public:
  // How long an idle worker polls before it sleeps.
  static constexpr std::chrono::microseconds kSpin{100};

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Workers not asleep (busy, or polling for work): what ParallelForAwake
  // can count on.
  int awake_workers() const { return awake_.load(); }

  // Runs fn(0) ... fn(n - 1), each once, on the caller and the workers, and
  // returns when all have finished. If tasks throw, the exception of the
  // lowest-numbered failing task is rethrown (tasks after it still run).
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

  // The same, but shared only with workers that are awake (busy, or polling
  // after their last task), and waited for by polling. When every worker
  // sleeps, the caller runs all the tasks, then wakes one worker so that
  // the calls that follow find help.
  void ParallelForAwake(size_t n, const std::function<void(size_t)>& fn);

 private:
  struct Job;
  void WorkerLoop();
  static void RunTasks(Job& job);
  std::shared_ptr<Job> Post(size_t n, const std::function<void(size_t)>& fn);
  void Retire(const std::shared_ptr<Job>& job);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<bool> stop_{false};
  // Jobs and nudges posted so far, changed under mutex_; idle workers poll
  // it, sleeping ones wait for it to change.
  std::atomic<uint64_t> posted_{0};
  std::atomic<int> awake_{0};        // workers not asleep on wake_
  std::vector<std::thread> workers_;
};

}  // namespace ark::runtime
