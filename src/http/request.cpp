#include "http/request.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace nexus::http {

std::string_view Request::operator[](bhttp::field name) const {
    for (const auto& f : fields_) {
        if (f.name_ == name) return f.value_;
    }
    return {};
}

std::string_view Request::operator[](std::string_view name) const {
    for (const auto& f : fields_) {
        if (boost::beast::iequals(f.name_string_, name)) return f.value_;
    }
    return {};
}

void Request::insert(bhttp::field name, std::string_view name_string, std::string_view value) {
    // The parser's head limit keeps every offset far inside 32 bits.
    const auto at = static_cast<std::uint32_t>(text_.size());
    const auto name_size = static_cast<std::uint32_t>(name_string.size());
    text_.append(name_string).append(value);
    stored_.push_back(Stored{name, at, name_size, at + name_size, static_cast<std::uint32_t>(value.size())});
}

void Request::set(bhttp::field name, std::string_view value) {
    std::erase_if(stored_, [name](const Stored& s) { return s.name == name; });
    insert(name, bhttp::to_string(name), value);
    refresh_views();
}

void Request::refresh_views() {
    const std::string_view text = text_;
    fields_.clear();
    fields_.reserve(stored_.size());
    for (const auto& s : stored_) {
        Field f;
        f.name_ = s.name;
        f.name_string_ = text.substr(s.name_at, s.name_size);
        f.value_ = text.substr(s.value_at, s.value_size);
        fields_.push_back(f);
    }
}

void RequestParser::on_request_impl(bhttp::verb method, boost::beast::string_view method_string,
                                    boost::beast::string_view target, int version, boost::system::error_code&) {
    auto& r = request_;
    r.text_.reserve(256);
    r.stored_.reserve(12);
    r.method_ = method;
    r.version_ = static_cast<unsigned>(version);
    r.method_at_ = 0;
    r.method_size_ = static_cast<std::uint32_t>(method_string.size());
    r.text_.assign(method_string.data(), method_string.size());
    r.target_at_ = static_cast<std::uint32_t>(r.text_.size());
    r.target_size_ = static_cast<std::uint32_t>(target.size());
    r.text_.append(target.data(), target.size());
}

void RequestParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, boost::system::error_code&) {
    // Fields after the head are a chunked body's trailer: no handler reads them (a trailer must
    // not add an Authorization after the fact), and the views made at the head's end must not
    // move under them.
    if (is_header_done()) return;
    request_.insert(name, {name_string.data(), name_string.size()}, {value.data(), value.size()});
}

void RequestParser::on_header_impl(boost::system::error_code&) {
    request_.keep_alive_ = keep_alive();
    request_.refresh_views();
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::system::error_code& ec) {
    // The body limit was checked against a declared length before this.
    if (length) {
        if (*length > request_.body_.max_size()) {
            ec = bhttp::error::buffer_overflow;
            return;
        }
        request_.body_.reserve(static_cast<std::size_t>(*length));
    }
}

std::size_t RequestParser::on_body_impl(boost::beast::string_view body, boost::system::error_code&) {
    request_.body_.append(body.data(), body.size());
    return body.size();
}

}  // namespace nexus::http
