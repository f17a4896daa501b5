/* Kestrel Host API, version 1: the functions a compiled or user-written predicate calls to read
 * the current event. One C ABI, implemented once by the engine (src/kestrel/runtime/host_api.cc)
 * and exposed unchanged to the Lua runtime (as functions of the `kestrel` table) and, later, to
 * Wasm modules (imports of module `kestrel`). Documented in docs/host-api.md.
 *
 * Versioning: KESTREL_HOST_API_VERSION changes whenever a function is removed or its contract
 * changes; functions may be added within a version. A module or chunk states the version it
 * was built against; the runtime refuses a different one, naming both versions.
 *
 * Conventions:
 * - Every function takes the opaque context the runtime passed to the predicate; it is valid
 *   only during that call. Strings returned by pointer borrow the event's bytes: valid until the
 *   predicate returns. Strings passed in are (pointer, length), need not be NUL-terminated.
 * - `field` is a FieldId of the rule set's schema (the code generator writes them as constants).
 * - `index`: KESTREL_WHOLE_FIELD reads the field itself; otherwise the element `index` of an
 *   array field (negative counts from the end; on a non-array field element 0 is the value itself,
 *   as EQL's `process.args[0]`).
 * - Conditions are three-valued: KESTREL_TRUE, KESTREL_FALSE or KESTREL_NULL (EQL's null: a
 *   condition holds only when TRUE).
 * Thread safety: a context belongs to one worker thread; the functions are reentrant. */
#ifndef KESTREL_HOST_API_V1_H_
#define KESTREL_HOST_API_V1_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KESTREL_HOST_API_VERSION 1u

typedef struct kestrel_host_ctx kestrel_host_ctx; /* opaque */

/* Value kinds, as kestrel_field_kind() reports them. */
enum {
  KESTREL_KIND_NULL = 0, /* absent field, explicit null, or an element out of range */
  KESTREL_KIND_BOOL = 1,
  KESTREL_KIND_INT = 2,  /* int64 */
  KESTREL_KIND_UINT = 3, /* uint64 above INT64_MAX */
  KESTREL_KIND_DOUBLE = 4,
  KESTREL_KIND_STRING = 5,
  KESTREL_KIND_IP = 6,
  KESTREL_KIND_ARRAY = 7,
  KESTREL_KIND_RAW_JSON = 8 /* nested JSON kept verbatim; not queryable */
};

#define KESTREL_WHOLE_FIELD INT32_MIN

/* Three-valued results. */
#define KESTREL_FALSE 0
#define KESTREL_TRUE 1
#define KESTREL_NULL (-1)

/* Comparison and matching operators of kestrel_string_match / kestrel_field_match /
 * kestrel_field_compare_*. EQ..GE are EQL's comparison operators; the others match a pattern. */
enum {
  KESTREL_OP_EQ = 0,
  KESTREL_OP_NE = 1,
  KESTREL_OP_LT = 2,
  KESTREL_OP_LE = 3,
  KESTREL_OP_GT = 4,
  KESTREL_OP_GE = 5,
  KESTREL_OP_WILDCARD = 8,     /* whole-string glob: `*` any run, `?` see FLAG_QUESTION_MARK */
  KESTREL_OP_REGEX = 9,        /* whole-string RE2 syntax */
  KESTREL_OP_STARTS_WITH = 10, /* pattern is a prefix */
  KESTREL_OP_ENDS_WITH = 11,   /* pattern is a suffix */
  KESTREL_OP_CONTAINS = 12     /* pattern occurs */
};
#define KESTREL_FLAG_CASE_INSENSITIVE 1u /* fold ASCII letters */
#define KESTREL_FLAG_QUESTION_MARK 2u    /* WILDCARD: `?` matches one byte */
#define KESTREL_FLAG_REVERSED 4u         /* EQ..GE: the constant is the left operand */

/* The version the host implements (KESTREL_HOST_API_VERSION of its build). */
uint32_t kestrel_host_api_version(void);

