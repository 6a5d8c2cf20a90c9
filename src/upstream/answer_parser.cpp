#include "upstream/answer_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

namespace nexus::upstream {

namespace {

constexpr std::size_t kKeptHeadBytes = 4096;  // what a pooled connection keeps of a larger head

}  // namespace

void Head::trim() {
    if (text_.capacity() > kKeptHeadBytes) std::string().swap(text_);
    if (fields_.capacity() > 64) {
        std::vector<Stored>().swap(stored_);
        std::vector<Field>().swap(fields_);
    }
}

AnswerParser::AnswerParser(Head& head) : head_(head) {
    head_.status_ = 0;
    head_.text_.clear();
    head_.stored_.clear();
    head_.fields_.clear();
}

void AnswerParser::on_response_impl(int code, boost::beast::string_view, int, boost::system::error_code&) {
    head_.status_ = static_cast<unsigned>(code);
    // A 1xx answer's fields are not the final answer's: begin again.
    head_.text_.clear();
    head_.stored_.clear();
}

void AnswerParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                 boost::beast::string_view value, boost::system::error_code&) {
    // Fields after the head are a chunked body's trailer: nothing reads them, and the views
    // made at the head's end must not move under them.
    if (is_header_done()) return;
    // The head limit (64 KiB, checked by the parser before this) keeps every offset in 32 bits.
    const auto at = static_cast<std::uint32_t>(head_.text_.size());
    head_.text_.append(name_string.data(), name_string.size()).append(value.data(), value.size());
    head_.stored_.push_back(Head::Stored{name, at, static_cast<std::uint32_t>(name_string.size()),
                                         at + static_cast<std::uint32_t>(name_string.size()),
                                         static_cast<std::uint32_t>(value.size())});
}

void AnswerParser::on_header_impl(boost::system::error_code&) {
    const std::string_view text = head_.text_;
    head_.fields_.clear();
    for (const auto& s : head_.stored_) {
        Head::Field f;
        f.name_ = s.name;
        f.name_string_ = text.substr(s.name_at, s.name_size);
        f.value_ = text.substr(s.value_at, s.value_size);
        head_.fields_.push_back(f);
    }
}

std::size_t AnswerParser::on_body_impl(boost::beast::string_view body, boost::system::error_code& ec) {
    if (into_ == nullptr) {
        ec = bhttp::error::need_buffer;
        return 0;
    }
    const auto n = std::min(room_, body.size());
    std::memcpy(into_, body.data(), n);
    into_ += n;
    room_ -= n;
    if (n < body.size()) ec = bhttp::error::need_buffer;
    return n;
}

}  // namespace nexus::upstream
