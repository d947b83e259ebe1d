// SPDX-License-Identifier: MIT
// Implementation of atomic file and directory writes, and of their cleanup on interruption.
#include "util/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "util/error.h"

namespace lowbit {
namespace fs = std::filesystem;

namespace {

// Temporaries in progress. Never destroyed (the cleanup thread may use it during exit).
struct Registry {
  std::mutex mutex;
  std::set<fs::path> paths;
};
Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

// Registers a temporary for the lifetime of the object.
class RegisteredTemporary {
 public:
  explicit RegisteredTemporary(fs::path path) : path_(std::move(path)) {
    std::lock_guard lock(registry().mutex);
    registry().paths.insert(path_);
  }
  ~RegisteredTemporary() {
    std::lock_guard lock(registry().mutex);
    registry().paths.erase(path_);
  }
  RegisteredTemporary(const RegisteredTemporary&) = delete;
  RegisteredTemporary& operator=(const RegisteredTemporary&) = delete;

 private:
  fs::path path_;
};

constexpr std::string_view kTmpMark = ".tmp.";

// "out/" names the same directory as "out".
fs::path without_trailing_slash(const fs::path& path) {
  return path.has_filename() || !path.has_parent_path() ? path : path.parent_path();
}

fs::path temporary_sibling(const fs::path& path) {
  fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  return parent / concat(".", path.filename().string(), kTmpMark, ::getpid());
}

// remove_all that retries: a writer may add a file between its listing and the rmdir.
void remove_tree(const fs::path& path) {
  std::error_code ec;
  for (int attempt = 0; attempt < 5; ++attempt) {
    fs::remove_all(path, ec);
    if (!fs::exists(fs::symlink_status(path, ec))) return;
  }
}

bool process_running(long pid) {
  if (pid <= 0) return true;  // not a PID we can judge: leave it alone
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// Swaps two paths atomically; false when the file system cannot (the caller falls back).
bool exchange_paths(const fs::path& a, const fs::path& b) {
#ifdef RENAME_EXCHANGE
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
  (void)a;
  (void)b;
  return false;
#endif
}

bool is_empty_directory(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(dir, ec)) && fs::is_empty(dir, ec) && !ec;
}

void check_replaceable(const fs::path& dir,
                       const std::function<bool(const fs::path&)>& may_replace) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(dir, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st))
    throw InvalidArgument(
        concat(dir.string(), ": exists and is not a directory; not replacing it"));
  if (is_empty_directory(dir)) return;
  if (!may_replace || !may_replace(dir))
    throw InvalidArgument(concat(dir.string(), ": exists; not replacing it"));
}

// The self-pipe: the signal handler only write()s the signal number into it (async-signal-safe);
// the cleanup thread reads it and does the real work as ordinary code.
int g_interrupt_pipe[2] = {-1, -1};

extern "C" void on_interrupt(int sig) {
  const int saved_errno = errno;
  const auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(g_interrupt_pipe[1], &byte, 1);
  errno = saved_errno;
}

void cleanup_thread(int read_fd) {
  unsigned char byte = 0;
  for (;;) {
    const ssize_t n = ::read(read_fd, &byte, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    return;  // the pipe is gone: nothing to wait for
  }
  const int sig = byte;
  // Hold the lock until _exit: no rename into place starts, none is half done.
  registry().mutex.lock();
  for (const fs::path& p : registry().paths) remove_tree(p);
  const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
  std::fprintf(stderr, "lowbit: interrupted (%s)%s\n", name,
               registry().paths.empty() ? "" : "; removed the partial output");
  std::fflush(stderr);
  ::_exit(128 + sig);
}

}  // namespace

