// SPDX-License-Identifier: MIT
// `quantize --out` and `synth --out` never destroy data that is not theirs: an ordinary file
// or a foreign directory is refused, a lowbit output is replaced only with --force, stale
// temporaries of interrupted runs are reported and removed, and SIGINT says "interrupted".
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "io/checkpoint.h"
#include "testing/test_data.h"
#include "util/atomic_file.h"

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

fs::path synth_tiny(const TempDir& tmp) {
  const fs::path hf = tmp.path() / "hf";
  const CommandResult r = run_lowbit("synth --preset tiny --out " + hf.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return hf;
}

CommandResult quantize(const fs::path& model, const fs::path& out, const std::string& extra = "") {
  return run_lowbit("quantize --model " + model.string() + " --scheme w8 --out " + out.string() +
                    " " + extra);
}

TEST(OutputPaths, QuantizeRefusesAnOrdinaryFile) {
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  const fs::path file = tmp.path() / "notes.txt";
  std::ofstream(file) << "precious";
  for (const std::string extra : {"", "--force"}) {
    const CommandResult r = quantize(hf, file, extra);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_regular_file(file));
    EXPECT_EQ(read_file(file), "precious");
  }
}

TEST(OutputPaths, QuantizeRefusesAForeignDirectoryEvenWithForce) {
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  const fs::path data = tmp.path() / "photos";
  fs::create_directories(data);
  std::ofstream(data / "cat.jpg") << "meow";
  for (const std::string extra : {"", "--force"}) {
    const CommandResult r = quantize(hf, data, extra);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("not a lowbit checkpoint"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(data / "cat.jpg"), "meow");
  }
}

TEST(OutputPaths, QuantizeReplacesACheckpointOnlyWithForce) {
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  const fs::path out = tmp.path() / "q";
  fs::create_directories(out);  // an empty directory is fine
  ASSERT_EQ(quantize(hf, out).exit_code, 0);
  const CommandResult again = quantize(hf, out);
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  const CommandResult forced = run_lowbit("quantize --model " + hf.string() +
                                          " --scheme w4g32 --force --out " + out.string());
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(io::read_checkpoint(out).quantization.at("scheme"), "w4g32");
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(OutputPaths, SynthRefusesOtherDataAndReplacesItsOwnWithForce) {
  TempDir tmp;
  const fs::path file = tmp.path() / "file";
  std::ofstream(file) << "x";
  EXPECT_EQ(run_lowbit("synth --preset tiny --out " + file.string()).exit_code, 2);
  EXPECT_TRUE(fs::is_regular_file(file));
  const fs::path hf = synth_tiny(tmp);
  const CommandResult again = run_lowbit("synth --preset tiny --out " + hf.string());
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(run_lowbit("synth --preset tiny --seed 7 --force --out " + hf.string()).exit_code, 0);
  // A lowbit checkpoint is not a synth output: synth does not replace it.
  const fs::path q = tmp.path() / "q";
  ASSERT_EQ(quantize(hf, q).exit_code, 0);
  EXPECT_EQ(run_lowbit("synth --preset tiny --force --out " + q.string()).exit_code, 2);
  EXPECT_TRUE(io::is_lowbit_checkpoint(q));
}

TEST(OutputPaths, StaleTemporariesAreReportedAndRemoved) {
  TempDir tmp;
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const fs::path out = tmp.path() / "hf";
  const fs::path stale = tmp.path() / (".hf.tmp." + std::to_string(dead));
  const fs::path stale_old = tmp.path() / (".hf.tmp." + std::to_string(dead) + ".old");
  fs::create_directories(stale / "x");
  fs::create_directories(stale_old);
  fs::create_directories(out);  // so the .old one is not a restore candidate
  const CommandResult r = run_lowbit("synth --preset tiny --out " + out.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("removed stale temporary " + stale.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(stale_old.string()), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_old));
}

TEST(OutputPaths, SigintSaysInterrupted) {
  // eval blocks opening a FIFO as its --text: a stand-in for any long run.
  TempDir tmp;
  const fs::path hf = synth_tiny(tmp);
  const fs::path fifo = tmp.path() / "text.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path err = tmp.path() / "err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (std::freopen(err.c_str(), "w", stderr) == nullptr) ::_exit(91);
    ::signal(SIGINT, SIG_DFL);  // a test runner started in the background may ignore SIGINT
    ::execl(LOWBIT_BINARY, LOWBIT_BINARY, "eval", "--model", hf.c_str(), "--text", fifo.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(92);
  }
  ::sleep(1);  // long enough to load the tiny model and block on the FIFO
  ::kill(pid, SIGINT);
  int status = 0;
  for (int i = 0; i < 1000 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) ::usleep(10000);
  if (::waitpid(pid, &status, WNOHANG) == 0) {  // still running after 10 s: not handled
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal, not handled";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(read_file(err).find("interrupted"), std::string::npos) << read_file(err);
}

}  // namespace
}  // namespace lowbit::testing
