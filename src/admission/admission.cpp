#include "admission/admission.hpp"

namespace nexus::admission {

net::awaitable<core::Result<Reservation>> AdmitAll::reserve(const Ask&) { co_return Reservation{}; }

void AdmitAll::settle(const Reservation&, const Spent&) {}

}  // namespace nexus::admission
