#pragma once
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include <string>
#include <string_view>

namespace nexus::core {

/// HTTP/1.1 message heads as text, for writing a head and a body in one gather write. Beast's
/// serializer walks a variant buffer sequence several times per write; for a whole message we
/// already hold, one string and one writev cost a fraction of that (issue 5's profile).
/// Field values come from Beast's parser or from our own code, neither of which lets CR or LF
/// into a value.

/// Appends `name: value\r\n`.
inline void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

/// The value of the first field of the known name `name` in a Beast head, or empty. Beast's
/// `fields[name]` walks its tree comparing names as text without regard to case (~550
/// instructions a lookup here); each field already carries its known name as a number, and a
/// head holds a handful of fields, so this scan costs a few dozen.
template <class Fields>
std::string_view field_value(const Fields& fields, boost::beast::http::field name) {
    for (const auto& f : fields) {
        if (f.name() == name) return f.value();
    }
    return {};
}

/// The same for a name Beast does not know (X-Request-Id, x-api-key), compared without case.
template <class Fields>
std::string_view field_value(const Fields& fields, std::string_view name) {
    for (const auto& f : fields) {
        if (f.name() == boost::beast::http::field::unknown && boost::beast::iequals(f.name_string(), name)) {
            return f.value();
        }
    }
    return {};
}

}  // namespace nexus::core
