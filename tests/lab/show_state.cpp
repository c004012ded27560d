// `wirespeed-controlplane --show` parsed for the lab tests
// (tests/lab/gateway_lab.hpp: ShowState).
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "tests/lab/gateway_lab.hpp"

namespace wirespeed::test::lab {
namespace {

bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

uint64_t ShowState::counter(const std::string& name) const {
  const auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

uint64_t ShowState::drop(const std::string& reason) const {
  const auto it = drops.find(reason);
  return it == drops.end() ? 0 : it->second;
}

const std::map<std::string, std::string>* ShowState::peer(const std::string& public_key_b64) const {
  for (const auto& p : peers) {
    const auto it = p.find("public_key");
    if (it != p.end() && it->second == public_key_b64) return &p;
  }
  return nullptr;
}

int64_t ShowState::peer_number(const std::string& public_key_b64, const std::string& field) const {
  const auto* p = peer(public_key_b64);
  if (p == nullptr) return -1;
  const auto it = p->find(field);
  uint64_t v = 0;
  if (it == p->end() || !parse_u64(it->second, &v)) return -1;
  return static_cast<int64_t>(v);
}

bool parse_show(const std::string& text, ShowState* out, std::string* error) {
  *out = ShowState{};
  out->text = text;
  std::istringstream lines(text);
  std::string line;
  unsigned number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.empty()) continue;
    const auto bad = [&](const std::string& why) {
      *error = "--show line " + std::to_string(number) + " (" + line + "): " + why;
      return false;
    };
    if (w[0] == "interface") {
      if (w.size() < 2 || w.size() % 2 != 0) return bad("expected: interface NAME key value...");
      out->interface["name"] = w[1];
      for (size_t i = 2; i + 1 < w.size(); i += 2) out->interface[w[i]] = w[i + 1];
    } else if (w[0] == "peer") {
      if (w.size() < 2 || w.size() % 2 != 0) return bad("expected: peer SLOT key value...");
      std::map<std::string, std::string> peer{{"slot", w[1]}};
      for (size_t i = 2; i + 1 < w.size(); i += 2) peer[w[i]] = w[i + 1];
      out->peers.push_back(std::move(peer));
    } else if (w[0] == "counter" || w[0] == "drop") {
      uint64_t v = 0;
      if (w.size() != 3 || !parse_u64(w[2], &v)) return bad("expected: " + w[0] + " NAME NUMBER");
      (w[0] == "counter" ? out->counters : out->drops)[w[1]] = v;
    }
  }
  if (out->interface.empty()) {
    *error = "--show printed no 'interface' record:\n" + text;
    return false;
  }
  return true;
}

}  // namespace wirespeed::test::lab
