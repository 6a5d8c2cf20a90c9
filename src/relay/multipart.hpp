#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace nexus::relay {

/// One part of a multipart/form-data body (RFC 7578). Views point into the body.
struct FormPart {
    std::string_view name;      ///< Content-Disposition name
    std::string_view filename;  ///< empty when the part is not a file
    std::string_view value;     ///< the part's bytes
    std::size_t value_offset = 0;  ///< where `value` starts in the body
};

/// The boundary of a `multipart/form-data; boundary=…` Content-Type, or nullopt when the type is
/// another one or names no usable boundary (1–70 characters, RFC 2046).
std::optional<std::string_view> form_boundary(std::string_view content_type);

/// Splits `body` into its parts. A body that does not follow the format (no opening delimiter,
/// a part without its blank line, a part without a name, no closing delimiter) → a 400 Error
/// saying what is wrong. Never throws; reads only what is inside `body`.
core::Result<std::vector<FormPart>> parse_form(std::string_view body, std::string_view boundary);

}  // namespace nexus::relay
