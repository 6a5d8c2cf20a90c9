#include "admission/admission.hpp"

#include <algorithm>

#include "core/wire.hpp"

namespace nexus::admission {

using core::Error;
using snapshot::TokenCounters;

namespace {

// "59s", "1m1s": how OpenAI writes a reset time.
std::string duration_text(std::chrono::seconds s) {
    const auto n = s.count();
    if (n < 60) return std::to_string(n) + "s";
    return std::to_string(n / 60) + "m" + std::to_string(n % 60) + "s";
}

Error rate_limited(std::string message, std::string type, std::chrono::seconds retry_after) {
    Error e = Error::too_many_requests(std::move(message), "rate_limit_exceeded", static_cast<int>(retry_after.count()));
    e.type = std::move(type);
    if (retry_after.count() <= 0) e.headers.clear();  // waiting would not help
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
        case TokenCounters::Refusal::kQuota: {
            Error e = Error::too_many_requests(
                "You exceeded your current quota: this call to '" + *ask.model + "' may cost up to " +
                    std::to_string(want.quota) + " units, more than this API key has left.",
                "insufficient_quota", 0);
            e.type = "insufficient_quota";
            e.headers.clear();
            return e;
        }
        case TokenCounters::Refusal::kNone:
            break;
    }
    return Error::internal("admission refused a call without a reason");
}

}  // namespace

Headers rate_limit_headers(const TokenCounters::Limits& limits, const TokenCounters::Admission& state) {
    Headers out;
    if (limits.rpm > 0) {
        out.emplace_back("x-ratelimit-limit-requests", std::to_string(limits.rpm));
        out.emplace_back("x-ratelimit-remaining-requests", std::to_string(state.requests_remaining));
        out.emplace_back("x-ratelimit-reset-requests", duration_text(state.requests_reset));
    }
    if (limits.tpm > 0) {
        out.emplace_back("x-ratelimit-limit-tokens", std::to_string(limits.tpm));
        out.emplace_back("x-ratelimit-remaining-tokens", std::to_string(state.tokens_remaining));
        out.emplace_back("x-ratelimit-reset-tokens", duration_text(state.tokens_reset));
    }
    return out;
}

core::Result<Reservation> LocalAdmission::decide(const Ask& ask) const {
    const auto& token = *ask.token;
    const auto& model = *ask.model;
    if (!token.allows(model)) {
        return Error::forbidden("This API key may not use model '" + model + "'.", "model_not_allowed");
    }
    const core::Price* price = ask.price ? ask.price : (config_.default_price ? &*config_.default_price : nullptr);
    if (price == nullptr && token.limits.limited_quota) {
        return Error::forbidden("Model '" + model + "' has no price, so an API key with a limited quota cannot call it.",
                                "model_price_not_set");
    }
    Reservation r;
    r.counters = token.counters.get();
    r.limits = token.limits;
    r.price = price ? *price : core::Price{};
    // Bounded as costs are (a max_tokens of 2^63 − 1 must not overflow the sum).
    const auto prompt = std::clamp<std::int64_t>(ask.prompt_bound, 0, core::kMaxCostedTokens);
    const auto output = std::clamp<std::int64_t>(ask.output_bound, 0, core::kMaxCostedTokens);
    r.want.tokens = prompt + output;
    r.want.quota = core::cost(r.price, prompt, 0, output);
    const auto state = r.counters->admit(r.limits, r.want, TokenCounters::Clock::now());
    if (state.refusal != TokenCounters::Refusal::kNone) {
        Error e = refusal_error(ask, r.limits, r.want, state);
        for (auto& h : rate_limit_headers(r.limits, state)) e.headers.push_back(std::move(h));
        return e;
    }
    r.second = state.second;
    for (const auto& [name, value] : rate_limit_headers(r.limits, state)) core::append_field(r.rate_fields, name, value);
    return r;
}

std::string LocalAdmission::rate_fields(const snapshot::TokenView& token) const {
    std::string out;
    if (token.limits.rpm == 0 && token.limits.tpm == 0) return out;
    const auto state = token.counters->peek(token.limits, TokenCounters::Clock::now());
    for (const auto& [name, value] : rate_limit_headers(token.limits, state)) core::append_field(out, name, value);
    return out;
}

net::awaitable<core::Result<Reservation>> LocalAdmission::reserve(const Ask& ask) { co_return decide(ask); }

std::int64_t LocalAdmission::settle(const Reservation& r, const Spent& spent) {
    const auto quota =
        spent.billed ? core::cost(r.price, spent.prompt_tokens, spent.cached_tokens, spent.completion_tokens) : 0;
    const auto tokens = spent.total_tokens > 0 ? spent.total_tokens : spent.prompt_tokens + spent.completion_tokens;
    return r.counters->settle(r.limits, r.want, r.second, quota, tokens);
}

}  // namespace nexus::admission
