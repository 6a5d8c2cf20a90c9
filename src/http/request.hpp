#pragma once
#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/flat_fields.hpp"

namespace nexus::http {

namespace bhttp = boost::beast::http;

/// A client's request as the server keeps it: the request line, the fields in the order they
/// came (core::FlatFields: a flat list, where Beast's message gives every field an allocation
/// and a place in a tree), and the body once read.
class Request {
public:
    using Field = core::FlatFields::Field;

    bhttp::verb method() const { return method_; }
    std::string_view method_string() const { return std::string_view(line_).substr(0, method_size_); }
    std::string_view target() const { return std::string_view(line_).substr(method_size_); }
    /// 11 for HTTP/1.1, 10 for HTTP/1.0.
    unsigned version() const { return version_; }
    /// Whether the connection may carry another request after this one's answer.
    bool keep_alive() const { return keep_alive_; }
    std::string& body() { return body_; }
    const std::string& body() const { return body_; }

    auto begin() const { return fields_.begin(); }
    auto end() const { return fields_.end(); }
    /// The value of the first field of the known name `name`, or empty.
    std::string_view operator[](bhttp::field name) const { return fields_[name]; }
    /// The value of the first field named `name` (without regard to case), or empty.
    std::string_view operator[](std::string_view name) const { return fields_[name]; }
    /// Sets the known field `name` to `value`, in place of any it had (for requests made by hand).
    void set(bhttp::field name, std::string_view value) { fields_.set(name, value); }

private:
    friend class RequestParser;
    bhttp::verb method_ = bhttp::verb::unknown;
    std::uint32_t method_size_ = 0;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    std::string line_;  ///< the method, then the target
    core::FlatFields fields_;
    std::string body_;
};

/// The parser of a client's request: Beast's parser keeping the request in a Request.
class RequestParser final : public core::FlatHeadParser<true> {
public:
    RequestParser() : FlatHeadParser(request_.fields_) {}

    Request& get() { return request_; }
    const Request& get() const { return request_; }

private:
    void on_request_impl(bhttp::verb method, string_view method_string, string_view target, int version,
                         error_code& ec) override;
    void on_header_impl(error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override;
    std::size_t on_body_impl(string_view body, error_code& ec) override;

    Request request_;
};

}  // namespace nexus::http
