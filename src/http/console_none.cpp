// The asset table of a binary built without the console (NEXUS_CONSOLE=OFF): empty, so `/` is a
// JSON 404 like any unknown path.
#include "http/console.hpp"

namespace nexus::http {

std::span<const ConsoleAsset> console_assets() { return {}; }

}  // namespace nexus::http
