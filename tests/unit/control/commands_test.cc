// The control protocol's words and answers (control/commands.h), against a
// fake daemon: every answer must be one JSON object hearthctl can read.
#include "control/commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/json.h"

namespace hearth::control {
namespace {

class FakeTarget final : public Target {
 public:
  bool accepting_reloads() const override { return accepting; }
  std::string status(std::string_view app) const override {
    return app.empty() ? R"({"ok":true,"phase":"running"})"
                       : R"({"ok":true,"phase":"running","name":")" + std::string(app) + "\"}";
  }
  void reload(std::string_view app, std::function<void(const ReloadOutcome&)> done) override {
    ++reloads;
    reload_apps.emplace_back(app);
    pending_reload = std::move(done);
  }
  ScaleOutcome scale(std::string_view app, uint32_t workers) override {
    scaled.push_back(workers);
    scaled_apps.emplace_back(app);
    return scale_outcome;
  }
  void upgrade(Reply reply) override { reply(upgrade_reply(UpgradeOutcome{true, 10, 11, "pid 11 serves now"})); }
  void stop() override { ++stops; }

  bool accepting = true;
  int reloads = 0;
  int stops = 0;
  std::function<void(const ReloadOutcome&)> pending_reload;
  std::vector<uint32_t> scaled;
  std::vector<std::string> scaled_apps;
  std::vector<std::string> reload_apps;
  ScaleOutcome scale_outcome;
};

class CommandsTest : public ::testing::Test {
 protected:
  // The one answer to `line`, parsed.
  boost::json::object run(std::string_view line) {
    answers_.clear();
    handle_command(line, target_, [this](std::string json) { answers_.push_back(std::move(json)); });
    EXPECT_EQ(answers_.size(), 1u) << line;
    auto v = answers_.empty() ? std::nullopt : parse_object(answers_.back());
    EXPECT_TRUE(v) << (answers_.empty() ? "(no answer)" : answers_.back());
    return v ? *v : boost::json::object{};
  }

