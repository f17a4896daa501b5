// Alert sinks on the command line and in the configuration: `kestrel run --sink URL` (repeatable)
// and the config's `run.sinks:` list, turned into an actions::SinkSet (docs/configuration.md and
// docs/deployment.md describe every option).
//
//   file:PATH | file:-                      JSON lines (rotation, compression)
//   syslog+udp://HOST:PORT | syslog+tcp://HOST:PORT | syslog+unix:///dev/log
//   http://HOST[:PORT]/PATH | https://...   webhook
//   kafka://BROKER[,BROKER...]/TOPIC        Kafka
//
// Options follow the URL after '#' (never sent anywhere: a webhook's own ?query stays its own):
// `--sink 'kafka://k1:9092/alerts#format=ecs&key=host&min_severity=high'`. In YAML they are keys
// beside `url:`, and lists/maps where an option repeats (`tags`, `headers`, `kafka`).
// Tested by sinks_option_test.cc and cli_test.sh.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/actions/sink_set.h"
#include "kestrel/pipeline/sink_config.h"
#include "kestrel/schema/schema.h"

namespace YAML {
class Node;
}

namespace kestrel::metrics {
struct Snapshot;
}

namespace kestrel::pipeline {

// "URL[#k=v&k=v...]" from --sink. Errors: an option without '='.
absl::StatusOr<SinkConfig> ParseSinkFlag(std::string_view text);

// One item of the config's `run.sinks` list (a mapping with `url:`). Errors name file:line:col.
absl::StatusOr<SinkConfig> ParseSinkYaml(const std::string& file, const YAML::Node& node);
// The whole `run.sinks` list, each item checked by CheckSinkConfig (so `kestrel config check`
// reports an unknown sink option with its line).
absl::Status ParseSinksYaml(const std::string& file, const YAML::Node& node,
                            std::vector<SinkConfig>* out);

// Checks the URL's kind and that every option is known for it (without opening anything).
absl::Status CheckSinkConfig(const SinkConfig& config);

// How long `kestrel run` waits at exit for its sinks to deliver what they hold.
inline constexpr std::chrono::milliseconds kSinkCloseDeadline{5000};

// Builds every sink (checking every option: unknown ones are errors naming the origin) and starts
// its delivery. Errors: INVALID_ARGUMENT for a bad URL or option, UNAVAILABLE when a spool cannot
// be opened. `schema` must outlive the set.
absl::StatusOr<std::unique_ptr<actions::SinkSet>> BuildSinks(const std::vector<SinkConfig>& configs,
                                                             const schema::Schema* schema);

// Where spools go by default: $STATE_DIRECTORY/spool (systemd), /var/lib/kestrel/spool as root,
// else $XDG_STATE_HOME (or ~/.local/state)/kestrel/spool.
std::string DefaultSpoolDir();

// ", sink NAME: delivered N, spooled N, dropped N" for each sink (the run's summary line).
std::string SinkSummary(const actions::SinkSet& sinks);
// Adds each sink's counters to a metrics snapshot.
void AddSinkMetrics(const actions::SinkSet& sinks, metrics::Snapshot* snapshot);

}  // namespace kestrel::pipeline
