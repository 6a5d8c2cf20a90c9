#include "support/mock_answers.hpp"

#include "core/crypto.hpp"

namespace nexus::testing::mock {

namespace http = boost::beast::http;
namespace json = boost::json;

Response answer(http::status status, std::string body, std::string content_type) {
    Response res{status, 11};
    res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

Response json_answer(const json::object& body) {
    auto res = answer(http::status::ok, json::serialize(body));
    res.set("x-siliconcloud-trace-id", "trace-abc");
    res.set("Set-Cookie", "upstream-session=secret");
    res.set("X-Internal-Node", "node-7");
    return res;
}

std::string chunk_json(const std::string& model, int i, int frames, bool text) {
    json::object usage{{"prompt_tokens", 5}, {"completion_tokens", i + 1}, {"total_tokens", 6 + i}};
    const auto piece = "tok" + std::to_string(i) + " ";
    json::object choice{{"index", 0}, {"finish_reason", i + 1 == frames ? json::value("stop") : json::value(nullptr)}};
    if (text) {
        choice["text"] = piece;
    } else {
        choice["delta"] = json::object{{"content", piece}};
    }
    json::object chunk{{"id", "0123456789abcdef0123456789abcdef"},
                       {"object", text ? "text_completion" : "chat.completion.chunk"},
                       {"created", 1700000000},
                       {"model", model},
                       {"system_fingerprint", ""},
                       {"choices", json::array{choice}},
                       {"usage", usage}};
    if (model == "mock-no-usage") chunk.erase("usage");  // an upstream that counts nothing
    return json::serialize(chunk);
}

Response chat_completion(const std::string& model) {
    return json_answer(
        {{"id", "0123456789abcdef0123456789abcdef"},
         {"object", "chat.completion"},
         {"created", 1700000000},
         {"model", model},
         {"system_fingerprint", ""},
         {"choices", json::array{json::object{{"index", 0},
                                              {"message", json::object{{"role", "assistant"}, {"content", "Hello from mock"}}},
                                              {"finish_reason", "stop"}}}},
         {"usage", model == "mock-no-usage" ? json::value(nullptr)
                                            : json::value(json::object{{"prompt_tokens", 5}, {"completion_tokens", 3},
                                                                       {"total_tokens", 8}})}});
}

Response model_list() {
    return json_answer({{"object", "list"},
                        {"data", json::array{json::object{{"id", "Qwen/Qwen2.5-7B-Instruct"}, {"object", "model"},
                                                          {"created", 0}, {"owned_by", ""}},
                                             json::object{{"id", "BAAI/bge-m3"}, {"object", "model"}, {"created", 0},
                                                          {"owned_by", ""}}}}});
}

std::optional<Response> other_endpoint(std::string_view target, const std::string& model, const Request& req,
                                       const json::value& doc) {
    if (target == "/v1/embeddings") {
        std::size_t n = 1;
        if (const auto* in = doc.is_object() ? doc.as_object().if_contains("input") : nullptr; in && in->is_array()) {
            n = in->as_array().size();
        }
        // OpenAI's encoding_format "base64": the float32 values, little-endian, in base64.
        bool base64 = false;
        if (const auto* f = doc.is_object() ? doc.as_object().if_contains("encoding_format") : nullptr;
            f && f->is_string()) {
            base64 = f->as_string() == "base64";
        }
        static constexpr float kVector[] = {0.25f, -0.5f, 0.125f};
        json::array data;
        for (std::size_t i = 0; i < n; ++i) {
            json::value embedding = json::array{kVector[0], kVector[1], kVector[2]};
            if (base64) embedding = core::to_base64({reinterpret_cast<const char*>(kVector), sizeof(kVector)});
            data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
        }
        return json_answer({{"object", "list"}, {"model", model}, {"data", std::move(data)},
                            {"usage", json::object{{"prompt_tokens", 4}, {"completion_tokens", 0}, {"total_tokens", 4}}}});
    }
    if (target == "/v1/completions") {
        return json_answer(
            {{"id", "0123456789abcdef0123456789abcdef"}, {"object", "text_completion"}, {"created", 1700000000},
             {"model", model},
             {"choices", json::array{json::object{{"index", 0}, {"text", "Hello from mock"}, {"finish_reason", "stop"}}}},
             {"usage", json::object{{"prompt_tokens", 2}, {"completion_tokens", 3}, {"total_tokens", 5}}}});
    }
    if (target == "/v1/rerank") {
        return json_answer({{"id", "rerank-1"},
                            {"results", json::array{json::object{{"index", 0}, {"relevance_score", 0.9},
                                                                 {"document", json::object{{"text", "a"}}}}}},
                            {"tokens", json::object{{"input_tokens", 11}, {"output_tokens", 0}}}});
    }
    if (target == "/v1/images/generations") {
        json::array images{json::object{{"url", "https://example.invalid/mock.png"}}};
        return json_answer({{"images", images}, {"data", images}, {"timings", json::object{{"inference", 0.5}}},
                            {"seed", 42}, {"created", 1700000000}});
    }
    if (target == "/v1/audio/transcriptions" || target == "/v1/audio/translations") {
        const auto type = req[http::field::content_type];
        if (type.find("multipart/form-data") == std::string_view::npos ||
            req.body().find("name=\"file\"") == std::string::npos) {
            return answer(http::status::bad_request, R"({"code":20015,"message":"file is required","data":null})");
        }
        // Echo the model field's value so tests see what nexus sent.
        const auto at = req.body().find("name=\"model\"\r\n\r\n");
        std::string sent_model;
        if (at != std::string::npos) {
            const auto begin = at + 16;
            sent_model = req.body().substr(begin, req.body().find("\r\n", begin) - begin);
        }
        return json_answer({{"text", "transcribed by " + sent_model}});
    }
    return std::nullopt;
}

std::optional<Response> error_scenario(const std::string& model, const std::string& key) {
    if (model == "mock-unknown-model") {
        return answer(http::status::bad_request,
                      R"({"code":20012,"message":"Model does not exist. Please check it carefully.","data":null})");
    }
    if (model == "mock-rate-limit") {
        auto res = answer(http::status::too_many_requests,
                          R"({"message":"Request was rejected due to rate limiting. Details: TPM limit reached.","data":null})");
        res.set("Retry-After", "7");
        res.set("x-ratelimit-remaining-requests", "0");
        res.set("Set-Cookie", "upstream-session=secret");
        return res;
    }
    if (model == "mock-balance") {
        return answer(http::status::forbidden, R"({"code":30001,"message":"Sorry, your account balance is insufficient"})");
    }
    if (model == "mock-request-401") {
        return answer(http::status::unauthorized,
                      R"({"error":{"message":"You must be a member of an organization to use the API.",)"
                      R"("type":"invalid_request_error","param":null,"code":"no_organization"}})");
    }
    if (model == "mock-overloaded") {
        return answer(http::status::service_unavailable,
                      R"({"code":50505,"message":"Model service overloaded. Please try again later.","data":null})");
    }
    if (model == "mock-plain-404") return answer(http::status::not_found, "404 page not found", "text/plain; charset=utf-8");
    if (model == "mock-echo-key") {
        return answer(http::status::internal_server_error, "{\"message\":\"bad key " + key + " in request\"}");
    }
    return std::nullopt;
}

}  // namespace nexus::testing::mock
