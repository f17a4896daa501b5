// SinkConfig: one alert sink as the user gave it (`--sink URL#options` or an item of the config's
// `run.sinks`), before it is built (sinks_option.h builds it).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kestrel::pipeline {

struct SinkConfig {
  std::string url;
  // In order; keys may repeat (tag, header, kafka.PROPERTY).
  std::vector<std::pair<std::string, std::string>> options;
  std::string origin;  // where it was given, for messages: "--sink" or "FILE:LINE:COL"
};

}  // namespace kestrel::pipeline
