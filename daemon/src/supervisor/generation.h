#pragma once
// The generations of one app and where each one is: the active generation
// serves; during a rolling reload one incoming generation walks Waiting ->
// Importing -> Canary -> Rolling and then becomes Active (the old one is
// Retired), or is Retired itself when the reload aborts. Pure: no I/O, no
// clock; the Pool reports events and reads the states. All transitions go
// through one function (transition()), which refuses the ones not listed.
#include <cstdint>
#include <map>
#include <optional>

namespace hearth::supervisor {

enum class GenerationState {
  Waiting,    // reload under memory_budget: old workers retire until its zygote fits (ReloadStep::Room)
  Importing,  // its zygote imports the code
  Canary,     // its zygote is ready; its first worker boots and warms up
  Rolling,    // the canary is ready: its workers replace the active generation's one at a time
  Active,     // serving; the pool keeps its workers at the target
  Retired,    // replaced, or its reload aborted: its zygote and workers stop
};

const char* generation_state_name(GenerationState s);

class Generations {
 public:
  Generations() { states_[active_] = GenerationState::Active; }

  uint32_t active() const { return active_; }
  // The generation a reload is bringing in, if one is.
  std::optional<uint32_t> incoming() const { return incoming_; }
  bool reloading() const { return incoming_.has_value(); }
  // The incoming generation's state (Active when no reload runs).
  GenerationState incoming_state() const { return incoming_ ? state(*incoming_) : GenerationState::Active; }
  bool is_incoming(uint32_t gen) const { return incoming_ == gen; }
  // Retired for a generation never seen.
  GenerationState state(uint32_t gen) const;

  // Starts a reload: a new generation, Waiting (memory_budget: room first) or
  // Importing. Returns it. Precondition: no reload is running.
  uint32_t begin_reload(bool make_room_first);
  // Waiting -> Importing: there is room for the new zygote.
  void room_made();
  // Importing -> Canary: the incoming generation's zygote is ready.
  void zygote_ready();
  // Canary -> Rolling: the canary worker is ready. Whether it moved.
  bool canary_ready();
  // Incoming -> Active, the old active -> Retired. Returns the old active.
  uint32_t promote();
  // Incoming -> Retired; the active generation keeps serving. Returns the
  // aborted generation (nullopt when no reload ran).
  std::optional<uint32_t> abort();

 private:
  // The one place a state changes; false (and no change) for a transition
  // the machine does not have.
  bool transition(uint32_t gen, GenerationState to);

  std::map<uint32_t, GenerationState> states_;
  uint32_t active_ = 1;
  uint32_t next_ = 2;
  std::optional<uint32_t> incoming_;
};

}  // namespace hearth::supervisor
