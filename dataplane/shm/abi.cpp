// Names of the drop reasons and the ABI check both processes run on the
// state zone's header (the control plane before it trusts anything else).
#include "dataplane/shm/abi.hpp"

namespace wirespeed::dataplane::shm {

const char* drop_reason_name(DropReason reason) noexcept {
  switch (reason) {
#define WS_DROP_NAME(sym, text) \
  case DropReason::sym:         \
    return text;
    WS_DROP_REASONS(WS_DROP_NAME)
#undef WS_DROP_NAME
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

bool abi_matches(const StateHeader& header, const char** why) noexcept {
  const char* mismatch = nullptr;
  if (header.magic != kAbiMagic) {
    mismatch = "magic differs: the memzone was not made by wirespeed-dataplane";
  } else if (header.abi_version != kAbiVersion) {
    mismatch = "ABI version differs: dataplane and control plane come from different builds";
  } else if (header.header_size != sizeof(StateHeader) || header.zone_size != sizeof(StateZone)) {
    mismatch = "state zone size differs";
  } else if (header.peer_size != sizeof(PeerSlot) || header.keypair_size != sizeof(KeypairSlot)) {
    mismatch = "peer or keypair slot size differs";
  } else if (header.lcore_counters_size != sizeof(LcoreCounters) ||
             header.peer_counters_size != sizeof(PeerCounters) ||
             header.drop_reasons != kDropReasonCount) {
    mismatch = "counter layout differs";
  } else if (header.ring_message_size != sizeof(RingMessage) || header.max_peers != kMaxPeers) {
    mismatch = "ring message size or peer capacity differs";
  }
  if (why != nullptr) *why = mismatch;
  return mismatch == nullptr;
}

}  // namespace wirespeed::dataplane::shm
