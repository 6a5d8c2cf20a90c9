#pragma once
#include <boost/system/result.hpp>

#include <stdexcept>

#include "core/error.hpp"

namespace nexus::core {

/// A value or an Error; the data plane returns these instead of throwing across modules.
template <class T>
using Result = boost::system::result<T, Error>;

/// For boost::system::result::value() on an error (found by ADL). The data plane checks
/// has_value() first; this exists so value() is well-formed.
[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
    throw std::runtime_error(e.message);
}

}  // namespace nexus::core
