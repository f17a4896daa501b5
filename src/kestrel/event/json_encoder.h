// Event -> ECS JSON object text, for alerts and for `kestrel query`-style output.
//
// Fields are written nested ({"process":{"name":"bash"}}) in name order, so the bytes do not
// depend on FieldId assignment (which differs between runs with different inputs or rules).
// When a field is both a leaf and the parent of others (`a` and `a.b`, possible only with dynamic
// fields), the children are written beside it with their dotted name (`"a":1,"a.b":2`), so the
// output never has duplicate keys. Cost: O(n log n) in the number of fields; not for hot paths.
// Tested by json_encoder_test.cc.
#pragma once

#include <string>

#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::event {

// Appends the fields of `event` as one JSON object. REQUIRES: event.Finish() was called.
void AppendEventJson(const Event& event, const schema::Schema& schema, std::string* out);

}  // namespace kestrel::event
