#include "relay/inspect.hpp"
#include "relay/multipart.hpp"

#include <gtest/gtest.h>

namespace nexus::relay {
namespace {

core::Result<RequestInfo> inspect_chat_request(std::string_view body) {
    return inspect_request(*find_endpoint("/v1/chat/completions"), body, "application/json");
}

TEST(InspectChatRequest, ReadsModelAndStream) {
    const auto r = inspect_chat_request(
        R"({"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"hi"}],"stream":true,
            "stream_options":{"include_usage":true}})");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->model, "Qwen/Qwen2.5-7B-Instruct");
    EXPECT_TRUE(r->stream);
    EXPECT_TRUE(r->include_usage);
}

TEST(InspectChatRequest, StreamDefaultsToFalse) {
    const auto r = inspect_chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":null})");
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->stream);
}

struct BadCase {
    const char* body;
    const char* param;  // "" for none
};

class InspectChatRequestBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(InspectChatRequestBad, Answers400NamingTheField) {
    const auto r = inspect_chat_request(GetParam().body);
    ASSERT_FALSE(r.has_value()) << GetParam().body;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().type, "invalid_request_error");
    EXPECT_EQ(r.error().param, GetParam().param);
    EXPECT_FALSE(r.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, InspectChatRequestBad,
    ::testing::Values(BadCase{"", ""}, BadCase{"{", ""}, BadCase{"not json", ""}, BadCase{"[1,2]", ""},
                      BadCase{"\"str\"", ""}, BadCase{"null", ""}, BadCase{R"({"messages":[{}]})", "model"},
                      BadCase{R"({"model":3,"messages":[{}]})", "model"},
                      BadCase{R"({"model":"","messages":[{}]})", "model"}, BadCase{R"({"model":"m"})", "messages"},
                      BadCase{R"({"model":"m","messages":{}})", "messages"},
                      BadCase{R"({"model":"m","messages":[]})", "messages"},
                      BadCase{R"({"model":"m","messages":[{}],"stream":"yes"})", "stream"},
                      BadCase{R"({"model":"m","messages":[{}]} trailing)", ""},
                      BadCase{R"({"model":"m","messages":[{}]]})", ""},
                      BadCase{"{\"model\":\"\xff\",\"messages\":[{}]}", ""}));

TEST(InspectChatRequest, DeepNestingIsRefusedNotCrashed) {
    std::string deep(100000, '[');
    const auto r = inspect_chat_request(deep);
    EXPECT_FALSE(r.has_value());
}

TEST(InspectChatRequest, LargeBodySpillsToHeap) {
    std::string content(200000, 'x');
    const auto r = inspect_chat_request(R"({"model":"m","messages":[{"role":"user","content":")" + content + "\"}]}");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->model, "m");
}

// The body is read in one pass without a DOM; what it says must still be read as a DOM parse
// would: a key given twice counts with its last value, and escapes in keys are undone.
TEST(InspectChatRequest, ATwiceGivenFieldCountsWithItsLastValue) {
    const auto r = inspect_chat_request(
        R"({"model":"first","stream":"no","messages":[],"stream":true,"model":"second","messages":[{}],)"
        R"("stream_options":{"include_usage":true,"include_usage":"yes"}})");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->model, "second");
    EXPECT_TRUE(r->stream);
    EXPECT_FALSE(r->include_usage);  // its last value is not a boolean

    const auto model_not_string = inspect_chat_request(R"({"model":"m","messages":[{}],"model":{"name":"m"}})");
    ASSERT_FALSE(model_not_string.has_value());
    EXPECT_EQ(model_not_string.error().param, "model");

    const auto options_replaced =
        inspect_chat_request(R"({"model":"m","messages":[{}],"stream_options":{"include_usage":true},"stream_options":null})");
    ASSERT_TRUE(options_replaced.has_value());
    EXPECT_FALSE(options_replaced->include_usage);
}

