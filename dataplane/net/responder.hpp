// The gateway's answers for its own addresses on a port: ARP replies, IPv6
// Neighbor Advertisements, ICMP/ICMPv6 echo replies; neighbours learnt from
// ARP and ND; ARP requests and Neighbor Solicitations to resolve next hops.
//
// Run by the control plane's main thread on copies of frames the dataplane
// punts (ARP, ICMP/ICMPv6 to our addresses); the replies it builds go back to
// the dataplane for transmission. Pure functions over byte spans: a reply is
// written into the caller's buffer and its length returned, 0 meaning "no
// reply" (not for us, invalid, or `out` too small). Nothing is allocated.
//
// Every function taking (frame, view) expects `view` to be parse_frame(frame)
// and returns 0 / nullopt if view.frame_len exceeds frame.size().
//
// Replies are padded with zeros to the 60-byte Ethernet minimum: not every
// DPDK PMD pads short frames in hardware.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "dataplane/net/frame.hpp"

namespace wirespeed::dataplane::net {

// What the gateway owns on one port.
struct LocalAddresses {
  MacAddress mac;
  // Unicast addresses, both families. The EUI-64 link-local address of `mac`
  // (link_local_from_mac) is ours too without being listed.
  std::span<const IpAddr> addresses;
  // Router flag of our Neighbor Advertisements (RFC 4861 §4.4). The gateway
  // forwards for the hosts that route through it, as Linux does with
  // forwarding on.
  bool is_router = true;
};

// True when `addr` is in local.addresses or is the EUI-64 link-local of local.mac.
bool is_local_address(const LocalAddresses& local, const IpAddr& addr) noexcept;

// A neighbour's link-layer address, learnt from ARP or ND.
struct Neighbor {
  IpAddr ip;
  MacAddress mac;
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

// --- Addresses ---

// fe80::/64 with the modified EUI-64 interface id of `mac` (RFC 4291 App. A):
// 02:00:00:00:00:02 -> fe80::ff:fe00:2.
IpAddr link_local_from_mac(const MacAddress& mac) noexcept;
// ff02::1:ffXX:XXXX, the solicited-node group of an IPv6 address (RFC 4291 §2.7.1).
IpAddr solicited_node_multicast(const IpAddr& addr) noexcept;
// 33:33 + the low 32 bits of an IPv6 multicast group (RFC 2464 §7).
MacAddress ipv6_multicast_mac(const IpAddr& group) noexcept;

// --- Answers ---

// Dispatch on view.kind to the three answers below.
size_t answer(std::span<const uint8_t> frame, const FrameView& view, const LocalAddresses& local,
              std::span<uint8_t> out) noexcept;

// ARP request for one of our IPv4 addresses -> ARP reply from local.mac, sent
// to the sender's hardware address (RFC 826). Ignored: replies, requests whose
// Ethernet destination is neither broadcast nor us, senders with a group or
// zero hardware address, and requests whose sender IP equals the target (a
// gratuitous ARP for our address is a conflict for the operator, not a
// question). RFC 5227 probes (sender IP 0.0.0.0) are answered, which defends
// the address.
size_t answer_arp(std::span<const uint8_t> frame, const FrameView& view,
                  const LocalAddresses& local, std::span<uint8_t> out) noexcept;

// Neighbor Solicitation for one of our IPv6 addresses (global or the derived
// link-local) -> Neighbor Advertisement. Validated per RFC 4861 §7.1.1: hop
// limit 255, ICMP checksum, code 0, ICMP length >= 24, target not multicast,
// every option of non-zero length, and for an unspecified source (DAD) a
// solicited-node destination and no source link-layer option. The IPv6
// destination must be one of ours or the target's solicited-node group.
// Reply: source = target, hop limit 255, flags R (local.is_router), O, and S
// unless answering DAD; target link-layer option = local.mac. Sent to the
// soliciting host (Ethernet address from its source link-layer option, else
// the frame's source), or to ff02::1 for DAD (§7.2.4).
size_t answer_neighbor_solicitation(std::span<const uint8_t> frame, const FrameView& view,
                                    const LocalAddresses& local, std::span<uint8_t> out) noexcept;

// ICMP echo request (type 8) to one of our IPv4 addresses, or ICMPv6 echo
// request (128) to one of our IPv6 addresses -> echo reply (0 / 129) with
// the same identifier, sequence and data. The request must be sent to
// local.mac from a unicast source (no broadcast/multicast pings: no
// amplification), and its checksums (IPv4 header, ICMP, ICMPv6 with pseudo
// header) must verify. The reply has TTL / hop limit 64, a fresh 20-byte IPv4
// header (request options are not echoed), the request's TOS and IPv4 id
// (an unfragmented reply needs no unique id, RFC 6864), flow label 0.
size_t answer_echo(std::span<const uint8_t> frame, const FrameView& view,
                   const LocalAddresses& local, std::span<uint8_t> out) noexcept;

// --- Learning ---

// Dispatch: ARP to learn_from_arp, ICMPv6 to learn_from_nd.
std::optional<Neighbor> learn_neighbor(std::span<const uint8_t> frame, const FrameView& view,
                                       const LocalAddresses& local) noexcept;

// (sender IP, sender MAC) of an ARP request or reply whose target IP is ours:
// requests addressed to us (the sender will talk to us next) and replies to
// our requests. Not from senders claiming one of our addresses, 0.0.0.0, or a
// non-unicast hardware address.
std::optional<Neighbor> learn_from_arp(std::span<const uint8_t> frame, const FrameView& view,
                                       const LocalAddresses& local) noexcept;

// From a valid (§7.1.1 / §7.1.2) Neighbor Solicitation for one of our
// addresses: (source, source link-layer option); from a valid Neighbor
// Advertisement: (target, target link-layer option), or the frame's Ethernet
// source when a unicast NA omits the option (§7.2.4 allows that for replies
// to unicast solicitations). An NA may be unsolicited: callers that only
// refresh existing entries from those check the S flag themselves. Nothing
// is learnt for a target that is one of our own addresses.
std::optional<Neighbor> learn_from_nd(std::span<const uint8_t> frame, const FrameView& view,
                                      const LocalAddresses& local) noexcept;

// --- Requests ---

// ARP "who-has target tell our_ip", broadcast, or unicast to *unicast_mac
// when given (refreshing a known entry). 60 bytes; 0 if out is smaller or
// an address is not IPv4.
size_t build_arp_request(std::span<uint8_t> out, const MacAddress& our_mac, const IpAddr& our_ip,
                         const IpAddr& target, const MacAddress* unicast_mac = nullptr) noexcept;

// Neighbor Solicitation for target from our_ip, with our source link-layer
// option: to the solicited-node group of target (33:33:ff:XX:XX:XX), or
// unicast to target at *unicast_mac when given (RFC 4861 §7.3.3 reachability
// probes). Hop limit 255. 86 bytes; 0 if out is smaller or an address is not
// IPv6.
size_t build_neighbor_solicitation(std::span<uint8_t> out, const MacAddress& our_mac,
                                   const IpAddr& our_ip, const IpAddr& target,
                                   const MacAddress* unicast_mac = nullptr) noexcept;

}  // namespace wirespeed::dataplane::net
