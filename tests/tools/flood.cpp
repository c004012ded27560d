// wirespeed-flood: a handshake-initiation flood from many source addresses
// (issue 6, "Handshake floods"). Run inside the lab's remote namespace (or any
// host on the gateway's outer link) as root.
//
// It writes whole Ethernet/IPv4/UDP frames on an AF_PACKET socket bound to
// one interface, so that each initiation can carry another source address
// from a range on the link (and a random source port) without those
// addresses being configured anywhere: spoofing as an attacker on the outer
// link would. The frames go to the gateway's MAC, found with one ARP request
// for the target address (or given with --dst-mac). Each initiation is a
// valid-looking one (tests/tools/junk_initiation.hpp): right type and size,
// a correct mac1 for --key, random ephemeral and encrypted fields, so that
// the gateway must either spend an X25519 on it or, under load, answer it
// with a cookie reply.
//
// The same socket counts what comes back to the spoofed sources: cookie
// replies (type 3) and anything else from the target's port (responses
// would mean the gateway accepted a forged initiation).
//
// Usage: wirespeed-flood --interface IF --target IP[:PORT] --key BASE64
//          --sources FIRST-LAST [--rate PPS] [--seconds N] [--dst-mac MAC]
// Prints, when done:
//   flood_sent N / flood_seconds S / flood_rate_pps R / flood_sources N
//   flood_cookie_replies N / flood_other_replies N
// Exit 0 when every frame was written, 1 on a setup or send error, 2 on usage.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sodium.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "controlplane/crypto/x25519.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/tools/junk_initiation.hpp"

namespace {

using namespace wirespeed;
namespace net = dataplane::net;
namespace wire = dataplane::wire;

uint64_t clock_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

bool parse_ipv4(const std::string& text, net::IpAddr* out) {
  uint8_t b[4];
  if (inet_pton(AF_INET, text.c_str(), b) != 1) return false;
  *out = net::IpAddr::v4(b);
  return true;
}

bool parse_mac(const std::string& text, net::MacAddress* out) {
  unsigned v[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) !=
      6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) out->bytes[i] = static_cast<uint8_t>(v[i]);
  return true;
}

uint32_t v4_bits(const net::IpAddr& a) {
  return net::load_be32(a.bytes.data());
}

struct Options {
  std::string interface;
  net::IpAddr target;
  uint16_t target_port = 51820;
  controlplane::crypto::PublicKey key{};
  uint32_t first_source = 0, last_source = 0;  // host order, inclusive
  double rate = 10000;                         // frames per second
  double seconds = 5;
  bool have_dst_mac = false;
  net::MacAddress dst_mac;
};

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --interface IF --target IP[:PORT] --key BASE64 --sources FIRST-LAST\n"
               "          [--rate PPS] [--seconds N] [--dst-mac MAC]\n",
               argv0);
  return 2;
}

bool parse_options(int argc, char** argv, Options* o) {
  bool have_key = false, have_target = false, have_sources = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--interface") {
      o->interface = v;
    } else if (a == "--target") {
      const size_t colon = v.find(':');
      if (!parse_ipv4(v.substr(0, colon), &o->target)) return false;
      if (colon != std::string::npos)
        o->target_port = static_cast<uint16_t>(std::atoi(v.c_str() + colon + 1));
      have_target = true;
    } else if (a == "--key") {
      size_t len = 0;
      if (sodium_base642bin(o->key.data(), o->key.size(), v.c_str(), v.size(), nullptr, &len,
                            nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
          len != o->key.size()) {
        return false;
      }
      have_key = true;
    } else if (a == "--sources") {
      const size_t dash = v.find('-');
      net::IpAddr first, last;
      if (dash == std::string::npos || !parse_ipv4(v.substr(0, dash), &first) ||
          !parse_ipv4(v.substr(dash + 1), &last) || v4_bits(last) < v4_bits(first)) {
        return false;
      }
      o->first_source = v4_bits(first);
      o->last_source = v4_bits(last);
      have_sources = true;
    } else if (a == "--rate") {
      o->rate = std::atof(v.c_str());
    } else if (a == "--seconds") {
      o->seconds = std::atof(v.c_str());
    } else if (a == "--dst-mac") {
      if (!parse_mac(v, &o->dst_mac)) return false;
      o->have_dst_mac = true;
    } else {
      return false;
    }
  }
  return (argc % 2) == 1 && have_key && have_target && have_sources && !o->interface.empty() &&
         o->rate > 0 && o->seconds > 0;
}

