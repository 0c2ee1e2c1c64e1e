#include "cni/error_json.h"

#include <cerrno>
#include <string>

#include "cni/version.h"

namespace strand::cni {
namespace {

bool is_agent_op(std::string_view op) { return op.starts_with("agent") || op == "connect"; }

bool is_transient(const Error& e) {
  switch (e.err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EBUSY:
    case EINTR:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ENOBUFS:
    case ENOMEM:
    case ENOSPC:
      return true;
    case ENOENT:
    case ECONNRESET:
    case EPIPE:
      return is_agent_op(e.op);
    default:
      return false;
  }
}

}  // namespace

nlohmann::json encode_error(const CniError& e, std::string_view version) {
  nlohmann::json o = {{"cniVersion", std::string(version.empty() ? kLatestVersion : version)},
                      {"code", e.code},
                      {"msg", e.msg}};
  if (!e.details.empty()) o["details"] = e.details;
  return o;
}

CniError to_cni_error(const Error& e, std::string_view what) {
  int code = static_cast<int>(Code::kInternal);
  if (is_transient(e)) {
    code = static_cast<int>(Code::kTryAgainLater);
  } else if (e.err == EIO) {
    code = static_cast<int>(Code::kIoFailure);
  } else if (e.op.starts_with("RTM_")) {
    code = kCodeNetlink;
  }
  return CniError{code, std::string(what), e.message()};
}

}  // namespace strand::cni
