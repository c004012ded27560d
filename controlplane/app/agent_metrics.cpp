// Agent::render_metrics (agent.hpp): the Prometheus page from one snapshot
// of the shared counters, peers named as the Device knows them. Called by
// MetricsServer::poll on the control-plane main thread, only when a scrape
// asks for /metrics.
#include "controlplane/app/agent.hpp"
#include "controlplane/app/metrics.hpp"
#include "dataplane/shm/snapshot.hpp"

namespace wirespeed::controlplane::app {

std::string Agent::render_metrics(uint64_t now_ns) {
  const dataplane::shm::Snapshot snapshot = dataplane::shm::take_snapshot(state_.zone(), now_ns);
  std::vector<std::string> names;
  if (device_) {
    names.resize(device_->peer_count());
    for (uint32_t i = 0; i < device_->peer_count(); ++i) {
      if (device_->peer_live(i)) names[i] = device_->peer_view(i).name;
    }
  }
  return render_page(snapshot, names, busy_);
}

}  // namespace wirespeed::controlplane::app
