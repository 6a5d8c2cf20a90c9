// The rest of the /v1 surface, end to end: completions, embeddings, rerank, images, audio, the
// model list, and the include_usage ending of streams. The real nexus-api binary against the
// mock SiliconFlow upstream.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class Api : public ::testing::Test {
protected:
    void SetUp() override {
        nexus_ = std::make_unique<NexusProcess>(Env{{"NEXUS_DATA_DIR", data_.file("data")}, {"NEXUS_THREADS", "2"}});
        ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
        add_token(port());
    }
    std::uint16_t port() const { return nexus_->port(); }
    std::int64_t add_mock_channel(const std::string& extra = "") {
        return add_channel(port(), R"({"type":"SiliconFlow","name":"sf","key":")" + mock_.good_key() +
                                       R"(","base_url":")" + mock_.base_url() + "\"" + extra + "}");
    }
    // Usage records, polled until `count` are there (they are written in batches each second).
    json::array usage_records(std::size_t count) {
        json::array data;
        for (int i = 0; i < 100; ++i) {
            data = json::parse(admin_call(port(), "GET", "/api/log").body).at("data").as_array();
            if (data.size() >= count) break;
            std::this_thread::sleep_for(50ms);
        }
        return data;
    }

    TempDir data_;
    MockUpstream mock_{MockUpstream::Options{}};
    std::unique_ptr<NexusProcess> nexus_;
};

std::vector<json::object> chunks_of(const StreamResult& res) {
    std::vector<json::object> out;
    for (const auto& e : res.events) {
        if (e.data != "[DONE]") out.push_back(json::parse(e.data).as_object());
    }
    return out;
}

TEST_F(Api, EveryEndpointIsRelayedWithItsUsage) {
    add_mock_channel();
    struct Case {
        const char* path;
        std::string body;
        std::int64_t total_tokens;
    };
    const Case cases[] = {
        {"/v1/embeddings", R"({"model":"BAAI/bge-m3","input":["a","b"]})", 4},
        {"/v1/completions", R"({"model":"m","prompt":"Once"})", 5},
        {"/v1/rerank", R"({"model":"BAAI/bge-reranker-v2-m3","query":"q","documents":["a"]})", 11},
        {"/v1/images/generations", R"({"model":"Kwai-Kolors/Kolors","prompt":"a cat"})", 0},
    };
    for (const auto& c : cases) {
        const auto res = api_call(port(), "POST", c.path, c.body, {{"Cookie", "a=b"}});
        ASSERT_EQ(res.status, 200) << c.path << ": " << res.body;
        EXPECT_EQ(res.header("set-cookie"), "") << c.path;
        EXPECT_EQ(res.header("x-internal-node"), "") << c.path;
        EXPECT_EQ(res.header("x-siliconcloud-trace-id"), "trace-abc") << c.path;
        EXPECT_EQ(res.header("x-request-id").size(), 32u) << c.path;
        const auto seen = mock_.requests().back();
        EXPECT_EQ(seen.target, c.path);
        EXPECT_EQ(seen.body, c.body) << "the client's bytes go upstream unchanged";
        EXPECT_EQ(seen.headers.at("authorization"), "Bearer " + mock_.good_key());
        EXPECT_FALSE(seen.headers.contains("cookie"));
    }
    EXPECT_EQ(json::parse(api_call(port(), "POST", "/v1/embeddings", cases[0].body).body).at("data").as_array().size(),
              2u);

    const auto logs = usage_records(std::size(cases) + 1);
    ASSERT_EQ(logs.size(), std::size(cases) + 1);
    std::map<std::string, std::int64_t> totals;
    for (const auto& l : logs) totals[std::string(l.at("model").as_string())] = l.at("total_tokens").as_int64();
    EXPECT_EQ(totals["BAAI/bge-m3"], 4);
    EXPECT_EQ(totals["m"], 5);
    EXPECT_EQ(totals["BAAI/bge-reranker-v2-m3"], 11) << "rerank's tokens.input_tokens count";
    EXPECT_EQ(totals["Kwai-Kolors/Kolors"], 0);
}

TEST_F(Api, EveryEndpointNeedsAToken) {
    add_mock_channel();
    for (const auto& path : {"/v1/embeddings", "/v1/completions", "/v1/rerank", "/v1/images/generations",
                             "/v1/audio/speech", "/v1/audio/transcriptions", "/v1/models", "/v1/models/m"}) {
        const std::string method = std::string_view(path).starts_with("/v1/models") ? "GET" : "POST";
        auto res = http_request(port(), method, path, "{}");
        EXPECT_EQ(res.status, 401) << path;
        EXPECT_EQ(error_of(res.body).at("code"), "missing_api_key") << path;
        res = http_request(port(), method, path, "{}", {{"Authorization", "Bearer sk-not-a-token"}});
        EXPECT_EQ(res.status, 401) << path;
    }
    EXPECT_TRUE(mock_.requests().empty());
}

