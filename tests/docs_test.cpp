// The documentation in both languages is true to the binary and to each other: README.md and
// README.zh-CN.md, and docs/operations.md and its Chinese twin, name the same settings, commands,
// flags and make targets and have the same sections; every setting and command of the binary is
// in both READMEs. A change to one that the other lacks fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

#include "app/command_line.hpp"
#include "config/config.hpp"

namespace nexus {
namespace {

std::string source(const std::string& path) {
    std::ifstream in(std::string(NEXUS_SOURCE_DIR) + "/" + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> matches(const std::string& text, const std::regex& re, int group = 0) {
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
        out.insert((*it)[group].str());
    }
    return out;
}

// What a document names, each kind as a set.
struct Names {
    std::set<std::string> settings, commands, flags, targets;
    int sections = 0, subsections = 0;
};

Names names_in(const std::string& text) {
    static const std::regex kSetting(R"(\b(NEXUS_[A-Z0-9_]+|SILICONFLOW_[A-Z_]+|SSL_CERT_[A-Z]+)\b)");
    static const std::regex kCommand(R"(nexus-api ([a-z][a-z-]*))");
    static const std::regex kFlag(R"((^|[\s`\[(])(--[a-z][a-z-]+))");
    static const std::regex kMake(R"(\bmake ([a-z][a-z-]*))");
    static const std::regex kSection(R"(^## )", std::regex::multiline);
    static const std::regex kSubsection(R"(^### )", std::regex::multiline);
    const auto makefile = source("Makefile");
    Names n;
    n.settings = matches(text, kSetting, 1);
    for (const auto& word : matches(text, kCommand, 1)) {
        if (app::find_command(word)) n.commands.insert(word);  // the binary says what is a command
    }
    n.flags = matches(text, kFlag, 2);
    for (const auto& target : matches(text, kMake, 1)) {
        if (makefile.find("\n" + target + ":") != std::string::npos) n.targets.insert(target);
    }
    n.sections = static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), kSection), {}));
    n.subsections = static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), kSubsection), {}));
    return n;
}

void expect_same(const std::string& english_path, const std::string& chinese_path) {
    const auto english = names_in(source(english_path));
    const auto chinese = names_in(source(chinese_path));
    ASSERT_FALSE(english.settings.empty()) << english_path;
    EXPECT_EQ(english.settings, chinese.settings) << "settings: " << english_path << " vs " << chinese_path;
    EXPECT_EQ(english.commands, chinese.commands) << "commands: " << english_path << " vs " << chinese_path;
    EXPECT_EQ(english.flags, chinese.flags) << "flags: " << english_path << " vs " << chinese_path;
    EXPECT_EQ(english.targets, chinese.targets) << "make targets: " << english_path << " vs " << chinese_path;
    EXPECT_EQ(english.sections, chinese.sections) << "## sections: " << english_path << " vs " << chinese_path;
    EXPECT_EQ(english.subsections, chinese.subsections) << "### sections: " << english_path << " vs " << chinese_path;
}

TEST(Docs, TheChineseReadmeNamesWhatTheEnglishOneNames) { expect_same("README.md", "README.zh-CN.md"); }

TEST(Docs, TheChineseOperationsGuideNamesWhatTheEnglishOneNames) {
    expect_same("docs/operations.md", "docs/operations.zh-CN.md");
}

TEST(Docs, BothReadmesHaveEverySettingAndCommandOfTheBinary) {
    for (const char* path : {"README.md", "README.zh-CN.md"}) {
        const auto text = source(path);
        for (const auto& o : config::option_table()) {
            EXPECT_NE(text.find("| `" + o.env + "` | `" + o.flag + "` |"), std::string::npos)
                << o.env << " is missing from the configuration table of " << path;
        }
        for (const char* command : {"backup", "restore", "rotate-secret", "admin-key", "user"}) {
            ASSERT_NE(app::find_command(command), nullptr) << command;
            EXPECT_NE(text.find(std::string("nexus-api ") + command), std::string::npos) << command << " in " << path;
        }
        for (const char* target : {"make run", "make test", "make install"}) {
            EXPECT_NE(text.find(target), std::string::npos) << target << " in " << path;
        }
    }
}

}  // namespace
}  // namespace nexus
