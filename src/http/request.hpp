#pragma once
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::http {

namespace bhttp = boost::beast::http;

/// A client's request as the server keeps it: the request line, the fields in the order they
/// came (as views into one string), and the body once read. Beast's message gives every field an
/// allocation of its own and a place in a tree ordered by name; a request is parsed once and
/// looked at a few fields, so a flat list serves it for a fraction of that.
class Request {
public:
    class Field {
    public:
        bhttp::field name() const { return name_; }
        std::string_view name_string() const { return name_string_; }
        std::string_view value() const { return value_; }

    private:
        friend class Request;
        bhttp::field name_ = bhttp::field::unknown;
        std::string_view name_string_;
        std::string_view value_;
    };

    bhttp::verb method() const { return method_; }
    std::string_view method_string() const { return {text_.data() + method_at_, method_size_}; }
    std::string_view target() const { return {text_.data() + target_at_, target_size_}; }
    /// 11 for HTTP/1.1, 10 for HTTP/1.0.
    unsigned version() const { return version_; }
    /// Whether the connection may carry another request after this one's answer.
    bool keep_alive() const { return keep_alive_; }
    std::string& body() { return body_; }
    const std::string& body() const { return body_; }

    auto begin() const { return fields_.cbegin(); }
    auto end() const { return fields_.cend(); }
    /// The value of the first field of the known name `name`, or empty.
    std::string_view operator[](bhttp::field name) const;
    /// The value of the first field named `name` (without regard to case), or empty.
    std::string_view operator[](std::string_view name) const;

    /// Adds a field, as a parser does (for requests made by hand).
    void insert(bhttp::field name, std::string_view name_string, std::string_view value);
    /// Sets the known field `name` to `value`, in place of any it had (for requests made by hand).
    void set(bhttp::field name, std::string_view value);

private:
    friend class RequestParser;
    struct Stored {
        bhttp::field name;
        std::uint32_t name_at, name_size, value_at, value_size;
    };
    void refresh_views();

    bhttp::verb method_ = bhttp::verb::unknown;
    std::uint32_t method_at_ = 0, method_size_ = 0, target_at_ = 0, target_size_ = 0;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    std::string text_;            ///< the method, the target, then every name and value, back to back
    std::vector<Stored> stored_;  ///< where each field lies in text_
    std::vector<Field> fields_;   ///< views into text_ (made again whenever text_ may have moved)
    std::string body_;
};

/// The parser of a client's request: Beast's HTTP/1.1 parser (its grammar, limits, framing and
/// chunk decoding), keeping the request in a Request.
class RequestParser final : public bhttp::basic_parser<true> {
public:
    RequestParser() = default;

    Request& get() { return request_; }
    const Request& get() const { return request_; }

private:
    void on_request_impl(bhttp::verb method, boost::beast::string_view method_string, boost::beast::string_view target,
                         int version, boost::system::error_code& ec) override;
    void on_response_impl(int, boost::beast::string_view, int, boost::system::error_code&) override {}
    void on_field_impl(bhttp::field name, boost::beast::string_view name_string, boost::beast::string_view value,
                       boost::system::error_code& ec) override;
    void on_header_impl(boost::system::error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::system::error_code& ec) override;
    std::size_t on_body_impl(boost::beast::string_view body, boost::system::error_code& ec) override;
    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::system::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                   boost::system::error_code& ec) override {
        return on_body_impl(body, ec);
    }
    void on_finish_impl(boost::system::error_code&) override {}

    Request request_;
};

}  // namespace nexus::http