TEST(InspectChatRequest, EscapedKeysAndNamesAreReadUnescaped) {
    const auto r = inspect_chat_request(
        R"({"mo\u0064el":"Qwen\/Qwen2.5","messages":[{"content":{"model":"inner","stream":3}}],"stre\u0061m":false,)"
        R"("stream_options":{"include_\u0075sage":true,"nested":{"include_usage":false}},"max_tokens":7})");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->model, "Qwen/Qwen2.5");
    EXPECT_FALSE(r->stream);
    EXPECT_TRUE(r->include_usage);
    EXPECT_EQ(r->max_tokens, 7);
}

TEST(InspectChatRequest, ALongConversationIsReadWithItsFieldsAfterIt) {
    std::string messages = "[";
    for (int i = 0; i < 2000; ++i) messages += R"({"role":"user","content":"\u4f60\u597d, model: stream"},)";
    messages += "{}]";
    const auto r = inspect_chat_request(R"({"messages":)" + messages + R"(,"model":"m","max_completion_tokens":12,"max_tokens":3})");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->model, "m");
    EXPECT_EQ(r->max_tokens, 12);
}

TEST(InspectMessagesRequest, MaxTokensIsRequiredAndCounted) {
    const auto* messages = find_endpoint("/v1/messages");
    ASSERT_NE(messages, nullptr);
    const auto ok = inspect_request(*messages, R"({"model":"m","messages":[{}],"max_tokens":100})", "application/json");
    ASSERT_TRUE(ok.has_value()) << ok.error().message;
    EXPECT_EQ(ok->max_tokens, 100);
    for (const auto* body : {R"({"model":"m","messages":[{}]})", R"({"model":"m","messages":[{}],"max_tokens":-1})",
                             R"({"model":"m","messages":[{}],"max_tokens":1.5})"}) {
        const auto r = inspect_request(*messages, body, "application/json");
        ASSERT_FALSE(r.has_value()) << body;
        EXPECT_EQ(r.error().param, "max_tokens") << body;
    }
}

// Every JSON endpoint checks its own required fields and names the one that is wrong.
struct EndpointCase {
    const char* path;
    const char* body;
    const char* param;  // "" : accepted
};

class InspectEndpoint : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(InspectEndpoint, ChecksItsRequiredFields) {
    const auto* endpoint = find_endpoint(GetParam().path);
    ASSERT_NE(endpoint, nullptr);
    const auto r = inspect_request(*endpoint, GetParam().body, "application/json");
    if (std::string_view(GetParam().param).empty()) {
        ASSERT_TRUE(r.has_value()) << r.error().message;
        EXPECT_EQ(r->model, "m");
    } else {
        ASSERT_FALSE(r.has_value()) << GetParam().body;
        EXPECT_EQ(r.error().status, 400);
        EXPECT_EQ(r.error().param, GetParam().param);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, InspectEndpoint,
    ::testing::Values(
        EndpointCase{"/v1/embeddings", R"({"model":"m","input":"hello"})", ""},
        EndpointCase{"/v1/embeddings", R"({"model":"m","input":["a","b"]})", ""},
        EndpointCase{"/v1/embeddings", R"({"model":"m"})", "input"},
        EndpointCase{"/v1/embeddings", R"({"model":"m","input":""})", "input"},
        EndpointCase{"/v1/embeddings", R"({"model":"m","input":[]})", "input"},
        EndpointCase{"/v1/embeddings", R"({"model":"m","input":7})", "input"},
        EndpointCase{"/v1/embeddings", R"({"model":"m","input":"x","stream":true})", "stream"},
        EndpointCase{"/v1/completions", R"({"model":"m","prompt":"Once","stream":true})", ""},
        EndpointCase{"/v1/completions", R"({"model":"m"})", "prompt"},
        EndpointCase{"/v1/rerank", R"({"model":"m","query":"q","documents":["a"]})", ""},
        EndpointCase{"/v1/rerank", R"({"model":"m","query":"q"})", "documents"},
        EndpointCase{"/v1/rerank", R"({"model":"m","query":3,"documents":["a"]})", "query"},
        EndpointCase{"/v1/images/generations", R"({"model":"m","prompt":"a cat"})", ""},
        EndpointCase{"/v1/images/generations", R"({"prompt":"a cat"})", "model"},
        EndpointCase{"/v1/audio/speech", R"({"model":"m","input":"hi","stream":true})", ""},
        EndpointCase{"/v1/audio/speech", R"({"model":"m","voice":"x"})", "input"}));

constexpr std::string_view kFormType = "multipart/form-data; boundary=XyZ";

std::string form(std::initializer_list<std::pair<std::string, std::string>> parts) {
    std::string out = "preamble\r\n";
    for (const auto& [disposition, value] : parts) {
        out.append("--XyZ\r\nContent-Disposition: form-data; ").append(disposition).append("\r\n\r\n");
        out.append(value).append("\r\n");
    }
    out.append("--XyZ--\r\n");
    return out;
}

TEST(InspectForm, ReadsModelAndWhereItLies) {
    const auto body = form({{R"(name="file"; filename="a.mp3")", std::string("ID3\0\x01--Xy", 10)},
                            {R"(name="model")", "FunAudioLLM/SenseVoiceSmall"}});
    const auto r = inspect_request(*find_endpoint("/v1/audio/transcriptions"), body, kFormType);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->model, "FunAudioLLM/SenseVoiceSmall");
    EXPECT_EQ(body.substr(r->model_offset, r->model.size()), r->model);
}

