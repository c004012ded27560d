// net_af_packet after the link went down and up (issue 6). Main lcore of
// the dataplane, from its idle loop; never on a worker.
//
// net_af_packet transmits by writing frames into the socket's mmap'ed TX
// ring and then kicking the kernel with sendto(). Two things go wrong when
// the interface goes down:
//   * The kernel refuses the kick (ENETDOWN) and leaves the frames in the
//     ring, marked "send request". Nothing sends them after the link is up
//     until the next packet on the same queue kicks again; the main lcore's
//     queue (ARP/ND answers, handshake messages, keepalives) may be idle for
//     seconds, so an ARP reply or a handshake response waits that long.
//   * NETDEV_DOWN leaves ENETDOWN pending on every packet socket bound to
//     the interface (sk_err). The next kick that has a frame to send, after
//     the link is up, consumes that error instead of sending: the same wait
//     again.
// The PMD cannot be told; the sockets are ours (net_af_packet is the only
// user of AF_PACKET sockets in this process), so every kInterval this clears
// any pending error and kicks each ring. A kick with nothing to send returns
// at once; one while the link is down fails harmlessly. The kernel
// serialises a kick with the worker's own (one mutex per ring), and a frame
// is only sent once the PMD has marked it complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wirespeed::dataplane::app {

class PacketSocketKick {
 public:
  static constexpr uint64_t kIntervalNs = 100ULL * 1000 * 1000;

  // The AF_PACKET sockets open in this process now: call once the ports
  // are open (net_af_packet opens one per queue when it probes).
  static PacketSocketKick find_sockets();

  // Main lcore, each pass of its loop: does something every kIntervalNs.
  // Four syscalls per queue per interval when there are sockets; nothing
  // otherwise.
  void poll(uint64_t now_ns) noexcept;

  size_t sockets() const noexcept { return fds_.size(); }
  uint64_t errors_cleared() const noexcept { return errors_cleared_; }

 private:
  std::vector<int> fds_;  // borrowed: the PMD owns and closes them
  uint64_t next_ns_ = 0;
  uint64_t errors_cleared_ = 0;
};

}  // namespace wirespeed::dataplane::app
