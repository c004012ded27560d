// Helpers for the `wirespeed` command's tests: call a subcommand with its
// streams in memory, run a shell command and keep its output and status, and
// a temporary directory removed at the end.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace wirespeed::test::cli {

struct Captured {
  int status = -1;
  std::string out;
  std::string err;
};

// Calls `command(argc, argv, in?, out, err)` with argv = words and the given
// stdin text; returns status and both outputs.
template <typename Command>
Captured call(Command command, std::vector<std::string> words, const std::string& input = "") {
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  char* out_buf = nullptr;
  size_t out_len = 0;
  char* err_buf = nullptr;
  size_t err_len = 0;
  FILE* out = open_memstream(&out_buf, &out_len);
  FILE* err = open_memstream(&err_buf, &err_len);
  std::string in_copy = input;
  FILE* in = fmemopen(in_copy.empty() ? nullptr : in_copy.data(), in_copy.size(), "r");
  if (in == nullptr) in = fopen("/dev/null", "r");
  Captured c;
  c.status = command(static_cast<int>(words.size()), argv.data(), in, out, err);
  fclose(in);
  fclose(out);
  fclose(err);
  c.out.assign(out_buf, out_len);
  c.err.assign(err_buf, err_len);
  free(out_buf);
  free(err_buf);
  return c;
}

// Runs `sh -c script`, stdout and stderr kept apart; status is the exit
// status (127: the shell could not find the program).
inline Captured shell(const std::string& script) {
  char err_path[] = "/tmp/ws_cli_test_errXXXXXX";
  const int fd = mkstemp(err_path);
  if (fd >= 0) close(fd);
  Captured c;
  FILE* p = popen(("( " + script + " ) 2>" + err_path).c_str(), "r");
  if (p == nullptr) return c;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) c.out.append(buf, n);
  const int status = pclose(p);
  c.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_path);
  c.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  unlink(err_path);
  return c;
}

class TempDir {
 public:
  TempDir() {
    char path[] = "/tmp/ws_cli_testXXXXXX";
    if (mkdtemp(path) != nullptr) path_ = path;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  // Writes `text` to DIR/name (mode 0600) and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    std::filesystem::permissions(
        p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return p;
  }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace wirespeed::test::cli
