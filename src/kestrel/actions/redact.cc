// Credential redaction; see redact.h. Tested by redact_test.cc.
#include "kestrel/actions/redact.h"

#include <array>
#include <cctype>

namespace kestrel::actions {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// %XX sequences decoded (a name may be written `api%5Fkey`).
std::string PercentDecoded(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

// Words that make a whole name a credential wherever they appear in it.
constexpr std::array<std::string_view, 12> kAnywhere = {
    "token",   "secret",    "password", "passwd",     "apikey", "api_key",
    "api-key", "signature", "auth",     "credential", "cookie", "oauthbearer"};
// Words that do when they are a whole word of the name (separated by - _ . or the ends).
constexpr std::array<std::string_view, 7> kWords = {"key",  "sig", "pass",   "pwd",
                                                    "code", "pem", "session"};

}  // namespace

bool IsCredentialName(std::string_view name) {
  std::string n = Lower(PercentDecoded(name));
  for (std::string_view w : kAnywhere) {
    if (n.find(w) != std::string::npos) return true;
  }
  size_t start = 0;
  while (start <= n.size()) {
    size_t end = n.find_first_of("-_. ", start);
    if (end == std::string::npos) end = n.size();
    std::string_view word = std::string_view(n).substr(start, end - start);
    for (std::string_view w : kWords) {
      if (word == w) return true;
    }
    start = end + 1;
  }
  return false;
}

std::string RedactUrl(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t auth_start = scheme + 3;
  size_t auth_end = url.find_first_of("/?#", auth_start);
  if (auth_end == std::string_view::npos) auth_end = url.size();
  std::string out(url.substr(0, auth_start));
  std::string_view authority = url.substr(auth_start, auth_end - auth_start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    out += kRedacted;
    out += authority.substr(at);
  } else {
    out += authority;
  }
  size_t q = url.find('?', auth_end);
  size_t frag = url.find('#', auth_end);
  if (q == std::string_view::npos || (frag != std::string_view::npos && frag < q)) {
    out += url.substr(auth_end);
    return out;
  }
  out += url.substr(auth_end, q + 1 - auth_end);
  std::string_view query =
      url.substr(q + 1, (frag == std::string_view::npos ? url.size() : frag) - q - 1);
  while (true) {
    size_t amp = query.find_first_of("&;");
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos && IsCredentialName(kv.substr(0, eq))) {
      out += kv.substr(0, eq + 1);
      out += kRedacted;
    } else {
      out += kv;
    }
    if (amp == std::string_view::npos) break;
    out.push_back(query[amp]);
    query = query.substr(amp + 1);
  }
  if (frag != std::string_view::npos) out += url.substr(frag);
  return out;
}

std::string RedactHeader(std::string_view header) {
  size_t colon = header.find(':');
  if (colon == std::string_view::npos) return std::string(kRedacted);
  std::string_view name = header.substr(0, colon);
  if (!IsCredentialName(name)) return std::string(header);
  return std::string(name) + ": " + std::string(kRedacted);
}

std::string RedactSinkOption(std::string_view key, std::string_view value) {
  if (key == "header") return RedactHeader(value);
  if (key.starts_with("kafka.") && IsCredentialName(key.substr(6))) return std::string(kRedacted);
  return std::string(value);
}

}  // namespace kestrel::actions
