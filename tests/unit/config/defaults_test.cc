// Defaults decided in one place (config/defaults.h).
#include "config/defaults.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace hearth::config {
namespace {

// Sets $TMPDIR for one test and puts the old value back.
class TmpdirGuard {
 public:
  explicit TmpdirGuard(const char* value) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    if (value) ::setenv("TMPDIR", value, 1);
    else ::unsetenv("TMPDIR");
  }
  ~TmpdirGuard() {
    if (old_) ::setenv("TMPDIR", old_->c_str(), 1);
    else ::unsetenv("TMPDIR");
  }

 private:
  std::optional<std::string> old_;
};

TEST(Defaults, TempDirIsTheKeyThenTmpdirThenTmp) {
  {
    TmpdirGuard g("/var/spool/x");
    EXPECT_EQ(effective_temp_dir("/srv/tmp"), "/srv/tmp");
    EXPECT_EQ(effective_temp_dir(""), "/var/spool/x");
  }
  {
    TmpdirGuard g("");
    EXPECT_EQ(effective_temp_dir(""), "/tmp");
  }
  {
    TmpdirGuard g(nullptr);
    EXPECT_EQ(effective_temp_dir(""), "/tmp");
  }
}

TEST(Defaults, WorkersFollowTheCores) {
  Config c = default_config();
  resolve_workers(c, 4);
  EXPECT_EQ(c.workers, 9u);
  Config unknown = default_config();
  resolve_workers(unknown, 0);
  EXPECT_EQ(unknown.workers, 3u);
  Config set = default_config();
  set.workers = 2;
  resolve_workers(set, 4);
  EXPECT_EQ(set.workers, 2u);
}

}  // namespace
}  // namespace hearth::config