// The interface's MAC and first IPv4 address.
bool interface_addresses(int fd, const std::string& name, net::MacAddress* mac, net::IpAddr* ip) {
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) return false;
  *mac = net::MacAddress::from(reinterpret_cast<const uint8_t*>(ifr.ifr_hwaddr.sa_data));
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return false;
  const bool ok = ioctl(s, SIOCGIFADDR, &ifr) == 0;
  close(s);
  if (!ok) return false;
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ifr.ifr_addr);
  *ip = net::IpAddr::v4(reinterpret_cast<const uint8_t*>(&sin->sin_addr));
  return true;
}

struct Counts {
  uint64_t cookie_replies = 0;
  uint64_t other_replies = 0;
};

// Reads what has arrived without blocking: counts datagrams from the target's
// port, and returns the sender MAC of an ARP reply for `arp_for` if one came.
bool drain(int fd, const Options& o, Counts* counts, const net::IpAddr* arp_for,
           net::MacAddress* arp_mac) {
  bool resolved = false;
  uint8_t buf[2048];
  for (;;) {
    sockaddr_ll from{};
    socklen_t fromlen = sizeof(from);
    const ssize_t n =
        recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromlen);
    if (n <= 0) return resolved;
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    const std::span<const uint8_t> frame(buf, static_cast<size_t>(n));
    const net::FrameView v = net::parse_frame(frame);
    if (v.kind == net::FrameKind::kArp && arp_for != nullptr && v.arp_op == 2) {
      // ARP body: sender MAC at 8, sender IP at 14 (RFC 826, Ethernet/IPv4).
      const uint8_t* arp = buf + v.l3_offset;
      if (std::memcmp(arp + 14, arp_for->bytes.data(), 4) == 0) {
        *arp_mac = net::MacAddress::from(arp + 8);
        resolved = true;
      }
      continue;
    }
    if (v.kind != net::FrameKind::kIpv4Udp || !(v.src == o.target) || v.src_port != o.target_port)
      continue;
    const uint32_t to = v4_bits(v.dst);
    if (to < o.first_source || to > o.last_source) continue;  // a real peer's traffic
    if (v.payload_len == sizeof(wire::MessageCookieReply) &&
        wire::classify(frame.subspan(v.payload_offset, v.payload_len)) ==
            wire::MessageType::kHandshakeCookie) {
      ++counts->cookie_replies;
    } else {
      ++counts->other_replies;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (sodium_init() < 0 || !parse_options(argc, argv, &o)) return usage(argv[0]);

  const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) {
    std::fprintf(stderr, "flood: AF_PACKET socket: %s (root needed)\n", std::strerror(errno));
    return 1;
  }
  const unsigned ifindex = if_nametoindex(o.interface.c_str());
  net::MacAddress own_mac;
  net::IpAddr own_ip;
  if (ifindex == 0 || !interface_addresses(fd, o.interface, &own_mac, &own_ip)) {
    std::fprintf(stderr, "flood: interface %s: no such interface or no IPv4 address: %s\n",
                 o.interface.c_str(), std::strerror(errno));
    return 1;
  }
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "flood: bind to %s: %s\n", o.interface.c_str(), std::strerror(errno));
    return 1;
  }
  int sndbuf = 4 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));

  Counts counts;
  if (!o.have_dst_mac) {
    uint8_t arp[64];
    const size_t len = net::build_arp_request(arp, own_mac, own_ip, o.target);
    bool resolved = false;
    for (int attempt = 0; attempt < 30 && !resolved; ++attempt) {
      if (send(fd, arp, len, 0) != static_cast<ssize_t>(len)) {
        std::fprintf(stderr, "flood: sending ARP request: %s\n", std::strerror(errno));
        return 1;
      }
      pollfd p{fd, POLLIN, 0};
      for (uint64_t until = clock_ns() + 200'000'000; !resolved && clock_ns() < until;) {
        (void)poll(&p, 1, 50);
        resolved = drain(fd, o, &counts, &o.target, &o.dst_mac);
      }
    }
    if (!resolved) {
      std::fprintf(stderr, "flood: no ARP reply for the target within 6 s\n");
      return 1;
    }
  }

  // A pool of distinct initiations, reused round-robin: the gateway cannot
  // tell them from fresh ones (it keeps no state about rejected initiations).
  constexpr size_t kPool = 4096;
  std::vector<wire::MessageInitiation> pool(kPool);
  test::tools::make_junk_initiations(o.key, pool);

  const uint32_t sources = o.last_source - o.first_source + 1;
  constexpr size_t kHeaders = 14 + 20 + 8;
  uint8_t frame[kHeaders + sizeof(wire::MessageInitiation)];
  const uint64_t total = static_cast<uint64_t>(o.rate * o.seconds);
  const double interval_ns = 1e9 / o.rate;
  uint64_t sent = 0, send_errors = 0;
  const uint64_t start = clock_ns();
  while (sent < total) {
    // Pacing: every frame due by now goes out, then a short sleep.
    const uint64_t due =
        static_cast<uint64_t>(static_cast<double>(clock_ns() - start) / interval_ns) + 1;
    while (sent < total && sent < due) {
      const wire::MessageInitiation& m = pool[sent % kPool];
      uint32_t r;
      randombytes_buf(&r, sizeof(r));
      uint8_t src_bytes[4];
      net::store_be32(src_bytes, o.first_source + (r % sources));
      const uint16_t src_port = static_cast<uint16_t>(1024 + ((r >> 16) % 64000));
      std::memcpy(frame + kHeaders, &m, sizeof(m));
      const size_t hl = net::write_outer_headers(
          frame, own_mac, o.dst_mac, net::IpAddr::v4(src_bytes), o.target, src_port, o.target_port,
          frame + kHeaders, sizeof(m), static_cast<uint16_t>(sent), /*udp_checksum=*/true);
      if (hl != kHeaders ||
          send(fd, frame, sizeof(frame), 0) != static_cast<ssize_t>(sizeof(frame))) {
        if (errno != ENOBUFS && errno != EAGAIN) {
          std::fprintf(stderr, "flood: send: %s\n", std::strerror(errno));
          return 1;
        }
        ++send_errors;  // the veth's queue was full: the frame is lost, try the next
      }
      ++sent;
    }
    drain(fd, o, &counts, nullptr, nullptr);
    timespec pause{0, 200'000};
    nanosleep(&pause, nullptr);
  }
  const uint64_t elapsed = clock_ns() - start;
  // Replies still in flight.
  for (uint64_t until = clock_ns() + 500'000'000; clock_ns() < until;) {
    drain(fd, o, &counts, nullptr, nullptr);
    timespec pause{0, 10'000'000};
    nanosleep(&pause, nullptr);
  }
  close(fd);

  const double secs = static_cast<double>(elapsed) / 1e9;
  std::printf("flood_sent %" PRIu64 "\n", sent - send_errors);
  std::printf("flood_send_errors %" PRIu64 "\n", send_errors);
  std::printf("flood_seconds %.2f\n", secs);
  std::printf("flood_rate_pps %.0f\n", static_cast<double>(sent - send_errors) / secs);
  std::printf("flood_sources %u\n", sources);
  std::printf("flood_cookie_replies %" PRIu64 "\n", counts.cookie_replies);
  std::printf("flood_other_replies %" PRIu64 "\n", counts.other_replies);
  return 0;
}
