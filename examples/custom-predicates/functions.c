// Custom functions for Kestrel's Wasm runtime, in C with no C library: EQL calls
// `has_b64_token(s)`, which runs the export `kestrel_fn_has_b64_token` (docs/host-api.md, "Custom
// functions in Wasm"). A Wasm module's exports do not say which i32 pairs are strings, so the
// functions are declared when the package is built:
//   kestrel compile RULES --target wasm --functions functions.wasm \
//       --function 'has_b64_token(string) -> bool' -o PKG
//
// Build (Debian: clang, lld):
//   clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--initial-memory=131072 \
//     -Wl,--max-memory=131072 -o functions.wasm functions.c

#define KESTREL_EXPORT(name) __attribute__((export_name(name)))

// String arguments are copied here by Kestrel before each call (kestrel_scratch gives the place).
static char scratch[32768];

KESTREL_EXPORT("kestrel_api_version") int kestrel_api_version(void) { return 1; }

// Where Kestrel may copy `size` bytes of arguments; -1 when they do not fit (the call then fails
// and the function is null for that event).
KESTREL_EXPORT("kestrel_scratch") char* kestrel_scratch(int size) {
  return size >= 0 && size <= (int)sizeof scratch ? scratch : (char*)-1;
}

static int is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// has_b64_token(string) -> bool: a run of at least 32 base64 characters that mixes upper-case
// letters, lower-case letters and digits.
KESTREL_EXPORT("kestrel_fn_has_b64_token") int has_b64_token(const char* s, int n) {
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