TEST_F(Api, BadBodiesAre400NamingTheField) {
    add_mock_channel();
    struct Case {
        const char* path;
        const char* body;
        const char* param;
    };
    for (const auto& c : {Case{"/v1/embeddings", R"({"model":"m"})", "input"},
                          Case{"/v1/embeddings", R"({"model":"m","input":"x","stream":true})", "stream"},
                          Case{"/v1/rerank", R"({"model":"m","query":"q","documents":"a"})", "documents"},
                          Case{"/v1/images/generations", R"({"prompt":"p"})", "model"},
                          Case{"/v1/completions", "not json", ""}}) {
        const auto res = api_call(port(), "POST", c.path, c.body);
        EXPECT_EQ(res.status, 400) << c.path << " " << c.body;
        const auto e = error_of(res.body);
        if (*c.param) {
            EXPECT_EQ(e.at("param"), c.param) << c.path;
        }
    }
    EXPECT_TRUE(mock_.requests().empty());
}

TEST_F(Api, UpstreamErrorsOfOtherEndpointsAreTranslated) {
    add_mock_channel();
    const auto res = api_call(port(), "POST", "/v1/embeddings", R"({"model":"mock-unknown-model","input":"x"})");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(message_of(res.body), "Model does not exist. Please check it carefully.");
    const auto limited = api_call(port(), "POST", "/v1/rerank", R"({"model":"mock-rate-limit","query":"q","documents":["a"]})");
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(limited.header("retry-after"), "7");
    EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "0");
    EXPECT_EQ(limited.header("set-cookie"), "");
}

// --- include_usage ---------------------------------------------------------------------------------

constexpr const char* kUsageBody =
    R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],)"
    R"("mock_frames":4})";

TEST_F(Api, IncludeUsageGetsAFinalUsageChunkBeforeDone) {
    add_mock_channel();
    const auto res = stream_chat(port(), kUsageBody);
    ASSERT_EQ(res.status, 200) << res.error;
    ASSERT_TRUE(res.complete) << res.error;
    ASSERT_EQ(res.events.size(), 6u) << res.raw;  // 4 frames, the usage chunk, [DONE]
    EXPECT_EQ(res.events.back().data, "[DONE]");
    const auto chunks = chunks_of(res);
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(chunks[i].at("choices").as_array().size(), 1u) << "the upstream's frames pass as they came";
        EXPECT_EQ(chunks[i].at("usage").at("completion_tokens"), static_cast<std::int64_t>(i + 1));
    }
    const auto& last = chunks[4];
    EXPECT_TRUE(last.at("choices").as_array().empty());
    EXPECT_EQ(last.at("usage").at("prompt_tokens"), 5);
    EXPECT_EQ(last.at("usage").at("completion_tokens"), 4);
    EXPECT_EQ(last.at("usage").at("total_tokens"), 9);
    EXPECT_EQ(last.at("id"), chunks[0].at("id"));
    EXPECT_EQ(last.at("created"), chunks[0].at("created"));
    EXPECT_EQ(last.at("model"), "m");
    EXPECT_EQ(last.at("object"), "chat.completion.chunk");

    const auto logs = usage_records(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].at("completion_tokens"), 4) << "the record uses the same figures";
    EXPECT_EQ(logs[0].at("total_tokens"), 9);
}

TEST_F(Api, WithoutIncludeUsageTheStreamIsUntouched) {
    add_mock_channel();
    const auto res = stream_chat(port(), chat_body("m", true, 3));
    ASSERT_TRUE(res.complete) << res.error;
    ASSERT_EQ(res.events.size(), 4u);
    for (const auto& c : chunks_of(res)) EXPECT_EQ(c.at("choices").as_array().size(), 1u);
}

TEST_F(Api, AnUpstreamUsageChunkIsNotDoubled) {
    add_mock_channel();
    const std::string body = R"({"model":"mock-usage-chunk","stream":true,"stream_options":{"include_usage":true},)"
                             R"("messages":[{"role":"user","content":"hi"}],"mock_frames":2})";
    const auto res = stream_chat(port(), body);
    ASSERT_TRUE(res.complete) << res.error;
    const auto chunks = chunks_of(res);
    ASSERT_EQ(chunks.size(), 3u) << res.raw;
    EXPECT_EQ(chunks[2].at("usage").at("completion_tokens"), 9) << "the upstream's own usage chunk";
    EXPECT_EQ(usage_records(1).at(0).at("completion_tokens"), 9);
}

