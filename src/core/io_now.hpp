#pragma once
/// I/O that finishes without waiting, tried before the asynchronous operation that would wait.
///
/// An asynchronous operation that could complete at once (the bytes are already in the read
/// buffer; the socket takes the whole write) still goes through the io_context: its completion is
/// posted, the reactor polls the kernel once more (an epoll_wait that finds nothing), and its
/// deadline timer is armed and cancelled. A relayed call had five of those. Each helper here does
/// the part that needs no waiting and says whether the caller still has to wait for the rest.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "core/asio.hpp"

namespace nexus::core {

enum class Parsed {
    kDone,      ///< the parser reached what was asked from the buffer alone
    kNeedMore,  ///< it took what the buffer had and needs bytes from the socket
    kFailed,    ///< the bytes are not HTTP (or exceed a limit): `ec` says why
};

/// Feeds `parser` what `buffer` holds, consuming it, until `done(parser)` holds, the buffer runs
/// dry or the parser fails: what beast::http::async_read (or async_read_header) would do with
/// these bytes before it touched the socket. `need_buffer` (a buffer_body that is full) counts as
/// done: the caller has its bytes.
template <bool isRequest, class Done>
Parsed parse_buffered(beast::http::basic_parser<isRequest>& parser, beast::flat_buffer& buffer, Done done,
                      error_code& ec) {
    ec = {};
    while (!done(parser)) {
        if (buffer.size() == 0) return Parsed::kNeedMore;
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == beast::http::error::need_more) {
            ec = {};
            return Parsed::kNeedMore;
        }
        if (ec == beast::http::error::need_buffer) {
            ec = {};
            return Parsed::kDone;
        }
        if (ec) return Parsed::kFailed;
    }
    return Parsed::kDone;
}

/// Writes what `socket` takes now without waiting (the socket must be in non-blocking mode) and
/// returns how much it took; on a real failure `ec` is set. Whatever is left needs an
/// asynchronous write of `rest_of(buffers, written)`.
template <class Buffers>
std::size_t write_now(net::ip::tcp::socket& socket, const Buffers& buffers, error_code& ec) {
    ec = {};
    if (!socket.non_blocking()) return 0;  // a blocking socket would wait here: leave it all to the caller
    const auto written = socket.write_some(buffers, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) ec = {};
    return ec ? 0 : written;
}

/// Reads what `socket` holds now, up to `most` bytes, into `buffer` without waiting (the socket
/// must be in non-blocking mode) and returns how much came; 0 when nothing was there. A closed
/// or failed connection sets `ec` (end of file included), as the asynchronous read would.
inline std::size_t read_now(net::ip::tcp::socket& socket, beast::flat_buffer& buffer, std::size_t most,
                            error_code& ec) {
    ec = {};
    if (!socket.non_blocking()) return 0;
    const auto n = socket.read_some(buffer.prepare(most), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
        ec = {};
        return 0;
    }
    if (ec) return 0;
    buffer.commit(n);
    return n;
}

template <class Buffers>
beast::buffers_suffix<Buffers> rest_of(const Buffers& buffers, std::size_t written) {
    beast::buffers_suffix<Buffers> rest(buffers);
    rest.consume(written);
    return rest;
}

}  // namespace nexus::core
