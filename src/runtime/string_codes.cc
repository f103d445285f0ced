#include "string_codes.h"

namespace ark::runtime {

int32_t StringCodes::Intern(const std::string& s) {
  const auto it = index_.find(s);
  if (it != index_.end()) return it->second;
  const auto code = static_cast<int32_t>(values_.size());
  values_.push_back(s);
  index_.emplace(s, code);
  return code;
}

int32_t StringCodes::Find(const std::string& s) const {
  const auto it = index_.find(s);
  return it == index_.end() ? -1 : it->second;
}

}  // namespace ark::runtime
