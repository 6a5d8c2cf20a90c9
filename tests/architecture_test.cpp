// The module order, checked on the sources: a folder under src/ includes only from itself and
// from the folders below it (docs/ARCHITECTURE.md). The build's libraries catch a call into a
// module above; this catches an include of one, header-only code included.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace nexus {
namespace {

// Each module and the modules it may include from (itself included).
const std::map<std::string, std::set<std::string>>& allowed() {
    static const std::map<std::string, std::set<std::string>> table = [] {
        std::map<std::string, std::set<std::string>> t;
        t["core"] = {"core"};
        t["config"] = {"core", "config"};
        for (const auto* m : {"http", "upstream"}) t[m] = {"core", "config", m};
        t["redis"] = {"core", "redis"};
        t["store"] = {"core", "config", "redis", "store"};
        t["protocol"] = {"core", "protocol"};
        t["snapshot"] = {"core", "config", "store", "snapshot"};
        t["admission"] = {"core", "config", "store", "snapshot", "redis", "admission"};
        t["relay"] = {"core", "config", "http", "upstream", "store", "snapshot", "admission", "protocol", "relay"};
        t["accounts"] = {"core", "config", "store", "accounts"};
        t["admin"] = {"core", "config", "http", "store", "snapshot", "accounts", "admin"};
        t["app"] = {"core",      "config",   "http",     "upstream", "store", "snapshot", "redis",
                    "admission", "accounts", "protocol", "relay",    "admin", "app"};
        return t;
    }();
    return table;
}

TEST(Architecture, ModulesIncludeOnlyFromBelow) {
    const std::filesystem::path src = std::filesystem::path(NEXUS_SOURCE_DIR) / "src";
    const std::regex include(R"re(^\s*#\s*include\s*"([a-z_]+)/)re");
    int checked = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(src)) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
        const auto module = std::filesystem::relative(entry.path(), src).begin()->string();
        ASSERT_TRUE(allowed().contains(module)) << module << ": a folder the module table does not know";
        std::ifstream in(entry.path());
        std::string line;
        while (std::getline(in, line)) {
            std::smatch m;
            if (!std::regex_search(line, m, include)) continue;
            ++checked;
            EXPECT_TRUE(allowed().at(module).contains(m[1].str()))
                << entry.path().string() << " includes from " << m[1] << ", above " << module << ": " << line;
        }
    }
    EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace nexus
