#pragma once
// The templates of admin_api.hpp.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace nexus::admin {

template <class T, class ToJson>
AdminApi::Reply list_reply(const store::Page<T>& page, std::int64_t page_number, std::int64_t page_size,
                           ToJson to_json) {
    boost::json::array data;
    data.reserve(page.items.size());
    for (const auto& item : page.items) data.emplace_back(to_json(item));
    return {200,
            boost::json::serialize(boost::json::object{{"object", "list"},
                                                       {"data", std::move(data)},
                                                       {"total", page.total},
                                                       {"page", page_number},
                                                       {"page_size", page_size}}),
            {}};
}

}  // namespace nexus::admin
