// Port set-up (see port.hpp).
#include "dataplane/port/port.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>

#include <cstdio>
#include <cstring>

namespace wirespeed::dataplane::port {

Port::Port(uint16_t id, net::MacAddress mac, uint16_t mtu, uint16_t rx_queues,
           std::string description) noexcept
    : id_(id), mac_(mac), mtu_(mtu), rx_queues_(rx_queues), description_(std::move(description)) {}

Port::Port(Port&& other) noexcept
    : id_(other.id_),
      mac_(other.mac_),
      mtu_(other.mtu_),
      rx_queues_(other.rx_queues_),
      description_(std::move(other.description_)),
      open_(other.open_) {
  other.open_ = false;
}

Port::~Port() {
  if (!open_) return;
  rte_eth_dev_stop(id_);
  rte_eth_dev_close(id_);
}

Result<Port> Port::open(const PortSpec& spec, rte_mempool* pool) {
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(spec.name.c_str(), &id) != 0) {
    return make_error(Errc::kInvalidArgument,
                      "find the port: no ethdev of that name (check the EAL -a/--vdev arguments and "
                      "that the NIC is bound to a DPDK driver)");
  }
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
    return make_error(Errc::kSystem, "read the port's device info", -rc);
  }
  if (spec.rx_queues > info.max_rx_queues || spec.tx_queues > info.max_tx_queues) {
    return make_error(Errc::kInvalidArgument,
                      "configure the port: it has fewer queues than needed (RX: the config's queues; "
                      "TX: workers + 1; for net_af_packet give the vdev qpairs=workers+1)");
  }
  // Queue pairs of some virtual drivers exist from creation: net_tap insists
  // on as many RX as TX queues, and net_af_packet fans received frames out
  // over all its qpairs sockets. Then every RX queue must be set up and
  // polled: the caller spreads rx_queues() over the workers.
  uint16_t rx_queues = spec.rx_queues;
  const bool paired = std::strcmp(info.driver_name, "net_tap") == 0 ||
                      std::strcmp(info.driver_name, "net_af_packet") == 0;
  if (paired && rx_queues < spec.tx_queues) rx_queues = spec.tx_queues;
  rte_eth_conf conf{};
  uint64_t rss = 0;
  if (rx_queues > 1) {
    rss = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
    conf.rx_adv_conf.rss_conf.rss_key = nullptr;  // the driver's default key
  }
  if (int rc = rte_eth_dev_configure(id, rx_queues, spec.tx_queues, &conf); rc != 0) {
    return make_error(Errc::kSystem, "configure the port", -rc);
  }
  uint16_t rx_desc = kRxDescriptors;
  uint16_t tx_desc = kTxDescriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_desc, &tx_desc); rc != 0) {
    return make_error(Errc::kSystem, "adjust the port's descriptor counts", -rc);
  }
  const int socket = rte_eth_dev_socket_id(id) < 0 ? 0 : rte_eth_dev_socket_id(id);
  for (uint16_t q = 0; q < rx_queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(id, q, rx_desc, socket, nullptr, pool); rc != 0) {
      return make_error(Errc::kSystem, "set up an RX queue", -rc);
    }
  }
  for (uint16_t q = 0; q < spec.tx_queues; ++q) {
    if (int rc = rte_eth_tx_queue_setup(id, q, tx_desc, socket, nullptr); rc != 0) {
      return make_error(Errc::kSystem, "set up a TX queue", -rc);
    }
  }
  uint16_t mtu = spec.mtu;
  if (rte_eth_dev_set_mtu(id, spec.mtu) != 0) {
    // Virtual ports (af_packet, tap) may refuse; they keep the MTU of the
    // Linux interface behind them.
    if (rte_eth_dev_get_mtu(id, &mtu) != 0) mtu = RTE_ETHER_MTU;
  }
  if (int rc = rte_eth_dev_start(id); rc != 0) {
    rte_eth_dev_close(id);
    return make_error(Errc::kSystem, "start the port", -rc);
  }
  rte_ether_addr addr;
  rte_eth_macaddr_get(id, &addr);
  net::MacAddress mac = net::MacAddress::from(addr.addr_bytes);
  char text[256];
  std::snprintf(text, sizeof(text),
                "%s (port %u, driver %s): %u RX queue(s)%s, %u TX queue(s), %u/%u descriptors, MTU %u, "
                "MAC %02x:%02x:%02x:%02x:%02x:%02x",
                spec.name.c_str(), id, info.driver_name, rx_queues, rss != 0 ? " with RSS" : "",
                spec.tx_queues, rx_desc, tx_desc, mtu, mac.bytes[0], mac.bytes[1], mac.bytes[2],
                mac.bytes[3], mac.bytes[4], mac.bytes[5]);
  return Port(id, mac, mtu, rx_queues, text);
}

}  // namespace wirespeed::dataplane::port
