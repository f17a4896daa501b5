// Runtime-side helpers over kestrel_host_ctx for code that cannot include host_api.h (the
// C++17 wabt adapter): plain C declarations, implemented in host_api.cc.
#pragma once

#include <stdint.h>

#include "kestrel/host_api_v1.h"

extern "C" {
// When the predicate reported an error during the call: 1, the message (valid until the next
// report), and the flag cleared. Else 0.
int32_t kestrel_internal_take_error(kestrel_host_ctx* ctx, const char** message, uint32_t* size);
}
