// A user-written predicate for Kestrel's Wasm runtime (Host API v1, docs/host-api.md), in C with
// no C library: true when a process argument holds a run of at least 32 base64 characters that
// mixes upper-case letters, lower-case letters and digits.
//
// Build (Debian: clang, lld):
//   clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--initial-memory=131072 \
//     -Wl,--max-memory=131072 -o predicate.wasm predicate.c
// Kestrel refuses a module whose memory has no maximum or one above 16 pages.

#define KESTREL_IMPORT(name) __attribute__((import_module("kestrel"), import_name(name)))
#define KESTREL_EXPORT(name) __attribute__((export_name(name)))

KESTREL_IMPORT("field_id") int field_id(const char* name, int len);
KESTREL_IMPORT("field_array_len") int field_array_len(int field);
KESTREL_IMPORT("field_string") int field_string(int field, int index, char* out, int capacity);

#define WHOLE_FIELD (-2147483647 - 1)
#define NO_FIELD (-1)

static char buffer[4096];
static int args_field = -2;  // -2: not looked up yet

static int is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

static int has_token(const char* s, int n) {
  int run = 0, upper = 0, lower = 0, digit = 0;
  for (int i = 0; i <= n; ++i) {
    char c = i < n ? s[i] : ' ';
    if (is_b64(c)) {
      ++run;
      upper |= c >= 'A' && c <= 'Z';
      lower |= c >= 'a' && c <= 'z';
      digit |= c >= '0' && c <= '9';
      continue;
    }
    if (run >= 32 && upper && lower && digit) return 1;
    run = upper = lower = digit = 0;
  }
  return 0;
}

static int check(int index) {
  int len = field_string(args_field, index, buffer, sizeof buffer);
  if (len < 0) return -1;
  if (len > (int)sizeof buffer) len = sizeof buffer;
  return has_token(buffer, len);
}

KESTREL_EXPORT("kestrel_api_version") int kestrel_api_version(void) { return 1; }

KESTREL_EXPORT("kestrel_predicate_v1") int kestrel_predicate_v1(int stage) {
  (void)stage;
  if (args_field == -2) args_field = field_id("process.args", 12);
  if (args_field == NO_FIELD) return -1;
  int n = field_array_len(args_field);
  if (n < 0) return check(WHOLE_FIELD);
  for (int i = 0; i < n; ++i) {
    if (check(i) == 1) return 1;
  }
  return 0;
}
