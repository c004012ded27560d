// The frame builders and reference crypto of the pipeline tests (see
// pipeline_fixture.hpp): every byte a test feeds the pipeline is made here,
// independently of the code under test except for the checksum and outer
// header helpers of dataplane/net/frame.hpp (which frame_test.cpp checks).
#include <arpa/inet.h>

#include <cstring>

#include "controlplane/crypto/aead.hpp"
#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {

namespace {

namespace ref = wirespeed::controlplane::crypto;

void put_le32(uint8_t* p, uint32_t v) {
  pipeline::store_le32(p, v);
}
void put_le64(uint8_t* p, uint64_t v) {
  pipeline::store_le64(p, v);
}

// IPv4 header without options, checksummed.
void write_ipv4(uint8_t* h, const IpAddr& src, const IpAddr& dst, uint8_t proto, size_t total) {
  h[0] = 0x45;
  h[1] = 0;
  net::store_be16(h + 2, static_cast<uint16_t>(total));
  net::store_be16(h + 4, 0x4242);
  net::store_be16(h + 6, 0);
  h[8] = 64;
  h[9] = proto;
  net::store_be16(h + 10, 0);
  std::memcpy(h + 12, src.bytes.data(), 4);
  std::memcpy(h + 16, dst.bytes.data(), 4);
  net::store_be16(h + 10, net::internet_checksum(h, 20));
}

void write_ipv6(uint8_t* h, const IpAddr& src, const IpAddr& dst, uint8_t next, size_t payload,
                uint8_t hop_limit = 64) {
  h[0] = 0x60;
  h[1] = h[2] = h[3] = 0;
  net::store_be16(h + 4, static_cast<uint16_t>(payload));
  h[6] = next;
  h[7] = hop_limit;
  std::memcpy(h + 8, src.bytes.data(), 16);
  std::memcpy(h + 24, dst.bytes.data(), 16);
}

}  // namespace

IpAddr ip(const char* text) {
  IpAddr a;
  if (inet_pton(AF_INET, text, a.bytes.data()) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, text, a.bytes.data()) == 1) {
    a.family = 6;
  } else {
    ADD_FAILURE() << "bad address in a test: " << text;
  }
  return a;
}

const Net& net() {
  static const Net n;
  return n;
}

TestKeypair make_keypair(uint8_t seed, bool we_initiated) {
  TestKeypair kp;
  kp.local_index = 0x51000000U + seed * 0x101U;
  kp.remote_index = 0xA2000000U + seed * 0x103U;
  for (unsigned i = 0; i < 32; ++i) {
    kp.send_key[i] = static_cast<uint8_t>(seed * 31 + i);
    kp.receive_key[i] = static_cast<uint8_t>(seed * 57 + 3 * i + 1);
  }
  kp.we_initiated = we_initiated;
  return kp;
}

shm::Endpoint endpoint(const IpAddr& addr, uint16_t port) {
  shm::Endpoint e;
  e.family = addr.family;
  e.port = port;
  std::memcpy(e.addr, addr.bytes.data(), 16);
  return e;
}

Bytes ip_packet(const IpAddr& src, const IpAddr& dst, size_t payload_len, uint8_t tag) {
  const size_t ip_header = src.family == 4 ? 20 : 40;
  Bytes p(ip_header + 8 + payload_len);
  if (src.family == 4) {
    write_ipv4(p.data(), src, dst, net::kIpProtoUdp, p.size());
  } else {
    write_ipv6(p.data(), src, dst, net::kIpProtoUdp, p.size() - 40);
  }
  uint8_t* udp = p.data() + ip_header;
  net::store_be16(udp, 1234);
  net::store_be16(udp + 2, 5678);
  net::store_be16(udp + 4, static_cast<uint16_t>(8 + payload_len));
  net::store_be16(udp + 6, 0);
  for (size_t i = 0; i < payload_len; ++i) udp[8 + i] = static_cast<uint8_t>(tag * 13 + i * 7 + 1);
  return p;
}

Bytes ip_packet_of_length(const IpAddr& src, const IpAddr& dst, size_t total_len, uint8_t tag) {
  const size_t headers = (src.family == 4 ? 20 : 40) + 8;
  EXPECT_GE(total_len, headers);
  return ip_packet(src, dst, total_len - headers, tag);
}

Bytes ethernet(const MacAddress& dst, const MacAddress& src, uint16_t ether_type,
               const Bytes& payload) {
  Bytes f(14 + payload.size());
  std::memcpy(f.data(), dst.bytes.data(), 6);
  std::memcpy(f.data() + 6, src.bytes.data(), 6);
  net::store_be16(f.data() + 12, ether_type);
  std::memcpy(f.data() + 14, payload.data(), payload.size());
  return f;
}

Bytes lan_frame(const Bytes& packet, const MacAddress& src) {
  const uint16_t type =
      !packet.empty() && (packet[0] >> 4) == 6 ? net::kEtherTypeIpv6 : net::kEtherTypeIpv4;
  return ethernet(kInnerMac, src, type, packet);
}

