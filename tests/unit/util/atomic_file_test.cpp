// SPDX-License-Identifier: MIT
// Atomic writes: refusal to replace other data, cleanup of temporaries when interrupted (a
// forked child that is sent SIGINT / SIGTERM mid-write, or killed outright), stale cleanup.
#include "util/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "testing/test_data.h"
#include "util/error.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string slurp(const fs::path& p) { return read_file(p); }

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) names.push_back(name);
  }
  return names;
}

// A PID that belonged to a process that has exited (and been reaped).
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

struct Child {
  pid_t pid = -1;
  int status = 0;
};

// Forks a child that runs `body` after telling the parent (through a pipe) that it reached
// the point `body` signals with the given callback; the parent then runs `act` on the child.
// stderr of the child goes to `err_file`.
template <typename Body>
Child run_child_until_ready(const fs::path& err_file, Body body) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::close(fds[0]);
    std::FILE* err = std::freopen(err_file.c_str(), "w", stderr);
    (void)err;
    const int ready_fd = fds[1];
    body([ready_fd] {
      const char byte = 'r';
      if (::write(ready_fd, &byte, 1) != 1) ::_exit(90);
      for (;;) ::pause();  // wait to be signalled or killed
    });
    ::_exit(0);
  }
  ::close(fds[1]);
  char byte = 0;
  EXPECT_EQ(::read(fds[0], &byte, 1), 1) << "child never got ready";
  ::close(fds[0]);
  return c;
}

TEST(AtomicFile, WritesAndReplacesAFile) {
  TempDir tmp;
  const fs::path p = tmp.path() / "a.txt";
  write_file_atomic(p, "one");
  write_file_atomic(p, "two");
  EXPECT_EQ(slurp(p), "two");
  EXPECT_TRUE(leftovers(tmp.path()).empty());
}

TEST(AtomicFile, FailedFillLeavesTheOldFileAndNoTemporary) {
  TempDir tmp;
  const fs::path p = tmp.path() / "a.txt";
  write_file_atomic(p, "old");
  EXPECT_THROW(write_file_atomic_with(p,
                                      [](std::FILE* f) {
                                        std::fputs("half", f);
                                        throw Error("disk full");
                                      }),
               Error);
  EXPECT_EQ(slurp(p), "old");
  EXPECT_TRUE(leftovers(tmp.path()).empty());
}

TEST(AtomicFile, CrashMidWriteLeavesTheOldFileIntact) {
  // A child killed with SIGKILL (no cleanup possible) while streaming the new contents.
  TempDir tmp;
  const fs::path p = tmp.path() / "weights.bin";
  write_file_atomic(p, "the old contents");
  Child c = run_child_until_ready(tmp.path() / "err", [&](auto ready) {
    write_file_atomic_with(p, [&](std::FILE* f) {
      std::fputs("the new contents, half wri", f);
      std::fflush(f);
      ready();
    });
  });
  ::kill(c.pid, SIGKILL);
  ::waitpid(c.pid, &c.status, 0);
  ASSERT_TRUE(WIFSIGNALED(c.status));
  EXPECT_EQ(slurp(p), "the old contents");
  // The killed writer's temporary is stale now, and the next writer's sweep removes it.
  ASSERT_EQ(leftovers(tmp.path()).size(), 1u);
  const auto report = remove_stale_temporaries(p);
  EXPECT_EQ(report.size(), 1u);
  EXPECT_TRUE(leftovers(tmp.path()).empty());
  EXPECT_EQ(slurp(p), "the old contents");
}

