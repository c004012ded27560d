// A minimal streaming JSON writer for `wirespeed show --json`: objects,
// arrays, strings (escaped per RFC 8259), unsigned integers, doubles, bools
// and null. The caller pairs begin/end; the writer places commas, and with
// `pretty` newlines and two-space indents. Not a general library: enough for
// one document of counters, and simple enough to read in one sitting.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace wirespeed::controlplane::cli {

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty) : pretty_(pretty) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  // The key of the next value inside an object.
  void key(std::string_view k) {
    separate();
    string_literal(k);
    out_ += pretty_ ? ": " : ":";
    after_key_ = true;
  }

  void value(std::string_view s) {
    separate();
    string_literal(s);
  }
  void value(const char* s) { value(std::string_view(s)); }
  void value(uint64_t n) {
    separate();
    out_ += std::to_string(n);
  }
  void value(unsigned n) { value(static_cast<uint64_t>(n)); }
  void value(bool b) {
    separate();
    out_ += b ? "true" : "false";
  }
  // Finite numbers with 4 decimals (ratios); JSON has no NaN.
  void value(double d) {
    separate();
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.4f", d == d ? d : 0.0);
    out_ += buf;
  }
  void null() {
    separate();
    out_ += "null";
  }

  template <typename T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }

  const std::string& text() const { return out_; }

 private:
  void open(char c) {
    separate();
    out_ += c;
    ++depth_;
    first_ = true;
  }
  void close(char c) {
    --depth_;
    if (!first_) newline();
    out_ += c;
    first_ = false;
  }
  // Before a value or key: a comma unless first in its container, and no
  // separation at all between a key and its value.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ == 0) return;
    if (!first_) out_ += ',';
    newline();
    first_ = false;
  }
  void newline() {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(static_cast<size_t>(depth_) * 2, ' ');
  }
  void string_literal(std::string_view s) {
    out_ += '"';
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += ch;
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out_ += buf;
      } else {
        out_ += ch;
      }
    }
    out_ += '"';
  }

  bool pretty_;
  int depth_ = 0;
  bool first_ = true;
  bool after_key_ = false;
  std::string out_;
};

}  // namespace wirespeed::controlplane::cli
