// A client's request (http::RequestParser) and an upstream's answer (upstream::AnswerParser) are
// whatever the network sends, cut wherever TCP cuts it. Property: what is kept (the line, the
// fields in order, the body) does not depend on where the bytes were split, and every view stays
// inside what was kept.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"
#include "upstream/answer_parser.hpp"

namespace {

namespace bhttp = boost::beast::http;

// Offers `text` to `parser` in two reads, split at `split`, taking each part as Beast's reads do.
// Returns false when the parser refused the bytes.
template <class Parser>
bool feed(Parser& parser, std::string_view text, std::size_t split) {
    std::string pending;
    for (const auto part : {text.substr(0, split), text.substr(split)}) {
        pending.append(part);
        while (!pending.empty() && !parser.is_done()) {
            boost::system::error_code ec;
            const auto used = parser.put(boost::asio::buffer(pending), ec);
            if (used > pending.size()) std::abort();
            pending.erase(0, used);
            if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) break;
            if (ec) return false;
            if (used == 0) break;
        }
    }
    return true;
}

template <class Head>
std::vector<std::string> fields_of(const Head& head) {
    std::vector<std::string> out;
    for (const auto& f : head) {
        out.push_back(std::string(f.name_string()) + ":" + std::string(f.value()) + ":" +
                      std::to_string(static_cast<int>(f.name())));
    }
    return out;
}

void requests(std::string_view text, std::size_t split) {
    nexus::http::RequestParser whole, pieces;
    whole.body_limit(1 << 16);
    pieces.body_limit(1 << 16);
    const bool ok_whole = feed(whole, text, text.size());
    const bool ok_pieces = feed(pieces, text, split);
    if (!ok_whole || !ok_pieces || !whole.is_header_done() || !pieces.is_header_done()) return;
    const auto& a = whole.get();
    const auto& b = pieces.get();
    if (a.method_string() != b.method_string() || a.target() != b.target() || a.version() != b.version() ||
        a.keep_alive() != b.keep_alive() || fields_of(a) != fields_of(b)) {
        std::abort();
    }
    if (whole.is_done() && pieces.is_done() && a.body() != b.body()) std::abort();
    for (const auto& f : a) {
        if (a[f.name_string()].data() == nullptr && !f.value().empty()) std::abort();
    }
}

void answers(std::string_view text, std::size_t split) {
    nexus::upstream::Head head_whole, head_pieces;
    nexus::upstream::AnswerParser whole(head_whole), pieces(head_pieces);
    std::string body_whole(1 << 16, '\0'), body_pieces(1 << 16, '\0');
    whole.destination(body_whole);
    pieces.destination(body_pieces);
    const bool ok_whole = feed(whole, text, text.size());
    const bool ok_pieces = feed(pieces, text, split);
    if (!ok_whole || !ok_pieces || !whole.is_header_done() || !pieces.is_header_done()) return;
    if (head_whole.result_int() != head_pieces.result_int() || fields_of(head_whole) != fields_of(head_pieces)) {
        std::abort();
    }
    const auto got_whole = body_whole.size() - whole.remaining();
    const auto got_pieces = body_pieces.size() - pieces.remaining();
    if (whole.is_done() && pieces.is_done() &&
        std::string_view(body_whole).substr(0, got_whole) != std::string_view(body_pieces).substr(0, got_pieces)) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::size_t split = text.empty() ? 0 : data[1] % (text.size() + 1);
    if (data[0] & 1) {
        answers(text, split);
    } else {
        requests(text, split);
    }
    return 0;
}
