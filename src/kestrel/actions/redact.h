// Redaction of the credentials a sink's configuration may hold, for everything Kestrel prints or
// names after it: log lines (stderr, the systemd journal), error messages, metric labels, the
// run's summary, spool file names and `kestrel config check`. A sink's name (Sink::name()) is
// always a redacted URL, so whatever prints a name prints no secret.
//
// What counts as a credential:
//  - the userinfo of a URL (`https://USER:PASS@host/...`): replaced whole by `***`;
//  - the value of a query parameter whose name is a credential name (IsCredentialName: token,
//    access_token, api_key, apikey, key, password, secret, sig, signature, auth, code, and names
//    holding one of them as a word, such as client_secret or x-api-key);
//  - the value of a header with a credential name (Authorization, Proxy-Authorization, Cookie,
//    X-Api-Key, X-Auth-Token, ...);
//  - the value of a Kafka property with a credential name (sasl.password, ssl.key.password,
//    sasl.oauthbearer.config, ...).
// Redaction errs on the side of hiding: a name that merely contains such a word is hidden too.
// Tested by redact_test.cc.
#pragma once

#include <string>
#include <string_view>

namespace kestrel::actions {

inline constexpr std::string_view kRedacted = "***";

// `url` with its userinfo and its credential query values replaced by "***". A URL without
// "://" (file:PATH, syslog+unix:/dev/log) is returned unchanged.
std::string RedactUrl(std::string_view url);

// True when a query parameter, header or property of this name carries a credential
// (case-insensitive; see above).
bool IsCredentialName(std::string_view name);

// "Name: value" with the value replaced by "***" when Name is a credential header. A text
// without a colon is not shown at all ("***").
std::string RedactHeader(std::string_view header);

// A sink option's value as it may be shown (`kestrel config check`): `header` values through
// RedactHeader, `kafka.PROPERTY` values with a credential name as "***", others unchanged.
std::string RedactSinkOption(std::string_view key, std::string_view value);

}  // namespace kestrel::actions
