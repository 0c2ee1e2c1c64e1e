#pragma once
// Base64 (RFC 4648, standard alphabet) decoding, for kubeconfig's *-data fields.
#include <string>
#include <string_view>

#include "common/error.h"

namespace strand::sources::k8s {

// Decodes `text`; whitespace (line breaks in pasted data) is ignored, padding
// is optional. EINVAL on a character outside the alphabet or a bad length.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text);

}  // namespace strand::sources::k8s