void install_interrupt_cleanup() {
  if (g_interrupt_pipe[0] >= 0) return;                   // once
  if (::pipe2(g_interrupt_pipe, O_CLOEXEC) != 0) return;  // no cleanup: default behaviour
  std::thread(cleanup_thread, g_interrupt_pipe[0]).detach();
  for (int sig : {SIGINT, SIGTERM}) {
    // A signal the parent chose to ignore (nohup, a background job) stays ignored.
    struct sigaction current {};
    if (::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(sig, &action, nullptr);
  }
}

std::vector<std::string> remove_stale_temporaries(const fs::path& target_path) {
  const fs::path target = without_trailing_slash(target_path);
  std::vector<std::string> report;
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = concat(".", target.filename().string(), kTmpMark);
  std::error_code ec;
  std::vector<std::pair<fs::path, long>> stale;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string rest = name.substr(prefix.size());
    const bool old = rest.size() > 4 && rest.compare(rest.size() - 4, 4, ".old") == 0;
    if (old) rest.resize(rest.size() - 4);
    if (rest.empty() || rest.find_first_not_of("0123456789") != std::string::npos ||
        rest.size() > 9)
      continue;
    const long pid = std::stol(rest);
    if (pid == ::getpid() || process_running(pid)) continue;
    stale.emplace_back(it->path(), pid);
  }
  for (const auto& [path, pid] : stale) {
    const bool old = path.string().ends_with(".old");
    if (old && !fs::exists(fs::symlink_status(target, ec))) {
      // Killed between moving the previous output aside and moving the new one in.
      fs::rename(path, target, ec);
      if (!ec) {
        report.push_back(concat("restored ", target.string(), " from ", path.string(),
                                " (left by interrupted process ", pid, ")"));
        continue;
      }
    }
    remove_tree(path);
    report.push_back(concat("removed stale temporary ", path.string(),
                            " (left by interrupted process ", pid, ")"));
  }
  return report;
}

void write_file_atomic_with(const fs::path& path, const std::function<void(std::FILE*)>& fill) {
  const fs::path tmp = temporary_sibling(path);
  RegisteredTemporary registered(tmp);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw Error(concat(path.string(), ": cannot write: ", std::strerror(errno)));
  try {
    fill(f);
    if (std::fflush(f) != 0 || std::ferror(f) != 0)
      throw Error(concat(path.string(), ": write failed: ", std::strerror(errno)));
  } catch (...) {
    std::fclose(f);
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  if (std::fclose(f) != 0) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error(concat(path.string(), ": close failed: ", std::strerror(errno)));
  }
  std::lock_guard lock(registry().mutex);  // the rename is not interrupted half-way
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(concat(path.string(), ": cannot rename temporary file into place"));
  }
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  write_file_atomic_with(path, [&](std::FILE* f) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
      throw Error(concat(path.string(), ": write failed"));
  });
}

void write_directory_atomic(const fs::path& dir_path,
                            const std::function<void(const fs::path&)>& fill,
                            const std::function<bool(const fs::path&)>& may_replace) {
  const fs::path dir = without_trailing_slash(dir_path);
  check_replaceable(dir, may_replace);  // before any work
  const fs::path tmp = temporary_sibling(dir);
  const fs::path old = tmp.string() + ".old";
  RegisteredTemporary registered_tmp(tmp);
  RegisteredTemporary registered_old(old);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw Error(concat(dir.string(), ": cannot create directory: ", ec.message()));
  try {
    fill(tmp);
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  std::unique_lock lock(registry().mutex);  // no interruption between here and the end
  try {
    check_replaceable(dir, may_replace);  // again: the path may have changed meanwhile
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  if (fs::exists(fs::symlink_status(dir, ec))) {
    if (exchange_paths(tmp, dir)) {
      remove_tree(tmp);  // now the previous contents
      return;
    }
    fs::rename(dir, old, ec);
    if (ec) {
      remove_tree(tmp);
      throw Error(concat(dir.string(), ": cannot replace existing output: ", ec.message()));
    }
    fs::rename(tmp, dir, ec);
    if (ec) {
      fs::rename(old, dir, ec);  // put the previous output back
      remove_tree(tmp);
      throw Error(concat(dir.string(), ": cannot move output into place"));
    }
    remove_tree(old);
    return;
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    remove_tree(tmp);
    throw Error(concat(dir.string(), ": cannot move output into place: ", ec.message()));
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(concat(path.string(), ": cannot open"));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace lowbit
