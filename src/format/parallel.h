// Small concurrency helpers of the format layer: a persistent worker pool for
// the writer's background compression, and a parallel-for for one-shot work
// such as decoding the chunks of a blob.
//
// Thread safety: WorkerPool::Submit may be called from any thread.
// Exceptions: ParallelFor rethrows the first exception a task threw, after
// every started task has finished; WorkerPool tasks must not throw (they
// report failure through their own state).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ark::format {

// The number of threads to use for a requested count, 0 meaning one per core.
int ResolveThreadCount(int requested);

class WorkerPool {
 public:
  // Starts `threads` workers (at least one).
  explicit WorkerPool(int threads);
  // Runs every queued task, then joins the workers.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` to run on some worker. REQUIRES: `task` does not throw.
  void Submit(std::function<void()> task);
  int size() const { return static_cast<int>(workers_.size()); }

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Calls fn(i) for every i in [0, count), on up to `threads` threads including
// the caller's. Returns when all calls have finished; rethrows the first
// exception thrown (remaining indices are then skipped).
void ParallelFor(size_t count, int threads, const std::function<void(size_t)>& fn);

}  // namespace ark::format