TEST(InspectModel, NamesOver256BytesAreRefusedWithoutEchoInJsonAndForms) {
    const std::string long_model(257, 'q');
    const auto json = inspect_chat_request(R"({"model":")" + long_model + R"(","messages":[{"role":"user"}]})");
    const auto multipart = inspect_request(*find_endpoint("/v1/audio/transcriptions"),
                                           form({{R"(name="file"; filename="a.mp3")", "ID3"}, {R"(name="model")", long_model}}),
                                           kFormType);
    for (const auto* r : {&json, &multipart}) {
        ASSERT_FALSE(r->has_value());
        EXPECT_EQ(r->error().status, 400);
        EXPECT_EQ(r->error().param, "model");
        EXPECT_EQ(r->error().message.find("qqqq"), std::string::npos) << r->error().message;
    }
    EXPECT_TRUE(inspect_chat_request(R"({"model":")" + std::string(256, 'q') + R"(","messages":[{"role":"user"}]})"));
}

TEST(InspectForm, RefusesWhatIsNotAForm) {
    const auto* endpoint = find_endpoint("/v1/audio/transcriptions");
    const auto good = form({{R"(name="file"; filename="a.mp3")", "abc"}, {R"(name="model")", "m"}});
    struct Case {
        std::string body;
        std::string_view type;
        const char* param;
    };
    const Case cases[] = {
        {good, "application/json", ""},
        {good, "multipart/form-data", ""},                       // no boundary
        {good, "multipart/form-data; boundary=Other", ""},       // boundary never appears
        {form({{R"(name="file"; filename="a")", "abc"}}), kFormType, "model"},
        {form({{R"(name="model")", "m"}}), kFormType, "file"},
        {form({{R"(name="model")", ""}, {R"(name="file")", "x"}}), kFormType, "model"},
        {"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm", kFormType, ""},  // unterminated
        {"--XyZ\r\nContent-Disposition: form-data\r\n\r\nm\r\n--XyZ--", kFormType, ""},           // no name
        {"--XyZ\r\nContent-Disposition: form-data; name=\"model\"", kFormType, ""},               // no blank line
    };
    for (const auto& c : cases) {
        const auto r = inspect_request(*endpoint, c.body, c.type);
        ASSERT_FALSE(r.has_value()) << c.body;
        EXPECT_EQ(r.error().status, 400);
        EXPECT_EQ(r.error().param, c.param) << c.body;
        EXPECT_FALSE(r.error().message.empty());
    }
}

TEST(FormBoundary, ReadsQuotedAndPlainBoundaries) {
    EXPECT_EQ(form_boundary("multipart/form-data; boundary=abc"), "abc");
    EXPECT_EQ(form_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
    EXPECT_FALSE(form_boundary("multipart/mixed; boundary=abc"));
    EXPECT_FALSE(form_boundary("multipart/form-data; boundary="));
    EXPECT_FALSE(form_boundary("multipart/form-data; boundary=" + std::string(71, 'a')));
}

}  // namespace
}  // namespace nexus::relay
