// Small helpers for reading a YAML document with yaml-cpp (yaml_nodes.hpp):
// where a node is, what it is, paths and lists for messages, and a hint for
// the syntax slips operators make most.
#include "config/yaml_nodes.hpp"

namespace wirespeed::config::detail {

Place place_of(const YAML::Node& node, Place fallback) {
  // An empty value ("key:" with nothing after it) is a null node whose mark
  // points at the next token, often on another line: the key is the honest place.
  if (!node.IsDefined() || node.IsNull()) return fallback;
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0 || mark.column < 0) return fallback;
  return Place{static_cast<unsigned>(mark.line) + 1, static_cast<unsigned>(mark.column) + 1};
}

// What a node is, for "got ..." in messages. Scalars are quoted (and cut
// short); callers reading key material never pass a scalar here.
std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return node.size() == 0 ? "an empty list" : "a list";
  if (node.IsMap()) return "a mapping";
  std::string out(1, '"');  // piecewise: see quoted() in values.cpp
  out += detail::printable(node.Scalar());
  out += '"';
  return out;
}

std::string join_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string list_names(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// yaml-cpp's syntax messages name the grammar ("end of map not found"); for
// the two slips operators make most, say what to write instead.
std::string syntax_hint(const std::string& text, int line) {
  if (line < 0) return "";
  size_t start = 0;
  for (int i = 0; i < line && start != std::string::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string::npos) ++start;
  }
  if (start == std::string::npos) return "";
  const std::string_view l(text.data() + start, text.find('\n', start) == std::string::npos
                                                    ? text.size() - start
                                                    : text.find('\n', start) - start);
  if (l.find('\t') != std::string_view::npos && l.find_first_not_of(" \t") > l.find('\t')) {
    return " (YAML indents with spaces, not tabs)";
  }
  const size_t colon = l.find(": [");
  if (colon != std::string_view::npos && l.find("]:", colon) != std::string_view::npos) {
    return " (quote an IPv6 endpoint: \"[2001:db8::2]:51820\"; unquoted, '[' starts a list)";
  }
  return "";
}

}  // namespace wirespeed::config::detail
