#include "http/request.hpp"

#include <boost/beast/http/error.hpp>

namespace nexus::http {

void RequestParser::on_request_impl(bhttp::verb method, boost::beast::string_view method_string,
                                    boost::beast::string_view target, int version, boost::system::error_code&) {
    auto& r = request_;
    r.method_ = method;
    r.version_ = static_cast<unsigned>(version);
    r.method_size_ = static_cast<std::uint32_t>(method_string.size());
    r.fields_.reserve();
    r.line_.reserve(method_string.size() + target.size());
    r.line_.assign(method_string.data(), method_string.size()).append(target.data(), target.size());
}

void RequestParser::on_header_impl(boost::system::error_code& ec) {
    FlatHeadParser::on_header_impl(ec);
    request_.keep_alive_ = keep_alive();
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
