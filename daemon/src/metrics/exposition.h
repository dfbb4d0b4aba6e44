#pragma once
// The Prometheus text exposition format (0.0.4) of hearthd's metrics, written by
// prometheus-cpp's TextSerializer (core only: the daemon's admin listener serves
// /metrics, not the library's civetweb exposer).
//
// Sources, in the order they are written (app/telemetry.h): the LoopCollector
// that the request path updates through cached handles, the prometheus::Registry
// (per-worker histograms), the CallbackCollector computed at scrape time, the
// ProcessCollector.
#include <prometheus/collectable.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::metrics {

// Collects every source and serializes them. Called on the admin listener's
// executor, which is the daemon's only thread.
std::string expose(std::initializer_list<const prometheus::Collectable*> sources);

// prometheus-cpp 1.0.1 writes HELP text as it is; a newline or a backslash
// would break the exposition. Start-up regime: throws std::invalid_argument.
const std::string& checked_help(const std::string& help);

// Default latency buckets (seconds): 1 ms .. 60 s.
const std::vector<double>& latency_buckets();

}  // namespace hearth::metrics
