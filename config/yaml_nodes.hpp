// Helpers for the config loader (config.cpp) that know YAML but not the
// schema: a node's place and description, message paths, syntax hints.
#pragma once

#include <yaml-cpp/yaml.h>

#include <span>
#include <string>
#include <string_view>

#include "config/values.hpp"

namespace wirespeed::config::detail {

// Where `node` is, 1-based; `fallback` (the key's place) for an empty or
// missing value, whose own mark points at the next token.
Place place_of(const YAML::Node& node, Place fallback);
// What a node is, for "got ..." in messages: "nothing", "a list", "a
// mapping" or the scalar quoted and cut short. Never pass key material.
std::string describe(const YAML::Node& node);
// "a.b" and "a[3]": paths of values for messages.
std::string join_path(const std::string& path, std::string_view key);
std::string index_path(const std::string& path, size_t i);
// "a, b, c".
std::string list_names(std::span<const std::string_view> names);
// A hint appended to yaml-cpp's syntax error at 0-based `line` of `text`
// (tabs, an unquoted IPv6 endpoint), or "".
std::string syntax_hint(const std::string& text, int line);

}  // namespace wirespeed::config::detail
