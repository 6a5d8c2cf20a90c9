#pragma once
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::upstream {

namespace bhttp = boost::beast::http;

/// An upstream answer's head as the client keeps it: its status and its fields in the order they
/// came, as views into one string. It lives with its connection, so the string and the lists keep
/// their capacity from one answer to the next: reading a head allocates nothing once warm.
class Head {
public:
    class Field {
    public:
        bhttp::field name() const { return name_; }
        std::string_view name_string() const { return name_string_; }
        std::string_view value() const { return value_; }

    private:
        friend class AnswerParser;
        bhttp::field name_ = bhttp::field::unknown;
        std::string_view name_string_;
        std::string_view value_;
    };

    unsigned result_int() const { return status_; }
    auto begin() const { return fields_.cbegin(); }
    auto end() const { return fields_.cend(); }

    /// Lets go of the memory of an unusually large head (a connection keeps its Head while pooled).
    void trim();

private:
    friend class AnswerParser;
    struct Stored {
        bhttp::field name;
        std::uint32_t name_at, name_size, value_at, value_size;
    };
    unsigned status_ = 0;
    std::string text_;            ///< every name and value, back to back
    std::vector<Stored> stored_;  ///< where each field lies in text_, while text_ still grows
    std::vector<Field> fields_;   ///< views into text_, once the head is whole
};

/// The parser of an upstream's answer: Beast's HTTP/1.1 parser (its grammar, limits, framing and
/// chunk decoding), keeping the head in a Head instead of Beast's fields. Beast's fields give every
/// field its own allocation and a place in a tree ordered by name; an answer's head is read once,
/// looked at a field or two, and forwarded, so a flat list does the same for a fraction of it.
/// The body is copied into the space given by destination(), as Beast's buffer_body does:
/// when that is full, the parser stops with http::error::need_buffer.
class AnswerParser final : public bhttp::basic_parser<false> {
public:
    explicit AnswerParser(Head& head);

    const Head& head() const { return head_; }
    /// Where the next body bytes go; remaining() says how much room is left.
    void destination(std::span<char> into) {
        into_ = into.data();
        room_ = into.size();
    }
    std::size_t remaining() const { return room_; }
    /// The connection must not be reused after this answer (our request was not written whole).
    void close_after() { close_after_ = true; }
    /// The answer was read whole and the upstream keeps the connection open for another.
    bool reusable() const { return is_done() && keep_alive() && !close_after_; }

private:
    void on_request_impl(bhttp::verb, boost::beast::string_view, boost::beast::string_view, int,
                         boost::system::error_code&) override {}
    void on_response_impl(int code, boost::beast::string_view reason, int version,
                          boost::system::error_code& ec) override;
    void on_field_impl(bhttp::field name, boost::beast::string_view name_string, boost::beast::string_view value,
                       boost::system::error_code& ec) override;
    void on_header_impl(boost::system::error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::system::error_code&) override {}
    std::size_t on_body_impl(boost::beast::string_view body, boost::system::error_code& ec) override;
    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::system::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                   boost::system::error_code& ec) override {
        return on_body_impl(body, ec);
    }
    void on_finish_impl(boost::system::error_code&) override {}

    Head& head_;
    char* into_ = nullptr;
    std::size_t room_ = 0;
    bool close_after_ = false;
};

}  // namespace nexus::upstream