  FakeTarget target_;
  std::vector<std::string> answers_;
};

TEST_F(CommandsTest, StatusIsTheTargetsDocument) {
  auto v = run("status\r");  // a trailing CR or space is ignored
  EXPECT_EQ(str(v, "phase"), "running");
}

TEST_F(CommandsTest, ScaleChecksTheCountBeforeTheTargetSeesIt) {
  for (const char* bad : {"scale 0", "scale 10001", "scale x", "scale 4x", "scale -1", "scale 2 3 4", "scale blog x", "scale blog"}) {
    auto v = run(bad);
    EXPECT_FALSE(flag(v, "ok", true)) << bad;
    EXPECT_EQ(str(v, "error"), "scale needs a worker count from 1 to 10000") << bad;
  }
  EXPECT_TRUE(target_.scaled.empty());
  auto v = run("scale 4");
  EXPECT_TRUE(flag(v, "ok"));
  EXPECT_EQ(str(v, "message"), "scaling to 4 worker(s)");
  EXPECT_EQ(target_.scaled, (std::vector<uint32_t>{4}));
}

TEST_F(CommandsTest, CommandsTakeAnAppName) {
  EXPECT_EQ(str(run("status blog"), "name"), "blog");
  EXPECT_EQ(str(run("status"), "name"), "");
  auto v = run("scale blog 3");
  EXPECT_TRUE(flag(v, "ok"));
  EXPECT_EQ(target_.scaled, (std::vector<uint32_t>{3}));
  EXPECT_EQ(target_.scaled_apps, (std::vector<std::string>{"blog"}));
  run("scale 2");
  EXPECT_EQ(target_.scaled_apps.back(), "");
  answers_.clear();
  handle_command("reload api", target_, [this](std::string json) { answers_.push_back(std::move(json)); });
  handle_command("reload", target_, [this](std::string json) { answers_.push_back(std::move(json)); });
  EXPECT_EQ(target_.reload_apps, (std::vector<std::string>{"api", ""}));
  EXPECT_FALSE(flag(run("status a b"), "ok", true));
}

TEST_F(CommandsTest, ScaleCappedByTheMemoryBudgetSaysSo) {
  target_.scale_outcome.capped = 2;
  target_.scale_outcome.memory_budget = 300ull << 20;
  auto v = run("scale 8");
  EXPECT_TRUE(flag(v, "ok"));
  EXPECT_EQ(num(v, "capped"), 2);
  EXPECT_EQ(str(v, "message"), "asked for 8 worker(s); capped to 2 by memory_budget (300 MiB)");
  target_.scale_outcome = ScaleOutcome{"a reload is running", std::nullopt, 0};
  v = run("scale 3");
  EXPECT_FALSE(flag(v, "ok", true));
  EXPECT_EQ(str(v, "error"), "a reload is running");
}

TEST_F(CommandsTest, ReloadAnswersWhenThePoolIsDone) {
  answers_.clear();
  handle_command("reload", target_, [this](std::string json) { answers_.push_back(std::move(json)); });
  EXPECT_TRUE(answers_.empty());  // not before the reload finished
  ASSERT_TRUE(target_.pending_reload);
  target_.pending_reload(ReloadOutcome{true, 3, 1.5, "generation 3 serves", "", ""});
  ASSERT_EQ(answers_.size(), 1u);
  auto v = parse_object(answers_[0]);
  ASSERT_TRUE(v) << answers_[0];
  EXPECT_TRUE(flag(*v, "ok"));
  EXPECT_EQ(num(*v, "generation"), 3);
  EXPECT_DOUBLE_EQ(num(*v, "seconds"), 1.5);
  EXPECT_EQ(str(*v, "message"), "generation 3 serves");
  EXPECT_FALSE(v->contains("traceback"));
}

TEST_F(CommandsTest, FailedReloadCarriesTracebackAndCertificateError) {
  std::string json = reload_reply(ReloadOutcome{false, 2, 0.25, "the new code failed to import",
                                                "Traceback (most recent call last):\n  \"x\"\n", ""});
  auto v = parse_object(json);
  ASSERT_TRUE(v) << json;
  EXPECT_FALSE(flag(*v, "ok", true));
  EXPECT_EQ(str(*v, "error"), "the new code failed to import");
  EXPECT_EQ(str(*v, "traceback"), "Traceback (most recent call last):\n  \"x\"\n");

  // The app reloaded but the certificate did not: not ok, both said.
  json = reload_reply(ReloadOutcome{true, 4, 1, "generation 4 serves", "", "cannot read cert.pem"});
  v = parse_object(json);
  ASSERT_TRUE(v) << json;
  EXPECT_FALSE(flag(*v, "ok", true));
  EXPECT_EQ(str(*v, "tls_error"), "cannot read cert.pem");
  EXPECT_EQ(str(*v, "error"),
            "TLS certificate reload failed, still serving the previous certificate: cannot read cert.pem; "
            "app reload: generation 4 serves");
}

TEST_F(CommandsTest, ReloadWhileShuttingDownIsRefused) {
  target_.accepting = false;
  auto v = run("reload");
  EXPECT_EQ(str(v, "error"), "the daemon is shutting down");
  EXPECT_EQ(target_.reloads, 0);
}

TEST_F(CommandsTest, StopAnswersFirst) {
  auto v = run("stop");
  EXPECT_EQ(str(v, "message"), "graceful shutdown started");
  EXPECT_EQ(target_.stops, 1);
}

TEST_F(CommandsTest, UpgradeRepliesThroughTheTarget) {
  auto v = run("upgrade");
  EXPECT_TRUE(flag(v, "ok"));
  EXPECT_EQ(num(v, "old_pid"), 10);
  EXPECT_EQ(num(v, "new_pid"), 11);
  EXPECT_EQ(str(v, "message"), "pid 11 serves now");
}

TEST_F(CommandsTest, UnknownCommandIsEscapedIntoValidJson) {
  auto v = run("frobnicate \"x\"\\\x01");
  EXPECT_FALSE(flag(v, "ok", true));
  EXPECT_EQ(str(v, "error"), "unknown command: frobnicate \"x\"\\\x01");
}

}  // namespace
}  // namespace hearth::control
