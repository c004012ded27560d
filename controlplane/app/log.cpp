// The control plane's log (log.hpp). Control-plane main thread.
//
// One event is one line, written with one write(2) so that lines from this
// process never interleave mid-line with anything else on the same stream.
// Under systemd (stdout is the journal stream named by $JOURNAL_STREAM) the
// line starts with the sd-daemon priority "<N>" that journald turns into the
// entry's priority, and carries no time (the journal has it); elsewhere it
// starts with an ISO 8601 UTC time to the millisecond.
#include "controlplane/app/log.hpp"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace wirespeed::controlplane::app {

namespace {

LogLevel g_level = LogLevel::kInfo;

// Longer messages are cut with "..." (a log line is not a data channel).
constexpr size_t kMaxMessage = 1024;

// True when stdout is the journal's stream: $JOURNAL_STREAM is "DEV:INODE"
// of the socket systemd connected, and a redirected stdout no longer matches.
bool stdout_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  if (fstat(STDOUT_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

// sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG.
int syslog_priority(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return 3;
    case LogLevel::kWarning:
      return 4;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kDebug:
      return 7;
  }
  return 6;
}

// Appends `text` with control characters shown as '?' so that one event
// stays one line whatever a caller formatted into it (an endpoint, a name
// from the config, an error string).
void append_one_line(std::string& out, const char* text, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
}

void write_all(const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: nothing better to do
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

void set_log_level(LogLevel level) noexcept {
  g_level = level;
}

LogLevel log_level() noexcept {
  return g_level;
}

const char* log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

void log(LogLevel level, const char* format, ...) {
  if (static_cast<uint8_t>(level) > static_cast<uint8_t>(g_level)) return;
  // Asked per line (a getenv and an fstat): stdout may be redirected while
  // we run, and a log line is an event, not a per-packet cost.
  const bool journal = stdout_is_journal();

  std::string line;
  line.reserve(64 + kMaxMessage);
  if (journal) {
    line += '<';
    line += static_cast<char>('0' + syslog_priority(level));
    line += '>';
  } else {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tm utc;
    gmtime_r(&ts.tv_sec, &utc);
    char stamp[40];
    const size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ ", ts.tv_nsec / 1000000);
    line += stamp;
  }
  line += log_level_name(level);
  line += ": ";

  char message[kMaxMessage + 1];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(message, sizeof(message), format, args);
  va_end(args);
  if (n < 0) {
    line += "(unformattable log message)";
  } else {
    const size_t len = static_cast<size_t>(n) < kMaxMessage ? static_cast<size_t>(n) : kMaxMessage;
    append_one_line(line, message, len);
    if (static_cast<size_t>(n) > kMaxMessage) line += "...";
  }
  line += '\n';
  write_all(line);
}

std::string peer_label(std::string_view name, const uint8_t public_key[32]) {
  if (!name.empty()) {
    std::string out;
    append_one_line(out, name.data(), name.size());
    return out;
  }
  char text[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(text, sizeof(text), public_key, 32, sodium_base64_VARIANT_ORIGINAL);
  std::string out(text, 8);
  out += "\xE2\x80\xA6";  // "…"
  return out;
}

}  // namespace wirespeed::controlplane::app