TEST(AtomicFile, DirectoryRefusesFilesAndForeignDirectories) {
  TempDir tmp;
  const fs::path file = tmp.path() / "file";
  write_file_atomic(file, "data");
  auto fill = [](const fs::path& d) { write_file_atomic(d / "x", "x"); };
  auto yes = [](const fs::path&) { return true; };
  auto no = [](const fs::path&) { return false; };
  EXPECT_THROW(write_directory_atomic(file, fill, yes), InvalidArgument);
  EXPECT_EQ(slurp(file), "data");
  const fs::path dir = tmp.path() / "dir";
  write_directory_atomic(dir, fill);
  EXPECT_THROW(write_directory_atomic(dir, fill), InvalidArgument);
  EXPECT_THROW(write_directory_atomic(dir, fill, no), InvalidArgument);
  write_directory_atomic(
      dir, [](const fs::path& d) { write_file_atomic(d / "y", "y"); }, yes);
  EXPECT_FALSE(fs::exists(dir / "x"));
  EXPECT_EQ(slurp(dir / "y"), "y");
  EXPECT_TRUE(leftovers(tmp.path()).empty());
}

void expect_interrupt_cleans_up(int sig) {
  TempDir tmp;
  const fs::path out = tmp.path() / "ckpt";
  Child c = run_child_until_ready(tmp.path() / "err", [&](auto ready) {
    ::signal(sig, SIG_DFL);  // a test runner started in the background may ignore SIGINT
    install_interrupt_cleanup();
    write_directory_atomic(out, [&](const fs::path& d) {
      write_file_atomic(d / "config.json", "{}");
      write_file_atomic_with(d / "model.safetensors", [&](std::FILE* f) {
        std::fputs("partial", f);
        std::fflush(f);
        ready();
      });
    });
  });
  ASSERT_EQ(leftovers(tmp.path()).size(), 1u);  // .ckpt.tmp.PID exists mid-write
  ::kill(c.pid, sig);
  ::waitpid(c.pid, &c.status, 0);
  ASSERT_TRUE(WIFEXITED(c.status)) << "killed by the signal instead of cleaning up";
  EXPECT_EQ(WEXITSTATUS(c.status), 128 + sig);
  EXPECT_NE(slurp(tmp.path() / "err").find("interrupted"), std::string::npos);
  EXPECT_TRUE(leftovers(tmp.path()).empty());
  EXPECT_FALSE(fs::exists(out));
}

TEST(AtomicFile, SigintMidWriteRemovesTheTemporaryDirectory) { expect_interrupt_cleans_up(SIGINT); }
TEST(AtomicFile, SigtermMidWriteRemovesTheTemporaryDirectory) {
  expect_interrupt_cleans_up(SIGTERM);
}

TEST(AtomicFile, StaleTemporariesOfDeadProcessesAreRemoved) {
  TempDir tmp;
  const fs::path out = tmp.path() / "out";
  const pid_t dead = dead_pid();
  const fs::path stale = tmp.path() / (".out.tmp." + std::to_string(dead));
  const fs::path stale_old = tmp.path() / (".out.tmp." + std::to_string(dead) + ".old");
  const fs::path live = tmp.path() / (".out.tmp." + std::to_string(::getppid()));
  const fs::path other = tmp.path() / ".other.tmp.1";
  for (const auto& d : {stale, stale_old, live}) fs::create_directories(d / "sub");
  fs::create_directories(out);
  fs::create_directories(other);
  const auto report = remove_stale_temporaries(out);
  EXPECT_EQ(report.size(), 2u);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_old));
  EXPECT_TRUE(fs::exists(live));   // a running process's temporary is not ours to remove
  EXPECT_TRUE(fs::exists(other));  // another target's
}

TEST(AtomicFile, StaleOldDirectoryIsRestoredWhenTheTargetIsMissing) {
  // Killed between moving the previous output aside and moving the new one in.
  TempDir tmp;
  const fs::path out = tmp.path() / "out";
  const fs::path old = tmp.path() / (".out.tmp." + std::to_string(dead_pid()) + ".old");
  fs::create_directories(old);
  write_file_atomic(old / "config.json", "previous");
  const auto report = remove_stale_temporaries(out);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_NE(report[0].find("restored"), std::string::npos);
  EXPECT_EQ(slurp(out / "config.json"), "previous");
}

}  // namespace
}  // namespace lowbit
