#include "admission/admission.hpp"

#include <algorithm>
#include <charconv>


namespace nexus::admission {

using core::Error;
using snapshot::TokenCounters;

namespace {

// `n` in decimal.
void append_number(std::string& out, std::int64_t n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), n);
    out.append(digits, end);
}

// "59s", "1m1s": how OpenAI writes a reset time.
void append_duration(std::string& out, std::chrono::seconds s) {
    const auto n = s.count();
    if (n >= 60) {
        append_number(out, n / 60);
        out += 'm';
    }
    append_number(out, n % 60);
    out += 's';
}

// The three x-ratelimit-* fields of one window ("requests" or "tokens"), as OpenAI names them.
void append_window(std::string& out, std::string_view window, std::int64_t limit, std::int64_t remaining,
                   std::chrono::seconds reset) {
    out.append("x-ratelimit-limit-").append(window).append(": ");
    append_number(out, limit);
    out.append("\r\nx-ratelimit-remaining-").append(window).append(": ");
    append_number(out, remaining);
    out.append("\r\nx-ratelimit-reset-").append(window).append(": ");
    append_duration(out, reset);
    out.append("\r\n");
}

Error rate_limited(std::string message, std::string type, std::chrono::seconds retry_after) {
    Error e = Error::too_many_requests(std::move(message), "rate_limit_exceeded", static_cast<int>(retry_after.count()));
    e.type = std::move(type);
    if (retry_after.count() <= 0) e.headers.clear();  // waiting would not help
    return e;
}

// OpenAI's answer to a call that does not fit in what `who` has left: no Retry-After, since
// waiting does not bring quota back.
Error quota_exceeded(const std::string& model, std::int64_t cost, std::string_view who) {
    std::string message = "You exceeded your current quota: this call to '";
    message.append(model).append("' may cost up to ").append(std::to_string(cost)).append(" units, more than ");
    message.append(who).append(" left.");
    Error e = Error::too_many_requests(std::move(message), "insufficient_quota", 0);
    e.type = "insufficient_quota";
    e.headers.clear();
    return e;
}

Error refusal_error(const Ask& ask, const TokenCounters::Limits& limits, const TokenCounters::Want& want,
                    const TokenCounters::Admission& a) {
    const auto in = " Try again in " + std::to_string(a.retry_after.count()) + " s.";
    switch (a.refusal) {
        case TokenCounters::Refusal::kConcurrency:
            return rate_limited("Concurrency limit reached: this API key allows " +
                                    std::to_string(limits.max_concurrency) + " call(s) at once." + in,
                                "requests", a.retry_after);
        case TokenCounters::Refusal::kRequests:
            return rate_limited("Rate limit reached for requests: this API key allows " + std::to_string(limits.rpm) +
                                    " per minute." + in,
                                "requests", a.retry_after);
        case TokenCounters::Refusal::kTokens:
            return rate_limited("Rate limit reached for tokens: this API key allows " + std::to_string(limits.tpm) +
                                    " per minute and this call may use up to " + std::to_string(want.tokens) + "." + in,
                                "tokens", a.retry_after);
        case TokenCounters::Refusal::kTokensNeverFit:
            return rate_limited("This call may use up to " + std::to_string(want.tokens) +
                                    " tokens (its prompt and max_tokens), more than this API key's " +
                                    std::to_string(limits.tpm) + " tokens per minute. Lower max_tokens or the prompt.",
                                "tokens", std::chrono::seconds(0));
        case TokenCounters::Refusal::kQuota:
            return quota_exceeded(*ask.model, want.quota, "this API key has");
        case TokenCounters::Refusal::kNone:
            break;
    }
    return Error::internal("admission refused a call without a reason");
}

}  // namespace

void append_rate_limit_fields(std::string& out, const TokenCounters::Limits& limits,
                              const TokenCounters::Admission& state) {
    // Formatted in place, without a string per header: this runs on every call of such a token.
    if (limits.rpm > 0) append_window(out, "requests", limits.rpm, state.requests_remaining, state.requests_reset);
    if (limits.tpm > 0) append_window(out, "tokens", limits.tpm, state.tokens_remaining, state.tokens_reset);
}

core::Error quota_refusal(const Ask& ask, std::int64_t cost, bool owner) {
    return quota_exceeded(*ask.model, cost, owner ? "this API key's owner has" : "this API key has");
}

