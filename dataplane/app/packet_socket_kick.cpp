// Kicking net_af_packet's TX rings after a link flap (see packet_socket_kick.hpp).
#include "dataplane/app/packet_socket_kick.hpp"

#include <dirent.h>
#include <sys/socket.h>

#include <cstdlib>

namespace wirespeed::dataplane::app {

PacketSocketKick PacketSocketKick::find_sockets() {
  PacketSocketKick kick;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return kick;
  const int own = dirfd(dir);
  while (const dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own) continue;
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
        domain == AF_PACKET) {
      kick.fds_.push_back(static_cast<int>(fd));
    }
  }
  closedir(dir);
  return kick;
}

void PacketSocketKick::poll(uint64_t now_ns) noexcept {
  if (fds_.empty() || now_ns < next_ns_) return;
  next_ns_ = now_ns + kIntervalNs;
  for (const int fd : fds_) {
    int error = 0;
    socklen_t len = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error != 0) ++errors_cleared_;
    sendto(fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0);  // a failure here changes nothing
  }
}

}  // namespace wirespeed::dataplane::app
