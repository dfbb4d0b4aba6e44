#pragma once
// The production side of health/worker_access.h: the pool, the dispatcher and a
// worker behind the narrow interfaces. The only health file that knows
// supervisor::Pool and proxy::Dispatcher.
#include <memory>

#include "health/worker_access.h"
#include "proxy/dispatcher.h"
#include "supervisor/pool.h"
#include "supervisor/worker.h"

namespace hearth::health {

// Both outlive the checks (the daemon owns them and stops the checks first).
std::shared_ptr<WorkerList> pool_workers(supervisor::Pool& pool);
std::shared_ptr<SlotLender> dispatcher_slots(proxy::Dispatcher& dispatcher);
// Holds the worker weakly: alive() turns false when the pool lets it go.
std::shared_ptr<AdmissionTarget> admission_target(const std::shared_ptr<supervisor::Worker>& worker);

}  // namespace hearth::health
