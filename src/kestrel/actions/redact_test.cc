// Tests credential redaction: URL userinfo, credential query parameters, headers and Kafka
// properties become ***; everything else is kept as it was.
#include "kestrel/actions/redact.h"

#include <gtest/gtest.h>

namespace kestrel::actions {
namespace {

TEST(Redact, UrlUserinfoAndCredentialQueryValues) {
  EXPECT_EQ(RedactUrl("https://alice:s3cret@example.com:8443/hook"),
            "https://***@example.com:8443/hook");
  EXPECT_EQ(RedactUrl("https://TOKEN123@example.com/hook"), "https://***@example.com/hook");
  EXPECT_EQ(RedactUrl("http://example.com/hook?token=abc&team=blue&API_KEY=k1;sig=zz"),
            "http://example.com/hook?token=***&team=blue&API_KEY=***;sig=***");
  for (const char* name :
       {"token", "access_token", "api_key", "apikey", "key", "password", "secret", "sig",
        "signature", "auth", "client_secret", "x-api-key", "api%5Fkey", "code"}) {
    std::string url = std::string("https://example.com/p?") + name + "=hunter2";
    EXPECT_EQ(RedactUrl(url).find("hunter2"), std::string::npos) << url;
  }
  // '@' in the path or query is not userinfo; nothing secret, nothing changed.
  EXPECT_EQ(RedactUrl("http://example.com/a@b?team=x@y"), "http://example.com/a@b?team=x@y");
  EXPECT_EQ(RedactUrl("kafka://user:pw@k1:9092,k2:9092/alerts"),
            "kafka://***@k1:9092,k2:9092/alerts");
  EXPECT_EQ(RedactUrl("syslog+tcp://192.0.2.1:514"), "syslog+tcp://192.0.2.1:514");
  EXPECT_EQ(RedactUrl("file:/var/log/kestrel/alerts.jsonl"), "file:/var/log/kestrel/alerts.jsonl");
  EXPECT_EQ(RedactUrl("http://example.com/x?token=t#frag"), "http://example.com/x?token=***#frag");
}

TEST(Redact, HeadersAndSinkOptions) {
  EXPECT_EQ(RedactHeader("Authorization: Bearer abc"), "Authorization: ***");
  EXPECT_EQ(RedactHeader("X-Auth-Token: abc"), "X-Auth-Token: ***");
  EXPECT_EQ(RedactHeader("x-api-key:abc"), "x-api-key: ***");
  EXPECT_EQ(RedactHeader("Cookie: a=b"), "Cookie: ***");
  EXPECT_EQ(RedactHeader("Content-Type: application/json"), "Content-Type: application/json");
  EXPECT_EQ(RedactHeader("no colon at all"), "***");
  EXPECT_EQ(RedactSinkOption("header", "Proxy-Authorization: Basic xyz"),
            "Proxy-Authorization: ***");
  EXPECT_EQ(RedactSinkOption("kafka.sasl.password", "pw"), "***");
  EXPECT_EQ(RedactSinkOption("kafka.ssl.key.password", "pw"), "***");
  EXPECT_EQ(RedactSinkOption("kafka.sasl.oauthbearer.config", "c"), "***");
  EXPECT_EQ(RedactSinkOption("kafka.sasl.username", "kestrel"), "kestrel");
  EXPECT_EQ(RedactSinkOption("kafka.linger.ms", "5"), "5");
  EXPECT_EQ(RedactSinkOption("password_file", "/etc/kestrel/pw"), "/etc/kestrel/pw");
  EXPECT_EQ(RedactSinkOption("format", "ecs"), "ecs");
}

}  // namespace
}  // namespace kestrel::actions