Bytes udp_frame(const MacAddress& dst_mac, const MacAddress& src_mac, const IpAddr& src,
                const IpAddr& dst, uint16_t src_port, uint16_t dst_port, const Bytes& payload) {
  const size_t header = net::outer_header_len(src.family);
  Bytes f(header + payload.size());
  std::memcpy(f.data() + header, payload.data(), payload.size());
  const size_t written = net::write_outer_headers(
      f.data(), src_mac, dst_mac, src, dst, src_port, dst_port, f.data() + header,
      static_cast<uint16_t>(payload.size()), 0x77, true);
  EXPECT_EQ(written, header);
  return f;
}

Bytes from_peer(const Bytes& wg_message, uint8_t family, uint16_t src_port,
                const MacAddress& src_mac) {
  const Net& n = net();
  return family == 4
             ? udp_frame(kOuterMac, src_mac, n.peer4, n.outer4, src_port, kListenPort, wg_message)
             : udp_frame(kOuterMac, src_mac, n.peer6, n.outer6, src_port, kListenPort, wg_message);
}

Bytes initiation() {
  Bytes msg(wire::kInitiationSize, 0x11);
  msg[0] = static_cast<uint8_t>(wire::MessageType::kHandshakeInitiation);
  msg[1] = msg[2] = msg[3] = 0;
  return msg;
}

Bytes padded(const Bytes& packet) {
  Bytes p = packet;
  p.resize((packet.size() + 15) / 16 * 16, 0);
  return p;
}

Bytes data_message(uint32_t receiver, uint64_t counter, const Key& key, const Bytes& plaintext) {
  Bytes m(wire::kDataHeaderSize + plaintext.size() + wire::kTagLen);
  m[0] = static_cast<uint8_t>(wire::MessageType::kData);
  put_le32(m.data() + 4, receiver);
  put_le64(m.data() + 8, counter);
  const auto sealed = std::span<uint8_t>(m).subspan(wire::kDataHeaderSize);
  EXPECT_TRUE(ref::chacha20poly1305_seal(sealed, plaintext, {}, counter, key).ok());
  return m;
}

std::optional<Bytes> reference_open(const Key& key, uint64_t counter, const Bytes& sealed) {
  if (sealed.size() < wire::kTagLen) return std::nullopt;
  Bytes out(sealed.size() - wire::kTagLen);
  if (!ref::chacha20poly1305_open(out, sealed, {}, counter, key).ok()) return std::nullopt;
  return out;
}

Bytes arp_frame(uint16_t op, const MacAddress& sender_mac, const IpAddr& sender,
                const IpAddr& target, const MacAddress& eth_dst) {
  Bytes body(28, 0);
  net::store_be16(body.data(), 1);
  net::store_be16(body.data() + 2, net::kEtherTypeIpv4);
  body[4] = 6;
  body[5] = 4;
  net::store_be16(body.data() + net::kArpOpOffset, op);
  std::memcpy(body.data() + net::kArpShaOffset, sender_mac.bytes.data(), 6);
  std::memcpy(body.data() + net::kArpSpaOffset, sender.bytes.data(), 4);
  std::memcpy(body.data() + net::kArpTpaOffset, target.bytes.data(), 4);
  return ethernet(eth_dst, sender_mac, net::kEtherTypeArp, body);
}

Bytes icmp_frame(const MacAddress& dst_mac, const MacAddress& src_mac, const IpAddr& src,
                 const IpAddr& dst, uint8_t type, size_t body_len) {
  Bytes icmp(8 + body_len, 0);
  icmp[0] = type;
  for (size_t i = 0; i < body_len; ++i) icmp[8 + i] = static_cast<uint8_t>(i);
  if (src.family == 4) {
    net::store_be16(icmp.data() + 2, net::internet_checksum(icmp.data(), icmp.size()));
    Bytes p(20 + icmp.size());
    write_ipv4(p.data(), src, dst, net::kIpProtoIcmp, p.size());
    std::memcpy(p.data() + 20, icmp.data(), icmp.size());
    return ethernet(dst_mac, src_mac, net::kEtherTypeIpv4, p);
  }
  const uint32_t sum =
      net::pseudo_header_sum(src, dst, net::kIpProtoIcmpv6, static_cast<uint32_t>(icmp.size()));
  net::store_be16(icmp.data() + 2,
                  net::checksum_finish(net::checksum_add(sum, icmp.data(), icmp.size())));
  Bytes p(40 + icmp.size());
  write_ipv6(p.data(), src, dst, net::kIpProtoIcmpv6, icmp.size(), 255);
  std::memcpy(p.data() + 40, icmp.data(), icmp.size());
  return ethernet(dst_mac, src_mac, net::kEtherTypeIpv6, p);
}

Bytes SentDatagram::message() const {
  return Bytes(frame.begin() + view.payload_offset,
               frame.begin() + view.payload_offset + view.payload_len);
}

}  // namespace wirespeed::dataplane::pipeline_test
