#include "core/url.hpp"

#include <boost/url/parse.hpp>

namespace nexus::core {

bool is_http_base_url(std::string_view text) {
    const auto url = boost::urls::parse_absolute_uri(text);
    if (!url) return false;
    if (url->scheme() != "http" && url->scheme() != "https") return false;
    if (url->encoded_host().empty() || url->has_query() || url->has_fragment() || url->has_userinfo()) return false;
    if (url->has_port()) {
        const auto port = url->port_number();
        if (port == 0) return false;
    }
    return true;
}

}  // namespace nexus::core
