// Names of Result error codes (dataplane/base/result.hpp).
#include "dataplane/base/result.hpp"

namespace wirespeed {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::kOk: return "ok";
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kBadLength: return "bad length";
    case Errc::kBadType: return "bad type";
    case Errc::kBadMac: return "bad mac";
    case Errc::kDecryptFailed: return "decrypt failed";
    case Errc::kBadKey: return "bad key";
    case Errc::kReplayed: return "replayed";
    case Errc::kRateLimited: return "rate limited";
    case Errc::kBadState: return "bad state";
    case Errc::kUnknownPeer: return "unknown peer";
    case Errc::kExhausted: return "exhausted";
    case Errc::kSystem: return "system error";
  }
  return "unknown";
}

}  // namespace wirespeed
