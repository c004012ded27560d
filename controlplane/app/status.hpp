// `wirespeed-controlplane --config FILE --show`: the gateway's state read
// straight from shared memory, one `key value...` record per line (stable,
// for scripts and the lab tests):
//   interface NAME listen_port N public_key B64 dataplane_pid N controlplane_pid N workers N
//   peer SLOT public_key B64 endpoint ADDR:PORT|none handshakes N last_handshake_ago_ms N|never
//        rx_packets N rx_bytes N tx_packets N tx_bytes N      (one line)
//   counter NAME N
//   drop REASON N
#pragma once

#include <cstdio>
#include <string>

#include "config/config.hpp"
#include "dataplane/shm/abi.hpp"
#include "dataplane/shm/text.hpp"

namespace wirespeed::controlplane::app {

// Text forms of endpoints and keys: one definition for every view.
using dataplane::shm::endpoint_text;
using dataplane::shm::key_base64;

void print_status(std::FILE* out, const config::Config& cfg, const dataplane::shm::StateZone& zone,
                  uint64_t now_ns);

}  // namespace wirespeed::controlplane::app
