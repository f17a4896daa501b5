(module
  (import "kestrel" "field_id" (func $field_id (param i32 i32) (result i32)))
  (import "kestrel" "field_i64" (func $field_i64 (param i32 i32) (result i64)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "/tmp/process.pid")
  (func (export "kestrel_api_version") (result i32) i32.const 1)
  ;; the argument buffer: 1024.., at most 32 KiB
  (func (export "kestrel_scratch") (param $n i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $n) (i32.const 32768))
      (then (i32.const -1)) (else (i32.const 1024))))
  ;; is_tmp(string) -> bool: starts with /tmp/
  (func (export "kestrel_fn_is_tmp") (param $p i32) (param $n i32) (result i32)
    (if (i32.lt_u (local.get $n) (i32.const 5)) (then (return (i32.const 0))))
    (i32.and
      (i32.eq (i32.load (local.get $p)) (i32.load (i32.const 0)))
      (i32.eq (i32.load8_u offset=4 (local.get $p)) (i32.load8_u (i32.const 4)))))
  ;; twice(number) -> number
  (func (export "kestrel_fn_twice") (param $x f64) (result f64)
    (f64.add (local.get $x) (local.get $x)))
  ;; basename(string) -> string: the bytes after the last '/'
  (func (export "kestrel_fn_basename") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $i (local.get $end))
    (block $done
      (loop $back
        (br_if $done (i32.le_u (local.get $i) (local.get $p)))
        (br_if $done (i32.eq (i32.load8_u (i32.sub (local.get $i) (i32.const 1))) (i32.const 47)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $back)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $i)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (local.get $end) (local.get $i)))))
  ;; pid_plus(number) -> number: process.pid of the current event (Host API) plus x
  (func (export "kestrel_fn_pid_plus") (param $x f64) (result f64)
    (f64.add (local.get $x)
      (f64.convert_i64_s (call $field_i64 (call $field_id (i32.const 5) (i32.const 11)) (i32.const -2147483648)))))
  ;; spin(number) -> bool: never returns
  (func (export "kestrel_fn_spin") (param f64) (result i32)
    (loop $l (br $l)) (i32.const 0))
  ;; oob(bool) -> bool: reads outside its memory
  (func (export "kestrel_fn_oob") (param i32) (result i32)
    (i32.load8_u (i32.const 70000)))
  ;; bad_string() -> string: a string outside the memory
  (func (export "kestrel_fn_bad_string") (result i64) (i64.const 0x7fff000000000010))
)
