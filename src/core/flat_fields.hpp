#pragma once
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::core {

/// The fields of an HTTP head as a parser hands them (Beast's basic_parser), kept in the order
/// they came as views into one string. Beast's own fields give every field an allocation and a
/// place in a tree ordered by name; a head the relay reads once, looks at a few fields of and
/// forwards is served by a flat list for a fraction of that, and a lookup is a scan of a handful
/// of fields (by the number Beast tags a known name with, or by text without regard to case).
class FlatFields {
public:
    // The views point into text_: a copy or a move (which may move a short string's bytes) would
    // keep views into the original. Heads are read where they are parsed, never copied.
    FlatFields() = default;
    FlatFields(const FlatFields&) = delete;
    FlatFields& operator=(const FlatFields&) = delete;

    class Field {
    public:
        boost::beast::http::field name() const { return name_; }
        std::string_view name_string() const { return name_string_; }
        std::string_view value() const { return value_; }

    private:
        friend class FlatFields;
        boost::beast::http::field name_ = boost::beast::http::field::unknown;
        std::string_view name_string_;
        std::string_view value_;
    };

    auto begin() const { return fields_.cbegin(); }
    auto end() const { return fields_.cend(); }
    /// The value of the first field of the known name `name`, or empty.
    std::string_view operator[](boost::beast::http::field name) const {
        for (const auto& f : fields_) {
            if (f.name_ == name) return f.value_;
        }
        return {};
    }
    /// The value of the first field named `name` (without regard to case), or empty.
    std::string_view operator[](std::string_view name) const;

    /// Appends a field, as a parser hands it; its view appears at seal().
    void add(boost::beast::http::field name, std::string_view name_string, std::string_view value) {
        // A parser's head limit keeps every offset far inside 32 bits.
        const auto at = static_cast<std::uint32_t>(text_.size());
        const auto name_size = static_cast<std::uint32_t>(name_string.size());
        text_.append(name_string).append(value);
        stored_.push_back(Stored{name, at, name_size, at + name_size, static_cast<std::uint32_t>(value.size())});
    }
    /// Makes room for a usual head's fields at once, so that they do not grow it field by field.
    void reserve();
    /// Makes the views of every field added: once the head is whole (they stay valid until the
    /// next add(), set() or clear()).
    void seal();
    /// Sets the known field `name` to `value`, in place of any it had (for a head made by hand).
    void set(boost::beast::http::field name, std::string_view value);
    /// Forgets every field and keeps the memory, for the next head.
    void clear();
    /// Forgets every field, and lets go of the memory of an unusually large head (one kept while
    /// its connection idles).
    void trim();

private:
    struct Stored {
        boost::beast::http::field name;
        std::uint32_t name_at, name_size, value_at, value_size;
    };
    std::string text_;            ///< every name and value, back to back
    std::vector<Stored> stored_;  ///< where each field lies in text_, while text_ still grows
    std::vector<Field> fields_;   ///< views into text_, made by seal()
};

/// Beast's HTTP/1.1 parser (its grammar, limits, framing and chunk decoding) keeping a head's
/// fields in a FlatFields: what the parser of a client's request and that of an upstream's answer
/// share. Fields after the head are a chunked body's trailer and are not kept: nothing reads them
/// (a trailer must not add a field after the head was checked), and the views made at the head's
/// end must not move under them. The body is the derived parser's (on_body_impl).
template <bool isRequest>
class FlatHeadParser : public boost::beast::http::basic_parser<isRequest> {
protected:
    using string_view = boost::beast::string_view;
    using error_code = boost::system::error_code;

    explicit FlatHeadParser(FlatFields& fields) : fields_(fields) {}

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code&) override {}
    void on_response_impl(int, string_view, int, error_code&) override {}
    void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code&) override {
        if (this->is_header_done()) return;
        fields_.add(name, {name_string.data(), name_string.size()}, {value.data(), value.size()});
    }
    void on_header_impl(error_code&) override { fields_.seal(); }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
        return this->on_body_impl(body, ec);
    }
    void on_finish_impl(error_code&) override {}

private:
    FlatFields& fields_;
};

}  // namespace nexus::core
