// Crash and concurrency tests, in-process via fork: a child killed at each
// crash point ($ARK_REGISTRY_CRASH_AT) leaves a registry where every version
// is whole or absent and gc reclaims the rest; several writer processes at
// once lose nothing.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "ark/format/error.h"
#include "ark/registry/registry.h"
#include "registry_test_util.h"

namespace ark::registry {
namespace {

using testing::PieceFiles;
using testing::Ramp;
using testing::ReadAll;
using testing::TempDir;
using testing::WriteArk;

// Runs fn in a child process; returns its exit status (or -signal).
template <class F>
int InChild(F fn) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    int status = 0;
    try {
      status = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      status = 1;
    }
    _exit(status);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

TEST(CrashTest, EveryCrashPointLeavesWholeVersionsOnly) {
  int crashes = 0;
  for (int k = 1; k < 100; ++k) {
    TempDir dir;
    const std::string root = dir.File("reg");
    const std::string a = dir.File("a.ark"), b = dir.File("b.ark");
    WriteArk(a, {Ramp(3000, 1), Ramp(200, 2)});
    WriteArk(b, {Ramp(3000, 1), Ramp(300, 3)});  // shares an array with a
    {
      auto reg = Registry::Open(root, true);
      reg->Register("m", a, {});
      reg->SetAlias("m", "production", 1);
    }
    const int status = InChild([&] {
      setenv("ARK_REGISTRY_CRASH_AT", std::to_string(k).c_str(), 1);
      auto reg = Registry::Open(root);
      reg->Register("m", b, {});
      reg->SetAlias("m", "production", 2, "promote");
      reg->Delete("m", 1, "superseded");
      reg->Gc();
      return 0;
    });
    ASSERT_TRUE(status == 0 || status == 86) << "k=" << k << " status " << status;
    // Whatever point it died at: every live version re-assembles byte for byte,
    // the alias points at a live version, and the audit has no phantom.
    auto reg = Registry::Open(root);
    const auto versions = reg->ListVersions("m");
    ASSERT_FALSE(versions.empty());
    for (const auto& v : versions) {
      const std::string out = dir.File("out" + std::to_string(v.version));
      ASSERT_NO_THROW(reg->Get("m", v.version, out)) << "k=" << k;
      EXPECT_EQ(ReadAll(out), ReadAll(v.version == 1 ? a : b)) << "k=" << k;
    }
    const int64_t prod = reg->GetModel("m").aliases.at("production");
    EXPECT_EQ(reg->GetVersion("m", prod).status, "READY");
    std::set<int64_t> registered;
    for (const auto& e : reg->History("m")) {
      if (e.action == "register") registered.insert(e.version);
    }
    EXPECT_EQ(registered.size(), reg->ListVersions("m", true).size()) << "k=" << k;
    // gc leaves exactly the pieces of live versions, and they still assemble.
    reg->Gc();
    for (const auto& v : reg->ListVersions("m")) {
      ASSERT_NO_THROW(reg->Get("m", v.version, dir.File("again"))) << "k=" << k;
    }
    // And the registry keeps working.
    EXPECT_NO_THROW(reg->Register("m", b, {}));
    if (status == 0) {
      EXPECT_GT(crashes, 8) << "too few crash points reached";
      return;
    }
    ++crashes;
  }
  FAIL() << "the child never finished";
}

// Gc killed at each of its points while it deletes a dead pack and repacks
// a mostly dead one: live versions stay whole, the next gc finishes the job.
TEST(CrashTest, GcKilledWhileRepackingLosesNothing) {
  bool finished = false;
  for (int k = 1; k < 40 && !finished; ++k) {
    TempDir dir;
    const std::string root = dir.File("reg");
    const std::string a = dir.File("a.ark"), b = dir.File("b.ark"), c = dir.File("c.ark");
    WriteArk(a, {Ramp(1000, 1), Ramp(20'000, 2)});  // shares Ramp(1000, 1) with b
    WriteArk(b, {Ramp(1000, 1), Ramp(300, 3)});
    WriteArk(c, {Ramp(500, 4)});
    {
      auto reg = Registry::Open(root, true);
      reg->Register("m", a, {});
      reg->Register("m", b, {});
      reg->Register("n", c, {});
      reg->Delete("m", 1);  // a's pack: mostly dead -> repacked
      reg->Delete("n", 1);  // c's pack: all dead -> deleted
    }
    const int status = InChild([&] {
      setenv("ARK_REGISTRY_CRASH_AT", std::to_string(k).c_str(), 1);
      Registry::Open(root)->Gc();
      return 0;
    });
    ASSERT_TRUE(status == 0 || status == 86) << "k=" << k << " status " << status;
    finished = status == 0;
    auto reg = Registry::Open(root);
    ASSERT_NO_THROW(reg->Get("m", 2, dir.File("out"))) << "k=" << k;
    EXPECT_EQ(ReadAll(dir.File("out")), ReadAll(b)) << "k=" << k;
    reg->Gc();
    EXPECT_EQ(reg->Gc().pieces_removed, 0u) << "k=" << k;
    ASSERT_NO_THROW(reg->Get("m", 2, dir.File("out"))) << "k=" << k;
    EXPECT_EQ(ReadAll(dir.File("out")), ReadAll(b)) << "k=" << k;
    // Only b's pieces are left: header, two arrays, tail.
    EXPECT_EQ(PieceFiles(root).first, 4u) << "k=" << k;
    if (finished) {
      EXPECT_GT(k, 4) << "too few gc crash points reached";
    }
  }
  EXPECT_TRUE(finished) << "gc never finished";
}

TEST(ConcurrencyTest, WritersInSeveralProcessesLoseNothing) {
  TempDir dir;
  const std::string root = dir.File("reg");
  Registry::Open(root, true);
  constexpr int kProcs = 4, kEach = 5;
  for (int p = 0; p < kProcs; ++p) {
    for (int i = 0; i < kEach; ++i) {
      WriteArk(dir.File("p" + std::to_string(p) + "-" + std::to_string(i)), {Ramp(500, p * 100 + i)});
    }
  }
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      int status = 0;
      try {
        auto reg = Registry::Open(root);
        for (int i = 0; i < kEach; ++i) {
          RegisterOptions o;
          o.tags = {{"proc", std::to_string(p)}};
          const auto v = reg->Register("m", dir.File("p" + std::to_string(p) + "-" + std::to_string(i)), o);
          reg->SetAlias("m", "latest-" + std::to_string(p), v.version);
          reg->SetTag("m", 0, "last-writer", std::to_string(p));
          if (i == 2) reg->Gc();
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", p, e.what());
        status = 1;
      }
      _exit(status);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto reg = Registry::Open(root);
  const auto versions = reg->ListVersions("m");
  ASSERT_EQ(versions.size(), static_cast<size_t>(kProcs * kEach));
  for (size_t i = 0; i < versions.size(); ++i) {
    EXPECT_EQ(versions[i].version, static_cast<int64_t>(i + 1));
    ASSERT_NO_THROW(reg->Get("m", versions[i].version, dir.File("out")));
  }
  EXPECT_EQ(reg->GetModel("m").aliases.size(), static_cast<size_t>(kProcs));
  int registers = 0;
  for (const auto& e : reg->History("m")) registers += e.action == "register";
  EXPECT_EQ(registers, kProcs * kEach);
}

// A write the OS refuses (here EFBIG from RLIMIT_FSIZE, standing in for
// ENOSPC) is a kIo error naming the registry; no version, no temporary left.
TEST(DiskFullTest, RefusedWriteChangesNothing) {
  TempDir dir;
  const std::string root = dir.File("reg");
  Registry::Open(root, true);
  WriteArk(dir.File("big.ark"), {Ramp(200'000, 1)});  // 1.6 MB
  const int status = InChild([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {500'000, 500'000};
    setrlimit(RLIMIT_FSIZE, &limit);
    auto reg = Registry::Open(root);
    try {
      reg->Register("m", dir.File("big.ark"), {});
    } catch (const Error& e) {
      const std::string msg = e.what();
      if (e.code() != ErrorCode::kIo || msg.find(root) == std::string::npos) {
        std::fprintf(stderr, "unexpected error: %s\n", msg.c_str());
        return 2;
      }
      return 0;
    }
    return 3;  // registered beyond the limit?
  });
  ASSERT_EQ(status, 0);
  auto reg = Registry::Open(root);
  EXPECT_TRUE(reg->ListModels().empty());
  EXPECT_TRUE(reg->History("").empty());
  for (const auto& e : std::filesystem::recursive_directory_iterator(root + "/packs")) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
  EXPECT_NO_THROW(reg->Register("m", dir.File("big.ark"), {}));
}

}  // namespace
}  // namespace ark::registry
