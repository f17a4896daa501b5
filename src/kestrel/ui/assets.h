// The single-page application's files (assets/: index.html, app.js, app.css), embedded into the
// binary at build time by embed_assets.cmake (a generated .cc of byte arrays): nothing is read
// from disk or fetched at run time. Hand-written, no third-party code.
#pragma once

#include <optional>
#include <string_view>

namespace kestrel::ui {

struct Asset {
  std::string_view name;  // "index.html", "app.js", "app.css"
  std::string_view content_type;
  std::string_view body;
};

// The asset of that file name; nullopt for any other name.
std::optional<Asset> FindAsset(std::string_view name);

}  // namespace kestrel::ui
