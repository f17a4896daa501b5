#include "kestrel/sources/ebpf/kernel_path.h"

namespace kestrel::sources::ebpf {

std::string JoinPath(std::string_view components) {
  std::vector<std::string_view> parts;  // leaf first
  size_t i = 0;
  while (i < components.size()) {
    size_t end = components.find('\0', i);
    if (end == std::string_view::npos) end = components.size();
    if (end > i) parts.push_back(components.substr(i, end - i));
    i = end + 1;
  }
  if (parts.empty()) return components.empty() ? std::string() : std::string("/");
  // Root end first; a component starting with '/' is absolute: what is above it is dropped.
  std::string raw;
  for (size_t k = parts.size(); k-- > 0;) {
    if (!parts[k].empty() && parts[k][0] == '/') {
      raw.clear();
    } else {
      raw.push_back('/');
    }
    raw.append(parts[k]);
  }
  // Lexical normalisation.
  std::vector<std::string_view> out;
  size_t p = 0;
  while (p < raw.size()) {
    size_t q = raw.find('/', p);
    if (q == std::string::npos) q = raw.size();
    std::string_view seg(raw.data() + p, q - p);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    p = q + 1;
  }
  std::string path;
  for (std::string_view seg : out) {
    path.push_back('/');
    path.append(seg);
  }
  return path.empty() ? std::string("/") : path;
}

bool HasPrefix(std::string_view path, const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    if (!p.empty() && path.substr(0, p.size()) == p) return true;
  }
  return false;
}

}  // namespace kestrel::sources::ebpf
