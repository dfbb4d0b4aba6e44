#include "health/pool_access.h"

namespace hearth::health {
namespace {

class PoolWorkers final : public WorkerList {
 public:
  explicit PoolWorkers(supervisor::Pool& pool) : pool_(pool) {}
  std::vector<int> ready_workers() const override {
    std::vector<int> ids;
    for (const auto& w : pool_.workers())
      if (w->state() == supervisor::Worker::State::Ready) ids.push_back(w->id());
    return ids;
  }
  bool eject(int id, const std::string& why) override { return pool_.eject(id, why); }

 private:
  supervisor::Pool& pool_;
};

class DispatcherSlots final : public SlotLender {
 public:
  explicit DispatcherSlots(proxy::Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  std::shared_ptr<supervisor::WorkerSlot> borrow_slot(int worker_id) override {
    return dispatcher_.borrow_slot(worker_id);
  }

 private:
  proxy::Dispatcher& dispatcher_;
};

class WorkerTarget final : public AdmissionTarget {
 public:
  explicit WorkerTarget(const std::shared_ptr<supervisor::Worker>& worker) : worker_(worker), id_(worker->id()) {}
  int id() const override { return id_; }
  bool alive() const override { return !worker_.expired(); }
  supervisor::WorkerSlot* channel() override {
    auto w = worker_.lock();
    return w && !w->slots().empty() ? w->slots()[0].get() : nullptr;
  }

 private:
  std::weak_ptr<supervisor::Worker> worker_;
  int id_;
};

}  // namespace

std::shared_ptr<WorkerList> pool_workers(supervisor::Pool& pool) { return std::make_shared<PoolWorkers>(pool); }

std::shared_ptr<SlotLender> dispatcher_slots(proxy::Dispatcher& dispatcher) {
  return std::make_shared<DispatcherSlots>(dispatcher);
}

std::shared_ptr<AdmissionTarget> admission_target(const std::shared_ptr<supervisor::Worker>& worker) {
  return std::make_shared<WorkerTarget>(worker);
}

}  // namespace hearth::health
