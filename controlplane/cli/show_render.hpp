// What `wirespeed show` prints, from one dataplane::shm::Snapshot: a text
// report for people and a JSON document for programs. Pure formatting (no
// EAL, no shared memory), so the unit tests feed it summarise() of a zone
// they built by hand. `wirespeed` process only.
//
// Both list: the interface (name, public key, listen port, pids, uptime,
// heartbeat age), each port (our counters and the NIC's), each lcore row
// (role, EAL lcore id, busy ratio, per-port packets, crypto counters, its
// drops), each peer (name from the config when it has one, endpoint,
// transfer, handshakes, latest handshake age, staged packets, every keypair
// with its age and send counter), every drop reason by name (zeros too, so
// the set of names is stable), ring and mempool occupancy.
//
// JSON: an object; durations are integers in milliseconds with "_ms" in the
// key, absent values are null (a peer never handshaken has
// "latest_handshake_age_ms": null), keys are base64 strings. No secret is
// ever in a Snapshot, so none can reach this output.
#pragma once

#include <map>
#include <string>

#include "dataplane/shm/snapshot.hpp"

namespace wirespeed::controlplane::cli {

// What the config adds to a snapshot (the dataplane does not know names).
struct ShowContext {
  std::string interface_name;
  std::string public_key;                              // base64; "" when unknown
  std::string port_names[dataplane::shm::kPortCount];  // from the config, when EAL had none
  std::map<std::string, std::string> peer_names;       // base64 public key -> name
};

std::string render_text(const dataplane::shm::Snapshot& s, const ShowContext& ctx);

// `pretty`: indented over many lines; else one line (for --watch: one
// document per line).
std::string render_json(const dataplane::shm::Snapshot& s, const ShowContext& ctx, bool pretty);

// "1h02m03s", "12.3s", "850ms": an age for people.
std::string format_age(uint64_t ns);

}  // namespace wirespeed::controlplane::cli