TEST_F(Api, AStreamEndingWithoutDoneStillGetsItsUsageChunkLast) {
    add_mock_channel();
    const std::string body = R"({"model":"mock-no-done","stream":true,"stream_options":{"include_usage":true},)"
                             R"("messages":[{"role":"user","content":"hi"}],"mock_frames":2})";
    const auto res = stream_chat(port(), body);
    ASSERT_TRUE(res.complete) << res.error;
    ASSERT_EQ(res.events.size(), 3u) << res.raw;
    const auto last = json::parse(res.events[2].data).as_object();
    EXPECT_TRUE(last.at("choices").as_array().empty());
    EXPECT_EQ(last.at("usage").at("completion_tokens"), 2);
}

TEST_F(Api, CompletionsStreamGetsATextCompletionUsageChunk) {
    add_mock_channel();
    const auto res = stream_post(port(), "/v1/completions",
                                 R"({"model":"m","prompt":"Once","stream":true,"stream_options":{"include_usage":true},"mock_frames":2})");
    ASSERT_TRUE(res.complete) << res.error;
    const auto chunks = chunks_of(res);
    ASSERT_EQ(chunks.size(), 3u) << res.raw;
    EXPECT_EQ(chunks[0].at("choices").at(0).at("text"), "tok0 ");
    EXPECT_TRUE(chunks[2].at("choices").as_array().empty());
    EXPECT_EQ(chunks[2].at("object"), "text_completion");
}

TEST_F(Api, ABrokenStreamGetsNoUsageChunkButAnError) {
    add_mock_channel();
    const std::string body = R"({"model":"mock-die-mid-stream","stream":true,"stream_options":{"include_usage":true},)"
                             R"("messages":[{"role":"user","content":"hi"}]})";
    const auto res = stream_chat(port(), body);
    ASSERT_EQ(res.events.size(), 3u) << res.raw;
    EXPECT_TRUE(json::parse(res.events[2].data).as_object().contains("error"));
    for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(json::parse(res.events[i].data).at("choices").as_array().size(), 1u);
}

// --- audio -------------------------------------------------------------------------------------------

std::string audio_form(const std::string& model) {
    std::string body;
    body += "--nexusBoundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n";
    body += "Content-Type: audio/mpeg\r\n\r\n";
    body += std::string("ID3\0\x01\xff--nexus", 13);
    body += "\r\n--nexusBoundary\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model;
    body += "\r\n--nexusBoundary--\r\n";
    return body;
}

TEST_F(Api, TranscriptionFormIsRelayedAndItsModelMapped) {
    add_mock_channel(R"(,"models":["whisper-1"],"model_mapping":{"whisper-1":"FunAudioLLM/SenseVoiceSmall"})");
    const Headers form{{"Content-Type", "multipart/form-data; boundary=nexusBoundary"}};
    const auto res = api_call(port(), "POST", "/v1/audio/transcriptions", audio_form("whisper-1"), form);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(json::parse(res.body).at("text"), "transcribed by FunAudioLLM/SenseVoiceSmall");
    const auto seen = mock_.requests().back();
    EXPECT_EQ(seen.body, audio_form("FunAudioLLM/SenseVoiceSmall")) << "only the model field's value changes";
    EXPECT_EQ(seen.headers.at("content-type"), "multipart/form-data; boundary=nexusBoundary");

    const auto unknown = api_call(port(), "POST", "/v1/audio/transcriptions", audio_form("other-model"), form);
    EXPECT_EQ(unknown.status, 500) << "no channel serves it";
    const auto bad = api_call(port(), "POST", "/v1/audio/transcriptions", audio_form("whisper-1"),
                              {{"Content-Type", "application/json"}});
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(error_of(bad.body).at("code"), "invalid_content_type");
}

TEST_F(Api, SpeechBytesAreStreamedThroughUnchanged) {
    add_mock_channel();
    const auto res = api_call(port(), "POST", "/v1/audio/speech", R"({"model":"tts","input":"hello","voice":"alex","mock_frames":50})");
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(res.header("content-type"), "audio/mpeg");
    ASSERT_EQ(res.body.size(), 50000u);
    bool exact = true;
    for (std::size_t i = 0; i < res.body.size(); ++i) {
        exact = exact && static_cast<unsigned char>(res.body[i]) == i % 251;
    }
    EXPECT_TRUE(exact) << "every audio byte arrives as the upstream sent it";
}

// --- models ------------------------------------------------------------------------------------------

