// One DPDK ethdev port as the gateway uses it: found by name (PCI address or
// vdev name, as testpmd's users write them), configured with N RSS queues
// for RX and one TX queue per lcore that transmits, started, and stopped and
// closed by its destructor. Main lcore of wirespeed-dataplane, start-up and
// shutdown only.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>

#include "dataplane/base/result.hpp"
#include "dataplane/net/frame.hpp"

namespace wirespeed::dataplane::port {

inline constexpr uint16_t kRxDescriptors = 1024;
inline constexpr uint16_t kTxDescriptors = 1024;

struct PortSpec {
  std::string name;
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  uint16_t mtu = 1500;  // L3 MTU to ask for; a port that refuses keeps its own
};

class Port {
 public:
  static Result<Port> open(const PortSpec& spec, rte_mempool* pool);
  Port(Port&& other) noexcept;
  Port& operator=(Port&&) = delete;
  Port(const Port&) = delete;
  ~Port();

  uint16_t id() const noexcept { return id_; }
  const net::MacAddress& mac() const noexcept { return mac_; }
  uint16_t mtu() const noexcept { return mtu_; }
  // RX queues configured: the config's count, or more when the driver needs
  // as many RX as TX queues. All of them must be polled.
  uint16_t rx_queues() const noexcept { return rx_queues_; }
  // What a start-up log line should say about the port (driver, queues, RSS).
  const std::string& description() const noexcept { return description_; }

 private:
  Port(uint16_t id, net::MacAddress mac, uint16_t mtu, uint16_t rx_queues,
       std::string description) noexcept;
  uint16_t id_;
  net::MacAddress mac_;
  uint16_t mtu_;
  uint16_t rx_queues_;
  std::string description_;
  bool open_ = true;
};

}  // namespace wirespeed::dataplane::port
