#include "core/flat_fields.hpp"

#include <boost/beast/core/string.hpp>

namespace nexus::core {

namespace {

constexpr std::size_t kFirstBytes = 256;  // reserve(): room for a usual head's fields
constexpr std::size_t kFirstFields = 12;
constexpr std::size_t kKeptBytes = 4096;  // what trim() keeps of a larger head's text
constexpr std::size_t kKeptFields = 64;   // and of its lists

}  // namespace

std::string_view FlatFields::operator[](std::string_view name) const {
    for (const auto& f : fields_) {
        if (boost::beast::iequals(f.name_string_, name)) return f.value_;
    }
    return {};
}

void FlatFields::reserve() {
    text_.reserve(kFirstBytes);
    stored_.reserve(kFirstFields);
    fields_.reserve(kFirstFields);
}

void FlatFields::seal() {
    const std::string_view text = text_;
    fields_.clear();
    fields_.reserve(stored_.size());
    for (const auto& s : stored_) {
        Field f;
        f.name_ = s.name;
        f.name_string_ = text.substr(s.name_at, s.name_size);
        f.value_ = text.substr(s.value_at, s.value_size);
        fields_.push_back(f);
    }
}

void FlatFields::set(boost::beast::http::field name, std::string_view value) {
    std::erase_if(stored_, [name](const Stored& s) { return s.name == name; });
    add(name, boost::beast::http::to_string(name), value);
    seal();
}

void FlatFields::clear() {
    text_.clear();
    stored_.clear();
    fields_.clear();
}

void FlatFields::trim() {
    clear();
    if (text_.capacity() > kKeptBytes) std::string().swap(text_);
    if (stored_.capacity() > kKeptFields) {
        std::vector<Stored>().swap(stored_);
        std::vector<Field>().swap(fields_);
    }
}

}  // namespace nexus::core
