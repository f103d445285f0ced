// ThreadPool: a fixed set of worker threads that run the tasks of
// ParallelFor calls. The calling thread works too, so a pool of `threads`
// uses threads - 1 workers. Several callers may run ParallelFor at once;
// their tasks interleave on the workers.
//
// Thread safety: ParallelFor may be called from any thread. The destructor
// waits for the workers; no call may be running then.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ark::runtime {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(0) ... fn(n - 1), each once, on the caller and the workers, and
  // returns when all have finished. If tasks throw, the exception of the
  // lowest-numbered failing task is rethrown (tasks after it still run).
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

 private:
  struct Job;
  void WorkerLoop();
  static void RunTasks(Job& job);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ark::runtime
