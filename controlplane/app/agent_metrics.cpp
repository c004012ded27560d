// Agent::render_metrics (agent.hpp): the Prometheus page from one snapshot
// of the shared counters, peers named as the Device knows them, followed by
// what only the control plane counts (handshake messages and the drops of
// the Device: bad mac1, rate limited, ...). Called by MetricsServer::poll on
// the control-plane main thread, only when a scrape asks for /metrics.
#include "controlplane/app/agent.hpp"
#include "controlplane/app/metrics.hpp"
#include "dataplane/shm/snapshot.hpp"

namespace wirespeed::controlplane::app {

namespace {

void render_device(const device::DeviceStats& st, MetricsText& m) {
  using L = MetricsText::Labels;
  m.family("wirespeed_handshake_drops_total", "counter",
           "Handshake messages and data path events the control plane dropped, by reason.");
  for (unsigned d = 0; d < device::kDeviceDropCount; ++d) {
    m.sample("wirespeed_handshake_drops_total",
             L{{"reason", device::device_drop_name(static_cast<device::DeviceDrop>(d))}},
             st.drops[d]);
  }
  m.family("wirespeed_handshake_messages_total", "counter",
           "Handshake messages handled by the control plane, by kind and direction.");
  const std::pair<const char*, uint64_t> kinds[] = {
      {"initiation_received", st.initiations_received},
      {"response_received", st.responses_received},
      {"cookie_reply_received", st.cookie_replies_received},
      {"initiation_sent", st.initiations_sent},
      {"response_sent", st.responses_sent},
      {"cookie_reply_sent", st.cookie_replies_sent},
  };
  for (const auto& [kind, n] : kinds) {
    m.sample("wirespeed_handshake_messages_total", L{{"kind", kind}}, n);
  }
  m.family("wirespeed_handshakes_completed_total", "counter",
           "Sessions made, by the role the gateway had in the handshake.");
  m.sample("wirespeed_handshakes_completed_total", L{{"role", "initiator"}},
           st.handshakes_as_initiator);
  m.sample("wirespeed_handshakes_completed_total", L{{"role", "responder"}},
           st.handshakes_as_responder);
}

}  // namespace

std::string Agent::render_metrics(uint64_t now_ns) {
  const dataplane::shm::Snapshot snapshot = dataplane::shm::take_snapshot(state_.zone(), now_ns);
  std::vector<std::string> names;
  if (device_) {
    names.resize(device_->peer_count());
    for (uint32_t i = 0; i < device_->peer_count(); ++i) {
      if (device_->peer_live(i)) names[i] = device_->peer_view(i).name;
    }
  }
  std::string page = render_page(snapshot, names, busy_);
  if (device_) {
    MetricsText m;
    render_device(device_->stats(), m);
    page += m.text();
  }
  return page;
}

}  // namespace wirespeed::controlplane::app
