// ReleaseStartupMemory: gives back what start-up touched and an idle run no longer needs
// (issue 23 item 5: idle RSS with the default pack <= 15 MB).
//
// Start-up (rule compile, the vectorscan compiler, option parsing, the loader) leaves two kinds
// of resident pages behind that detection does not use:
//   - freed heap: malloc keeps it; malloc_trim(0) returns the free pages of every arena;
//   - code pages: each page of a program or library that ran once stays mapped (the vectorscan
//     compiler alone is ~4 MB of libhs). Code pages are clean, private, file-backed mappings:
//     madvise(MADV_DONTNEED) unmaps them from this process; they stay in the page cache and a
//     page that runs again (detection, a reload's compile) faults back in from it (a minor fault,
//     no I/O). Only mappings that are read+execute, private and backed by a file are touched:
//     never writable data, RELRO (read-only but relocated in place) or anonymous memory.
// What it costs: one pass over /proc/self/maps and a few hundred minor faults as detection
// touches its code again. Caveat: a uprobe (or debugger breakpoint) already placed in the
// process's code when it runs is lost (its patched page is dropped); ones placed later are not.
// Called once, after the pipeline opened (Pipeline::Open), not after reloads; and by `kestrel
// replay` once its workers are started, before the first event.
// Tested by idle_memory_test.cc (in pipeline_test).
#pragma once

#include <cstddef>

namespace kestrel::pipeline {

struct ReleasedMemory {
  size_t code_mappings = 0;  // code mappings advised
  size_t code_bytes = 0;     // their size (resident or not)
  bool trimmed = false;      // malloc_trim returned memory
};

ReleasedMemory ReleaseStartupMemory();

}  // namespace kestrel::pipeline
