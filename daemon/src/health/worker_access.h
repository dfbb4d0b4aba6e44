#pragma once
// What the health module needs from the supervisor and the dispatcher, and no
// more. HealthChecker and InternalKeepwarm see a list of ready worker ids and a
// lender of idle slots; Admission sees the one worker it admits. Unit tests
// hand in fakes over the slot harness (tests/unit/health); production wires the
// pool, the dispatcher and the worker in through health/pool_access.h.
#include <memory>
#include <string>
#include <vector>

#include "supervisor/worker_slot.h"

namespace hearth::health {

// The pool's workers, as the periodic checks see them.
class WorkerList {
 public:
  virtual ~WorkerList() = default;
  // Ids of the workers taking traffic now (Worker::State::Ready), in pool order.
  virtual std::vector<int> ready_workers() const = 0;
  // Takes worker `id` out of rotation (it is replaced); false when the pool
  // refuses (never more than half the workers at once) or the worker is gone.
  virtual bool eject(int id, const std::string& why) = 0;
};

// Lends idle slots for internal requests.
class SlotLender {
 public:
  virtual ~SlotLender() = default;
  // An idle slot of worker `id` for one internal exchange (it goes back to the
  // dispatcher when the exchange ends); null when the worker has none free.
  virtual std::shared_ptr<supervisor::WorkerSlot> borrow_slot(int worker_id) = 0;
};

// The freshly booted worker Admission sends its warm-up and health requests to.
class AdmissionTarget {
 public:
  virtual ~AdmissionTarget() = default;
  virtual int id() const = 0;
  // False once the worker is gone: its pending admission is dropped silently.
  virtual bool alive() const = 0;
  // The slot the requests go on (the worker's first); null if it has none.
  virtual supervisor::WorkerSlot* channel() = 0;
};

}  // namespace hearth::health
