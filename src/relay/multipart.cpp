#include "relay/multipart.hpp"

#include <boost/beast/core/string.hpp>

#include <string>

namespace nexus::relay {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The value of parameter `key` in a header value like `form-data; name="a"; filename="b"`.
// Quoted values end at the next quote (browsers and SDKs percent-encode quotes in names).
std::optional<std::string_view> parameter(std::string_view header_value, std::string_view key) {
    std::size_t i = header_value.find(';');
    while (i != std::string_view::npos) {
        std::string_view rest = trim(header_value.substr(i + 1));
        const auto eq = rest.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        const auto name = trim(rest.substr(0, eq));
        std::string_view value = trim(rest.substr(eq + 1));
        std::size_t consumed = 0;
        if (!value.empty() && value.front() == '"') {
            const auto close = value.find('"', 1);
            if (close == std::string_view::npos) return std::nullopt;
            consumed = close + 1;
            value = value.substr(1, close - 1);
        } else {
            consumed = std::min(value.find(';'), value.size());
            value = trim(value.substr(0, consumed));
        }
        if (boost::beast::iequals(name, key)) return value;
        const auto offset = static_cast<std::size_t>(rest.data() - header_value.data()) + eq + 1;
        i = header_value.find(';', offset + consumed);
    }
    return std::nullopt;
}

core::Error malformed(std::string what) {
    return core::Error::bad_request("The multipart/form-data body is malformed: " + what + ".", {}, "invalid_multipart");
}

}  // namespace

std::optional<std::string_view> form_boundary(std::string_view content_type) {
    const auto semi = content_type.find(';');
    if (!boost::beast::iequals(trim(content_type.substr(0, semi)), "multipart/form-data")) return std::nullopt;
    auto boundary = parameter(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
    return boundary;
}

core::Result<std::vector<FormPart>> parse_form(std::string_view body, std::string_view boundary) {
    std::string delimiter;
    delimiter.reserve(boundary.size() + 4);
    delimiter.append("\r\n--").append(boundary);
    const std::string_view opening = std::string_view(delimiter).substr(2);  // "--boundary"

    // The first delimiter starts the body or follows a preamble line.
    std::size_t pos;
    if (body.starts_with(opening)) {
        pos = opening.size();
    } else {
        const auto found = body.find(delimiter);
        if (found == std::string_view::npos) return malformed("the boundary of the Content-Type never appears");
        pos = found + delimiter.size();
    }

    std::vector<FormPart> parts;
    for (;;) {
        // After a delimiter: "--" closes the body, else a line break starts a part.
        if (body.substr(pos, 2) == "--") return parts;
        const auto line_end = body.find("\r\n", pos);
        if (line_end == std::string_view::npos) return malformed("the body ends without its closing boundary");
        const auto headers_begin = line_end + 2;
        const auto headers_end = body.find("\r\n\r\n", line_end);
        if (headers_end == std::string_view::npos) return malformed("a part's headers never end");

        FormPart part;
        bool named = false;
        // headers_end points at the CRLF that ends the last header line (or the part has none).
        std::string_view headers = headers_end >= headers_begin ? body.substr(headers_begin, headers_end - headers_begin)
                                                                : std::string_view();
        while (!headers.empty()) {
            const auto eol = headers.find("\r\n");
            const auto line = headers.substr(0, eol);
            headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) return malformed("a part header has no ':'");
            if (!boost::beast::iequals(trim(line.substr(0, colon)), "content-disposition")) continue;
            const auto value = line.substr(colon + 1);
            if (auto name = parameter(value, "name")) {
                part.name = *name;
                named = true;
            }
            if (auto filename = parameter(value, "filename")) part.filename = *filename;
        }
        if (!named) return malformed("a part has no Content-Disposition name");

        const auto content_begin = headers_end + 4;
        const auto next = body.find(delimiter, content_begin);
        if (next == std::string_view::npos) return malformed("the body ends without its closing boundary");
        part.value = body.substr(content_begin, next - content_begin);
        part.value_offset = content_begin;
        parts.push_back(part);
        pos = next + delimiter.size();
    }
}

}  // namespace nexus::relay
