// Creating and attaching the shared state (see state.hpp). Start-up only.
#include "dataplane/shm/state.hpp"

#include <rte_errno.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "dataplane/base/clock.hpp"
#include "dataplane/base/hardening.hpp"

namespace wirespeed::dataplane::shm {

SharedState::SharedState(const rte_memzone* mz, rte_ring* punt, rte_ring* events,
                         rte_ring* commands, bool owner) noexcept
    : memzone_(mz),
      zone_(static_cast<StateZone*>(mz->addr)),
      punt_(punt),
      events_(events),
      commands_(commands),
      owner_(owner) {}

SharedState::SharedState(SharedState&& other) noexcept
    : memzone_(other.memzone_),
      zone_(other.zone_),
      punt_(other.punt_),
      events_(other.events_),
      commands_(other.commands_),
      owner_(other.owner_) {
  other.memzone_ = nullptr;
  other.zone_ = nullptr;
  other.punt_ = other.events_ = other.commands_ = nullptr;
  other.owner_ = false;
}

namespace {

// A ring's message slots follow its header (rte_ring_create_elem's layout).
// The command ring's slots may still hold keypair installs nobody consumed,
// and every ring's slots keep the last bytes written to them.
void wipe_ring(rte_ring* ring) noexcept {
  if (ring == nullptr) return;
  const ssize_t total = rte_ring_get_memsize_elem(sizeof(RingMessage), ring->size);
  if (total > static_cast<ssize_t>(sizeof(rte_ring))) {
    secure_wipe(ring + 1, static_cast<size_t>(total) - sizeof(rte_ring));
  }
}

}  // namespace

void SharedState::wipe_secrets() noexcept {
  if (!owner_) return;
  for (rte_ring* ring : {punt_, events_, commands_}) wipe_ring(ring);
  if (zone_ == nullptr) return;
  for (KeypairSlot& kp : zone_->keypairs) {
    secure_wipe(kp.send_key, sizeof(kp.send_key));
    secure_wipe(kp.receive_key, sizeof(kp.receive_key));
  }
}

// Dataplane exit. EAL's free zeroes memory it believes clean, but that is its
// business and not a promise: the keys are wiped here first, explicitly.
SharedState::~SharedState() {
  if (!owner_) return;
  wipe_secrets();
  for (rte_ring* ring : {punt_, events_, commands_}) rte_ring_free(ring);
  if (memzone_ != nullptr) {
    secure_wipe(static_cast<void*>(zone_), sizeof(StateZone));
    rte_memzone_free(memzone_);
  }
}

Result<SharedState> SharedState::create(int socket_id) {
  const rte_memzone* mz = rte_memzone_reserve_aligned(kStateZoneName, sizeof(StateZone), socket_id,
                                                      RTE_MEMZONE_SIZE_HINT_ONLY, 64);
  if (mz == nullptr) return make_error(Errc::kSystem, "reserve the state memzone", rte_errno);
  auto* zone = new (mz->addr) StateZone();  // value-initialises every slot and counter
  zone->header.zone_size = sizeof(StateZone);
  zone->header.ring_message_size = sizeof(RingMessage);
  zone->header.dataplane_pid = static_cast<uint32_t>(getpid());
  zone->header.started_ns = monotonic_ns();
  // Alive from the start: a control plane that attaches before the main
  // lcore's first loop must not take a zero heartbeat for a dead one.
  zone->header.heartbeat_ns.store(zone->header.started_ns, std::memory_order_release);

  // punt and events: many workers produce, the control plane consumes.
  // commands: the control plane produces, the main lcore consumes.
  rte_ring* punt = rte_ring_create_elem(kPuntRingName, sizeof(RingMessage), kRingSize, socket_id,
                                        RING_F_SC_DEQ);
  rte_ring* events = rte_ring_create_elem(kEventRingName, sizeof(RingMessage), kRingSize,
                                          socket_id, RING_F_SC_DEQ);
  rte_ring* commands = rte_ring_create_elem(kCommandRingName, sizeof(RingMessage), kRingSize,
                                            socket_id, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (punt == nullptr || events == nullptr || commands == nullptr) {
    const int err = rte_errno;
    rte_ring_free(punt);
    rte_ring_free(events);
    rte_ring_free(commands);
    rte_memzone_free(mz);
    return make_error(Errc::kSystem, "create the punt/event/command rings", err);
  }
  return SharedState(mz, punt, events, commands, true);
}

Result<SharedState> SharedState::attach() {
  const rte_memzone* mz = rte_memzone_lookup(kStateZoneName);
  if (mz == nullptr) {
    return make_error(Errc::kUnknownPeer,
                      "find the dataplane's state memzone (is wirespeed-dataplane running with this "
                      "file_prefix?)");
  }
  if (mz->len < sizeof(StateHeader)) {
    return make_error(Errc::kBadState, "state memzone smaller than its header: another ABI");
  }
  const char* why = nullptr;
  if (!abi_matches(static_cast<const StateZone*>(mz->addr)->header, &why)) {
    return make_error(Errc::kBadState, why);
  }
  rte_ring* punt = rte_ring_lookup(kPuntRingName);
  rte_ring* events = rte_ring_lookup(kEventRingName);
  rte_ring* commands = rte_ring_lookup(kCommandRingName);
  if (punt == nullptr || events == nullptr || commands == nullptr) {
    return make_error(Errc::kBadState, "find the punt/event/command rings");
  }
  return SharedState(mz, punt, events, commands, false);
}

}  // namespace wirespeed::dataplane::shm