/* The FieldId of field `name` (e.g. "process.name") as this predicate's field arguments expect it,
 * or KESTREL_NO_FIELD when the rule set's schema has no such field. A string lookup: call it once
 * (first call, or load time) and keep the id, not once per event. */
#define KESTREL_NO_FIELD 0xFFFFFFFFu
uint32_t kestrel_field_id(const kestrel_host_ctx* ctx, const char* name, uint32_t name_len);

/* Typed reads. Each returns the zero value when the value is not of that kind. */
int32_t kestrel_field_kind(const kestrel_host_ctx* ctx, uint32_t field, int32_t index);
int64_t kestrel_field_i64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index);
/* INT >= 0 and UINT. */
uint64_t kestrel_field_u64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index);
/* INT, UINT and DOUBLE, converted to double. */
double kestrel_field_f64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index);
int32_t kestrel_field_bool(const kestrel_host_ctx* ctx, uint32_t field, int32_t index);
/* STRING (and RAW_JSON text): 1, with data and size set; else 0, with NULL and 0. */
int32_t kestrel_field_string(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                             const char** data, uint32_t* size);
/* IP: 4 or 6 and the 16 bytes in network order (IPv4 as ::ffff:a.b.c.d); else 0. */
int32_t kestrel_field_ip(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                         uint8_t out[16]);
/* Number of elements of an ARRAY field; -1 when the field is not an array. */
int32_t kestrel_field_array_len(const kestrel_host_ctx* ctx, uint32_t field);

/* `text op pattern` with the engine's semantics (EQL comparisons by bytes, globs, RE2 regexes,
 * ASCII case folding): TRUE or FALSE; NULL for an invalid regex or operator. */
int32_t kestrel_string_match(const kestrel_host_ctx* ctx, int32_t op, uint32_t flags,
                             const char* text, uint32_t text_len, const char* pattern,
                             uint32_t pattern_len);
/* The field's value `op` the string `pattern`, exactly as the engine evaluates it:
 * EQ..GE: EQL's comparison of the value with a string constant (arrays: any element for EQ, NE
 *   is its negation; an IP compares with a string that parses as an IP; null semantics of
 *   EQL's `==`).
 * WILDCARD, REGEX, STARTS_WITH, ENDS_WITH, CONTAINS: TRUE when the string, or any string
 *   element of an array, matches; NULL when the value is neither a string nor an array. */
int32_t kestrel_field_match(const kestrel_host_ctx* ctx, uint32_t field, int32_t index, int32_t op,
                            uint32_t flags, const char* pattern, uint32_t pattern_len);
/* The field's value `op` a numeric constant (EQ..GE), with EQL's number semantics. */
int32_t kestrel_field_compare_i64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                                  int32_t op, uint32_t flags, int64_t value);
int32_t kestrel_field_compare_f64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                                  int32_t op, uint32_t flags, double value);

/* Process lineage (Endgame `descendant of`, `child of`, `event of`): whether the current event
 * stands in the relation of node `node` of the rule's IR to a process that matched its
 * sub-query. TRUE/FALSE; NULL when the host has no process table. */
int32_t kestrel_lineage(const kestrel_host_ctx* ctx, uint32_t node);

/* For Kestrel's own code generators: the condition value of node `node` of the predicate's IR
 * (numbered in pre-order from 0, the predicate's root), evaluated by the engine. Lets generated
 * code hand constructs it does not translate back to the engine. NULL for an unknown node. */
int32_t kestrel_eval_node(const kestrel_host_ctx* ctx, uint32_t node);

/* Reports an error of the predicate: the runtime counts it for the rule and logs it (rate
 * limited). The predicate is false for this event. */
void kestrel_report_error(kestrel_host_ctx* ctx, int32_t code, const char* message,
                          uint32_t message_len);

#ifdef __cplusplus
}
#endif

#endif /* KESTREL_HOST_API_V1_H_ */
