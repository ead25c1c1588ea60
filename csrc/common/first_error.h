// Exceptions out of OpenMP regions. An exception that leaves a parallel region calls
// std::terminate (the process aborts, a std::bad_alloc in one thread takes Python down with it),
// so every body that may throw runs through FirstError::run: the first exception of the team is
// kept, the other threads skip their remaining work, and rethrow() raises it on the caller's
// thread once the team has joined.
#pragma once

#include <atomic>
#include <exception>
#include <mutex>
#include <utility>

namespace sslcore {

class FirstError {
 public:
  // Runs body(); an exception it throws is kept (the first of the team) instead of propagating.
  // Returns whether body completed.
  template <typename Body>
  bool run(Body&& body) noexcept {
    try {
      body();
      return true;
    } catch (...) {
      keep(std::current_exception());
      return false;
    }
  }

  // Whether any thread has failed: the others skip what is left rather than finish in vain.
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }

  // After the region: rethrows the kept exception, if any, on the calling thread.
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep(std::exception_ptr error) noexcept {
    const std::lock_guard<std::mutex> hold(lock_);
    if (!error_) error_ = std::move(error);
    failed_.store(true, std::memory_order_relaxed);
  }

  std::mutex lock_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

}  // namespace sslcore
