// Tests for the operator-facing sections of the config: `metrics:` (the
// Prometheus endpoint's port) and `log:` (the control plane's level). Read
// back when valid; every broken form placed at file:line:column with what
// was expected.
#include "tests/config/config_fixture.hpp"

namespace wirespeed::config {
namespace {

// kFull with `extra` appended after its last line (line 28), so the added
// text starts at line 29.
std::string full_plus(const std::string& extra) {
  return full_with(28, std::string("    allowed_ips: []\n") + extra);
}

TEST(ConfigObserve, DefaultsAreMetricsOffAndLevelInfo) {
  const LoadResult r = load(full_with(28, "    allowed_ips: []"));
  ASSERT_TRUE(r.config) << error_of(r);
  EXPECT_EQ(r.config->metrics_port, 0);
  EXPECT_EQ(r.config->log_level, LogLevel::kInfo);
}

TEST(ConfigObserve, MetricsPortIsRead) {
  const LoadResult r = load(full_plus("metrics:\n  port: 9586"));
  ASSERT_TRUE(r.config) << error_of(r);
  EXPECT_EQ(r.config->metrics_port, 9586);
}

TEST(ConfigObserve, FlowStyleWorksToo) {
  const LoadResult r = load(full_plus("metrics: {port: 65535}\nlog: {level: debug}"));
  ASSERT_TRUE(r.config) << error_of(r);
  EXPECT_EQ(r.config->metrics_port, 65535);
  EXPECT_EQ(r.config->log_level, LogLevel::kDebug);
}

TEST(ConfigObserve, EveryLogLevelIsRead) {
  const std::pair<const char*, LogLevel> levels[] = {{"error", LogLevel::kError},
                                                     {"warning", LogLevel::kWarning},
                                                     {"info", LogLevel::kInfo},
                                                     {"debug", LogLevel::kDebug}};
  for (const auto& [text, level] : levels) {
    const LoadResult r = load(full_plus(std::string("log:\n  level: ") + text));
    ASSERT_TRUE(r.config) << text << ": " << error_of(r);
    EXPECT_EQ(r.config->log_level, level) << text;
  }
}

TEST(ConfigObserve, SectionsMayComeBeforeTheOthers) {
  std::string text = "log:\n  level: warning\nmetrics:\n  port: 9100\n";
  for (const std::string& l : kFull) text += l + "\n";
  const LoadResult r = load(with_keys(text));
  ASSERT_TRUE(r.config) << error_of(r);
  EXPECT_EQ(r.config->metrics_port, 9100);
  EXPECT_EQ(r.config->log_level, LogLevel::kWarning);
}

struct ErrorCase {
  int id;
  const char* extra;  // appended after kFull: its first line is line 29
  unsigned want_line;
  unsigned want_column;
  const char* want;  // the whole message
};

// clang-format off
const ErrorCase kErrorCases[] = {
  {1, "metrics:\n  port: 0", 30, 9,
   "metrics.port: expected a whole number from 1 to 65535, got \"0\""},
  {2, "metrics:\n  port: 65536", 30, 9,
   "metrics.port: expected a whole number from 1 to 65535, got \"65536\""},
  {3, "metrics:\n  port: http", 30, 9,
   "metrics.port: expected a whole number from 1 to 65535, got \"http\""},
  {4, "metrics:\n  port: 09586", 30, 9,
   "metrics.port: expected a whole number from 1 to 65535, got \"09586\""},
  {5, "metrics:\n  port: [9586]", 30, 9,
   "metrics.port: expected a whole number from 1 to 65535, got a list"},
  {6, "metrics: 9586", 29, 10,
   "metrics: expected a mapping with keys port, got \"9586\""},
  {7, "metrics:\n  address: 0.0.0.0", 30, 3,
   "metrics: unknown key \"address\"; allowed keys are port"},
  {8, "metrics:\n  listen: 9586", 30, 3,
   "metrics: unknown key \"listen\"; allowed keys are port"},
  {9, "metrics: {}", 29, 10, "metrics: missing required key \"port\""},
  {10, "metrics:\n  port: 1\n  port: 2", 31, 3,
   "metrics: key \"port\" appears twice (first at line 30)"},
  {11, "log:\n  level: verbose", 30, 10,
   "log.level: expected one of error, warning, info, debug, got \"verbose\""},
  {12, "log:\n  level: INFO", 30, 10,
   "log.level: expected one of error, warning, info, debug, got \"INFO\""},
  {13, "log:\n  level: [info]", 30, 10,
   "log.level: expected one of error, warning, info, debug, got a list"},
  {14, "log:\n  file: /var/log/ws.log", 30, 3,
   "log: unknown key \"file\"; allowed keys are level"},
  {15, "log: debug", 29, 6, "log: expected a mapping with keys level, got \"debug\""},
  {16, "metrics:\n  port: 9586\nmetrics:\n  port: 9587", 31, 1,
   "key \"metrics\" appears twice (first at line 29)"},
  {17, "metric:\n  port: 9586", 29, 1,
   "unknown top-level key \"metric\"; allowed keys are interface, dataplane, peers, metrics, log"},
};
// clang-format on

TEST(ConfigObserve, BrokenSectionsArePlacedAndExplained) {
  for (const ErrorCase& c : kErrorCases) {
    const LoadResult r = load(full_plus(c.extra));
    ASSERT_FALSE(r.config) << "case " << c.id << " loaded";
    EXPECT_EQ(r.error.file, "gw.yaml") << "case " << c.id;
    EXPECT_EQ(r.error.line, c.want_line) << "case " << c.id << ": " << r.error.to_string();
    EXPECT_EQ(r.error.column, c.want_column) << "case " << c.id << ": " << r.error.to_string();
    EXPECT_EQ(r.error.message, c.want) << "case " << c.id << ": " << r.error.to_string();
  }
}

TEST(ConfigObserve, AnEmptyMetricsSectionIsAnErrorAtItsKey) {
  // "metrics:" with nothing after it is a null node: the key is the place.
  const LoadResult r = load(full_plus("metrics:"));
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(),
            "gw.yaml:29:1: metrics: expected a mapping with keys port, got nothing");
}

TEST(ConfigObserve, ShippedExamplesShowTheSections) {
  for (const char* name : {"lab.yaml", "bare-metal.yaml"}) {
    const std::string text = read_text_file(kExamplesDir + "/" + name);
    EXPECT_NE(text.find("metrics:"), std::string::npos) << name;
    EXPECT_NE(text.find("log:"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace wirespeed::config
