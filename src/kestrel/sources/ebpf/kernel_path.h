// Paths as the kernel side reports them: the leaf-first, NUL-separated components of a dentry
// walk (kestrel_records.h), joined into an absolute, normalised path; and the --ignore-path
// prefix test. Pure functions. Tested by decoder_test.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kestrel::sources::ebpf {

// The path of a record's leaf-first NUL-separated components (kestrel_records.h), made
// absolute and lexically normalised ("." and ".." resolved). An empty input gives "".
std::string JoinPath(std::string_view components);

// Whether `path` starts with one of `prefixes` (at a component boundary or plainly).
bool HasPrefix(std::string_view path, const std::vector<std::string>& prefixes);

}  // namespace kestrel::sources::ebpf
