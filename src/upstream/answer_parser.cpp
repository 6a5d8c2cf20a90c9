#include "upstream/answer_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

namespace nexus::upstream {

AnswerParser::AnswerParser(Head& head) : FlatHeadParser(head.fields_), head_(head) {
    head_.status_ = 0;
    head_.fields_.clear();
    head_.fields_.reserve();  // once per connection: the memory stays with its Head
}

void AnswerParser::on_response_impl(int code, boost::beast::string_view, int, boost::system::error_code&) {
    head_.status_ = static_cast<unsigned>(code);
    head_.fields_.clear();  // a 1xx answer's fields are not the final answer's
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
