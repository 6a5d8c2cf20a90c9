#pragma once
#include <boost/beast/http/fields.hpp>

#include <string>
#include <span>
#include <string_view>

#include "http/request.hpp"
#include "snapshot/snapshot.hpp"
#include "upstream/answer_parser.hpp"

namespace nexus::relay {

/// Which headers cross the relay, in one place.
///
/// Upstream, by an allow-list: of the client's headers only those that describe the body it
/// sends and the answer it takes (Content-Type, Accept) go on. Anything else (OpenAI-Organization,
/// OpenAI-Project, cookies, credentials, tracing, the SDKs' X-Stainless-*) stays here: a
/// header that names an account or a project could make the upstream refuse the channel's key
/// for one client's request. The relay adds its own: Authorization (the channel's key),
/// X-Request-Id, User-Agent, Host, Content-Length.
///
/// Back to the client, also by an allow-list: the headers an OpenAI client uses (Retry-After,
/// Retry-After-Ms, X-RateLimit-*, OpenAI-Processing-Ms, OpenAI-Model, and SiliconFlow's trace
/// id); never cookies, servers' internal headers or hop-by-hop headers.

/// Whether the client's request header of the known name `name` goes upstream (every name on
/// that list is one Beast knows; a name it does not know never goes).
bool forwarded_to_upstream(boost::beast::http::field name);
/// Whether the upstream's response header `name` goes to the client. `rate_limits` false: the
/// upstream's X-RateLimit-* stay behind (the call's token has limits of its own, which its
/// answer states instead).
bool forwarded_to_client(std::string_view name, bool rate_limits = true);

/// The head fields of a request to `channel`: the client's forwarded ones (`client`, when there
/// is a client), then ours: Content-Type when the client gave none, the channel's key in its
/// provider's header, and for an Anthropic channel `anthropic-version` (the client's, else
/// 2023-06-01) and the client's `anthropic-beta`; X-Request-Id, User-Agent.
std::string upstream_request_fields(const snapshot::ChannelView& channel, std::string_view request_id,
                                    const http::Request* client);

/// The client's request headers that go upstream, as text ("Name: value\r\n" each).
void append_forwarded_request_fields(std::string& out, const http::Request& client);
/// The upstream's response headers that go to the client, as text (`rate_limits` as above).
void append_forwarded_response_fields(std::string& out, const upstream::Head& upstream, bool rate_limits = true);

}  // namespace nexus::relay