TEST_F(Api, ModelsListsDeclaredMappedAndFetchedModels) {
    add_channel(port(), R"({"type":"SiliconFlow","name":"declared","key":"sk-x","base_url":"http://127.0.0.1:9",)"
                        R"("models":["Qwen/QwQ-32B"],"model_mapping":{"gpt-4o":"Qwen/QwQ-32B"}})");
    add_mock_channel(R"(,"model_mapping":{"my-alias":"BAAI/bge-m3"})");  // no models list: fetched upstream
    const auto res = api_call(port(), "GET", "/v1/models");
    ASSERT_EQ(res.status, 200) << res.body;
    const auto doc = json::parse(res.body);
    EXPECT_EQ(doc.at("object"), "list");
    std::vector<std::string> ids;
    for (const auto& m : doc.at("data").as_array()) {
        ids.emplace_back(m.at("id").as_string());
        EXPECT_EQ(m.at("object"), "model");
        EXPECT_TRUE(m.at("created").is_int64());
        EXPECT_FALSE(m.at("owned_by").as_string().empty());
    }
    EXPECT_EQ(ids, (std::vector<std::string>{"BAAI/bge-m3", "Qwen/QwQ-32B", "Qwen/Qwen2.5-7B-Instruct", "gpt-4o",
                                             "my-alias"}));

    // Cached: a second list does not ask the upstream again.
    const auto fetches = mock_.requests().size();
    EXPECT_EQ(api_call(port(), "GET", "/v1/models").status, 200);
    EXPECT_EQ(api_call(port(), "GET", "/v1/models").status, 200);
    EXPECT_LE(mock_.requests().size(), 2u) << "at most one fetch per I/O thread";
    EXPECT_GE(fetches, 1u);
    for (const auto& r : mock_.requests()) EXPECT_EQ(r.target, "/v1/models");

    const auto one = api_call(port(), "GET", "/v1/models/Qwen%2FQwQ-32B");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(json::parse(one.body).at("id"), "Qwen/QwQ-32B");
    EXPECT_EQ(api_call(port(), "GET", "/v1/models/Qwen/Qwen2.5-7B-Instruct").status, 200) << "an unencoded slash too";
    const auto missing = api_call(port(), "GET", "/v1/models/no-such-model");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(error_of(missing.body).at("code"), "model_not_found");
    const auto malformed = api_call(port(), "GET", "/v1/models/Qwen%2");
    EXPECT_EQ(malformed.status, 404) << "a malformed escape names no model";
    EXPECT_EQ(error_of(malformed.body).at("code"), "model_not_found");
    EXPECT_EQ(api_call(port(), "POST", "/v1/models").status, 405);
    EXPECT_EQ(api_call(port(), "DELETE", "/v1/models/gpt-4o").status, 405);
}

TEST_F(Api, ModelsSurviveAnUpstreamThatCannotList) {
    add_channel(port(), R"({"type":"SiliconFlow","name":"bad key","key":"sk-wrong","base_url":")" + mock_.base_url() +
                            R"(","model_mapping":{"alias":"x"}})");
    const auto res = api_call(port(), "GET", "/v1/models");
    ASSERT_EQ(res.status, 200) << res.body;
    const auto data = json::parse(res.body).at("data").as_array();
    ASSERT_EQ(data.size(), 1u) << "the upstream refused the key: only the mapped name is listed";
    EXPECT_EQ(data[0].at("id"), "alias");
    EXPECT_EQ(res.body.find("sk-wrong"), std::string::npos);
    EXPECT_EQ(nexus_->stdout_text().find("sk-wrong"), std::string::npos);
    EXPECT_EQ(nexus_->stderr_text().find("sk-wrong"), std::string::npos);
}

// The lists of channels that serve any model are fetched at the same time, and callers that come
// while a fetch is under way share it (one I/O thread, so one catalog for every caller).
TEST(ModelLists, CatchAllChannelsAreFetchedAtOnceAndOnlyOnce) {
    MockUpstream mock{mock_options([](auto& o) {
        o.other_good_keys = {"sk-second-key-0123"};
        o.models_delay_ms = 400;
    })};
    NexusProcess nexus(Env{{"NEXUS_THREADS", "1"}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    for (const auto& key : {mock.good_key(), std::string("sk-second-key-0123")}) {
        add_channel(nexus.port(), R"({"type":"OpenAI-Compatible","name":"any","key":")" + key + R"(","base_url":")" +
                                      mock.base_url() + R"("})");
    }
    add_token(nexus.port());
    std::vector<std::future<HttpResponse>> callers;
    for (int i = 0; i < 5; ++i) {
        callers.push_back(std::async(std::launch::async, [&] { return api_call(nexus.port(), "GET", "/v1/models"); }));
    }
    for (auto& c : callers) {
        const auto res = c.get();
        ASSERT_EQ(res.status, 200) << res.body;
        EXPECT_EQ(json::parse(res.body).at("data").as_array().size(), 2u) << res.body;
    }
    EXPECT_EQ(mock.count("/v1/models"), 2u) << "one fetch per channel, whatever the number of callers";
    EXPECT_EQ(mock.max_concurrent_model_lists(), 2) << "the two channels' lists were not fetched at the same time";
}

}  // namespace
}  // namespace nexus::testing