core::Error refusal(const Ask& ask, const TokenCounters::Limits& limits, const TokenCounters::Want& want,
                    const TokenCounters::Admission& state) {
    Error e = refusal_error(ask, limits, want, state);
    // A refusal is rare: its fields go as the error's headers, one pair each.
    std::string fields;
    append_rate_limit_fields(fields, limits, state);
    for (std::size_t at = 0; at < fields.size();) {
        const auto colon = fields.find(": ", at);
        const auto eol = fields.find("\r\n", colon);
        e.headers.emplace_back(fields.substr(at, colon - at), fields.substr(colon + 2, eol - colon - 2));
        at = eol + 2;
    }
    return e;
}

core::Result<Reservation> LocalAdmission::decide(const Ask& ask, std::int64_t share) const {
    const auto& token = *ask.token;
    const auto& model = *ask.model;
    if (!token.allows(model)) {
        return Error::forbidden("This API key may not use model '" + model + "'.", "model_not_allowed");
    }
    const core::Price* price = ask.price ? ask.price : (config_.default_price ? &*config_.default_price : nullptr);
    const bool owner_limited = token.owner != nullptr && token.owner->limited_quota;
    if (price == nullptr && (token.limits.limited_quota || owner_limited)) {
        return Error::forbidden("Model '" + model + "' has no price, so an API key with a limited quota cannot call it.",
                                "model_price_not_set");
    }
    Reservation r;
    r.token_id = token.id;
    r.counters = token.counters.get();
    r.limits = token.limits;
    if (share > 1) {
        for (auto* limit : {&r.limits.rpm, &r.limits.tpm, &r.limits.max_concurrency}) {
            if (*limit > 0) *limit = std::max<std::int64_t>(1, *limit / share);
        }
    }
    r.price = price ? *price : core::Price{};
    // Bounded as costs are (a max_tokens of 2^63 − 1 must not overflow the sum).
    const auto prompt = std::clamp<std::int64_t>(ask.prompt_bound, 0, core::kMaxCostedTokens);
    const auto output = std::clamp<std::int64_t>(ask.output_bound, 0, core::kMaxCostedTokens);
    r.want.tokens = prompt + output;
    r.want.quota = core::cost(r.price, prompt, 0, output);
    // The owner's quota first: it is only a sum to hold, and easy to give back when the token's
    // own limits refuse the call after.
    if (token.owner != nullptr) {
        r.owner = token.owner->quota.get();
        r.owner_want = owner_limited ? r.want.quota : 0;
        if (owner_limited && !r.owner->reserve(r.owner_want)) {
            return quota_exceeded(model, r.want.quota, "this API key's owner has");
        }
    }
    const auto state = r.counters->admit(r.limits, r.want, TokenCounters::Clock::now());
    if (state.refusal != TokenCounters::Refusal::kNone) {
        if (r.owner != nullptr) r.owner->release(r.owner_want);
        return refusal(ask, r.limits, r.want, state);
    }
    r.second = state.second;
    r.state = state;
    r.rate_fields.reserve(256);
    append_rate_limit_fields(r.rate_fields, r.limits, state);
    return r;
}

std::string LocalAdmission::rate_fields(const snapshot::TokenView& token) const {
    std::string out;
    if (token.limits.rpm == 0 && token.limits.tpm == 0) return out;
    out.reserve(256);
    append_rate_limit_fields(out, token.limits, token.counters->peek(token.limits, TokenCounters::Clock::now()));
    return out;
}

net::awaitable<core::Result<Reservation>> LocalAdmission::reserve(const Ask& ask) { co_return decide(ask); }

std::int64_t LocalAdmission::settle(const Reservation& r, const Spent& spent) {
    const auto quota =
        spent.billed ? core::cost(r.price, spent.prompt_tokens, spent.cached_tokens, spent.completion_tokens) : 0;
    const auto tokens = spent.total_tokens > 0 ? spent.total_tokens : spent.prompt_tokens + spent.completion_tokens;
    // Nothing held from the owner and nothing to bill him: his lock is not taken.
    if (r.owner == nullptr || (r.owner_want == 0 && quota <= 0)) {
        return r.counters->settle(r.limits, r.want, r.second, quota, tokens);
    }
    // The owner pays what he can, the token what it can of that; whatever the token could not
    // pay goes back to the owner, so both are billed the same amount.
    const auto owner_took = r.owner->settle(r.owner_want, quota);
    const auto taken = r.counters->settle(r.limits, r.want, r.second, owner_took, tokens);
    if (taken < owner_took) r.owner->refund(owner_took - taken);
    return taken;
}

}  // namespace nexus::admission
