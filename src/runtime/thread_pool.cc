#include "thread_pool.h"

#include <exception>
#include <limits>

namespace ark::runtime {

namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls `done` until it is true or `limit` has passed; true if it became
// true.
template <typename Done>
bool PollFor(std::chrono::microseconds limit, Done done) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (unsigned i = 1;; ++i) {
    if (done()) return true;
    CpuRelax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= until) return done();
  }
}

}  // namespace

struct ThreadPool::Job {
  const std::function<void(size_t)>* fn = nullptr;
  size_t n = 0;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mutex;
  std::condition_variable finished;
  size_t error_task = std::numeric_limits<size_t>::max();
  std::exception_ptr error;
};

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunTasks(Job& job) {
  for (;;) {
    const size_t i = job.next.fetch_add(1);
    if (i >= job.n) return;
    try {
      (*job.fn)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.mutex);
      if (i < job.error_task) {
        job.error_task = i;
        job.error = std::current_exception();
      }
    }
    if (job.done.fetch_add(1) + 1 == job.n) {
      std::lock_guard<std::mutex> lock(job.mutex);
      job.finished.notify_all();
    }
  }
}

void ThreadPool::WorkerLoop() {
  awake_.fetch_add(1);
  uint64_t seen = posted_.load();
  for (;;) {
    // Poll a while for a new job before sleeping.
    PollFor(kSpin, [&] { return posted_.load() != seen || stop_.load(); });
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!stop_ && queue_.empty() && posted_.load() == seen) {
        // Sleeps until something is posted (a job, or a nudge: then it
        // polls again, awake for the calls that follow).
        awake_.fetch_sub(1);
        wake_.wait(lock, [&] { return stop_ || posted_.load() != seen; });
        awake_.fetch_add(1);
      }
      if (stop_) return;
      seen = posted_.load();
      if (queue_.empty()) continue;
      job = queue_.front();
      // Every task is claimed once `next` passes n; drop the job then.
      if (job->next.load() >= job->n) {
        queue_.pop_front();
        continue;
      }
    }
    RunTasks(*job);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!queue_.empty() && queue_.front() == job) queue_.pop_front();
  }
}

std::shared_ptr<ThreadPool::Job> ThreadPool::Post(size_t n,
                                                  const std::function<void(size_t)>& fn) {
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(job);
  posted_.fetch_add(1);
  return job;
}

void ThreadPool::Retire(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (*it == job) {
        queue_.erase(it);
        break;
      }
    }
  }
  if (job->error) std::rethrow_exception(job->error);
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  const std::shared_ptr<Job> job = Post(n, fn);
  wake_.notify_all();
  RunTasks(*job);
  {
    std::unique_lock<std::mutex> lock(job->mutex);
    job->finished.wait(lock, [&] { return job->done.load() == job->n; });
  }
  Retire(job);
}

void ThreadPool::ParallelForAwake(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1 || awake_.load() == 0) {
    Job job;  // only for the exception rule
    job.fn = &fn;
    job.n = n;
    RunTasks(job);
    if (!workers_.empty() && n > 1) {
      // Nudge a worker awake for the calls that follow.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        posted_.fetch_add(1);
      }
      wake_.notify_one();
    }
    if (job.error) std::rethrow_exception(job.error);
    return;
  }
  const std::shared_ptr<Job> job = Post(n, fn);
  RunTasks(*job);
  // What is left runs on an awake worker: short, so poll rather than sleep.
  while (!PollFor(kSpin, [&] { return job->done.load() == job->n; })) {
    std::unique_lock<std::mutex> lock(job->mutex);
    job->finished.wait(lock, [&] { return job->done.load() == job->n; });
  }
  Retire(job);
}

}  // namespace ark::runtime
