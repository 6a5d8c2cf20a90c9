#pragma once
#include <cstdint>
#include <span>

#include "core/flat_fields.hpp"

namespace nexus::upstream {

namespace bhttp = boost::beast::http;

/// An upstream answer's head as the client keeps it: its status and its fields in the order they
/// came (core::FlatFields). It lives with its connection, so its memory serves the next answer
/// too: reading a head allocates nothing once warm.
class Head {
public:
    using Field = core::FlatFields::Field;

    unsigned result_int() const { return status_; }
    auto begin() const { return fields_.begin(); }
    auto end() const { return fields_.end(); }
    /// The value of the first field of the known name `name`, or empty.
    std::string_view operator[](bhttp::field name) const { return fields_[name]; }
    /// Forgets the head, and lets go of the memory of an unusually large one (a connection keeps
    /// its Head while pooled).
    void trim() { fields_.trim(); }

private:
    friend class AnswerParser;
    unsigned status_ = 0;
    core::FlatFields fields_;
};

/// The parser of an upstream's answer: Beast's parser keeping the head in a Head instead of
/// Beast's fields. The body is copied into the space given by destination(), as Beast's
/// buffer_body does: when that is full, the parser stops with http::error::need_buffer.
class AnswerParser final : public core::FlatHeadParser<false> {
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
    void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
    std::size_t on_body_impl(string_view body, error_code& ec) override;

    Head& head_;
    char* into_ = nullptr;
    std::size_t room_ = 0;
    bool close_after_ = false;
};

}  // namespace nexus::upstream
