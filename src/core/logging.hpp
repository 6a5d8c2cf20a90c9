#pragma once
#include <string_view>

namespace nexus::core {

/// Sets up the process loggers: the application log (text, stderr, at `level`) and the access
/// log (one JSON object per line, stdout, written by a background thread so a slow terminal or
/// pipe never blocks an I/O thread; when its queue is full the oldest lines are dropped).
/// Throws std::invalid_argument for an unknown level.
void init_logging(std::string_view level, bool access_log_enabled);

/// Writes one access-log line (already a JSON object). A no-op when the access log is off.
void write_access_log(std::string_view json_line);

/// Flushes both logs; called at shutdown.
void flush_logs();

}  // namespace nexus::core
