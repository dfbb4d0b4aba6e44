#include "supervisor/generation.h"

#include <cassert>

namespace hearth::supervisor {

const char* generation_state_name(GenerationState s) {
  switch (s) {
    case GenerationState::Waiting: return "waiting";
    case GenerationState::Importing: return "importing";
    case GenerationState::Canary: return "canary";
    case GenerationState::Rolling: return "rolling";
    case GenerationState::Active: return "active";
    case GenerationState::Retired: return "retired";
  }
  return "?";
}

GenerationState Generations::state(uint32_t gen) const {
  auto it = states_.find(gen);
  return it == states_.end() ? GenerationState::Retired : it->second;
}

bool Generations::transition(uint32_t gen, GenerationState to) {
  using S = GenerationState;
  auto it = states_.find(gen);
  const bool known = it != states_.end();
  const S from = known ? it->second : S::Retired;
  bool ok = false;
  switch (to) {
    case S::Waiting:
    case S::Importing:
      // A new generation starts Waiting or Importing; Waiting moves on to Importing.
      ok = !known || (from == S::Waiting && to == S::Importing);
      break;
    case S::Canary: ok = known && from == S::Importing; break;
    case S::Rolling: ok = known && from == S::Canary; break;
    // Only a reload whose canary is ready (Rolling) is promoted.
    case S::Active: ok = known && from == S::Rolling; break;
    case S::Retired: ok = known; break;
  }
  if (!ok) return false;
  if (to == S::Retired) states_.erase(it);  // forgotten: state() answers Retired
  else states_[gen] = to;
  return true;
}

uint32_t Generations::begin_reload(bool make_room_first) {
  assert(!incoming_);
  uint32_t gen = next_++;
  transition(gen, make_room_first ? GenerationState::Waiting : GenerationState::Importing);
  incoming_ = gen;
  return gen;
}

void Generations::room_made() {
  if (incoming_) transition(*incoming_, GenerationState::Importing);
}

void Generations::zygote_ready() {
  if (incoming_) transition(*incoming_, GenerationState::Canary);
}

bool Generations::canary_ready() { return incoming_ && transition(*incoming_, GenerationState::Rolling); }

uint32_t Generations::promote() {
  uint32_t old = active_;
  if (!incoming_ || !transition(*incoming_, GenerationState::Active)) return old;
  transition(old, GenerationState::Retired);
  active_ = *incoming_;
  incoming_.reset();
  return old;
}

std::optional<uint32_t> Generations::abort() {
  if (!incoming_) return std::nullopt;
  uint32_t gen = *incoming_;
  transition(gen, GenerationState::Retired);
  incoming_.reset();
  return gen;
}

}  // namespace hearth::supervisor
