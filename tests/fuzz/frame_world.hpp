// The gateway's outer port as the frame fuzz target (fuzz_frame.cpp) and its
// seed generator (make_seeds.cpp) see it: its MAC, addresses and listen port.
#pragma once

#include <array>

#include "dataplane/net/responder.hpp"

namespace wirespeed::fuzz {

namespace net = dataplane::net;

inline constexpr uint16_t kListenPort = 51820;
inline constexpr net::MacAddress kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr net::MacAddress kTheirMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};

inline net::IpAddr our_v6() {
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return net::IpAddr::v6(b);
}
inline net::IpAddr their_v6() {
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  return net::IpAddr::v6(b);
}
inline constexpr net::IpAddr kOurV4 = net::IpAddr::v4(192, 0, 2, 1);
inline constexpr net::IpAddr kTheirV4 = net::IpAddr::v4(192, 0, 2, 2);

inline const std::array<net::IpAddr, 2>& our_addresses() {
  static const std::array<net::IpAddr, 2> a = {kOurV4, our_v6()};
  return a;
}

inline net::LocalAddresses local_addresses() {
  return net::LocalAddresses{kOurMac, our_addresses(), true};
}

}  // namespace wirespeed::fuzz
