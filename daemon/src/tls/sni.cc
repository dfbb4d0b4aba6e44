#include "tls/sni.h"

#include <algorithm>

namespace hearth::tls {

std::string normalize_server_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  out.reserve(name.size());
  for (char ch : name) {
    char c = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '*';
    if (!ok) return "";
    out.push_back(c);
  }
  return out;
}

SniTable SniTable::build(const std::vector<std::vector<std::string>>& hosts, std::vector<std::string>* errors) {
  SniTable t;
  auto fail = [&](std::size_t entry, const std::string& what) {
    if (errors) errors->push_back("tls.certificates[" + std::to_string(entry) + "].hosts: " + what);
  };
  for (std::size_t e = 0; e < hosts.size(); ++e) {
    if (hosts[e].empty()) fail(e, "lists no host");
    for (const std::string& raw : hosts[e]) {
      std::string n = normalize_server_name(raw);
      if (n.empty() || n.front() == '.' || n.find("..") != std::string::npos) {
        fail(e, "'" + raw + "' is not a host name");
        continue;
      }
      std::size_t star = n.find('*');
      if (star == std::string::npos) {
        t.exact_.push_back({n, e});
      } else if (star == 0 && n.size() > 2 && n[1] == '.' && n.find('*', 1) == std::string::npos) {
        t.wildcard_.push_back({n.substr(1), e});
      } else {
        fail(e, "'" + raw + "': a wildcard is only allowed as the whole first label (*.example.com)");
      }
    }
  }
  std::stable_sort(t.exact_.begin(), t.exact_.end(), [](const Name& a, const Name& b) { return a.name < b.name; });
  std::stable_sort(t.wildcard_.begin(), t.wildcard_.end(), [](const Name& a, const Name& b) {
    return a.name.size() != b.name.size() ? a.name.size() > b.name.size() : a.name < b.name;
  });
  auto duplicates = [&](const std::vector<Name>& v, const char* prefix) {
    for (std::size_t i = 1; i < v.size(); ++i)
      if (v[i].name == v[i - 1].name)
        fail(v[i].entry, "'" + std::string(prefix) + v[i].name + "' is also listed by tls.certificates[" +
                             std::to_string(v[i - 1].entry) + "]");
  };
  duplicates(t.exact_, "");
  duplicates(t.wildcard_, "*");
  return t;
}

std::optional<std::size_t> SniTable::lookup(std::string_view server_name) const {
  std::string n = normalize_server_name(server_name);
  if (n.empty()) return std::nullopt;
  auto it = std::lower_bound(exact_.begin(), exact_.end(), n, [](const Name& a, const std::string& b) { return a.name < b; });
  if (it != exact_.end() && it->name == n) return it->entry;
  for (const Name& w : wildcard_) {  // longest suffix first; a handful of entries
    if (n.size() > w.name.size() && n.compare(n.size() - w.name.size(), w.name.size(), w.name) == 0)
      return w.entry;
  }
  return std::nullopt;
}

}  // namespace hearth::tls
