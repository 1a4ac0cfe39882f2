;; Error contexts in wasm: what wasmtime's `error-context.new`, `error-context.debug-message`,
;; `error-context.drop` and FACT's `error-context-transfer` do
;; (`wasmtime/src/runtime/component/concurrent/futures_and_streams.rs`: `error_context_new`,
;; `error_context_debug_message`, `error_context_drop`, `error_context_transfer`), with the
;; same handle numbering and traps.
;;
;; An error context is its debug message, UTF-8 bytes in a `$bytes` array, held by a *rep*:
;; an index into `$messages` (the array as an `externref`), with its reference count in
;; `$counts` (the count of handles to it in every component instance's table, wasmtime's
;; `GlobalErrorContextRefCount`). A rep whose count falls to 0 lets its message go and joins
;; the free list: its count is then `-2 - next` (-1: the end). A handle is a slot of its
;; component instance's handle table (`resources.wat`), shared with resources and the async
;; ABI's waitables as in wasmtime (`Slot::ErrorContext`): kind 9, word 2 the rep.
;;
;; Memory 0 is the canonical options' memory of the built-in (`new`, `debug-message`);
;; `realloc` is theirs (`debug-message`), called as wasmtime's `LowerContext::realloc` does.
;;
;; Bound by the lowering: type 0 is runtime-structs' HANDLES, type 1 HANDLE_TABLE, type 2
;; BYTES, type 3 EXTERNS.
(module
  (type $handles (array (mut i32)))
  (type $table (struct (field $slots (mut (ref $handles))) (field $next (mut i32))
                       (field $len (mut i32))))
  (type $bytes (array (mut i8)))
  (type $externs (array (mut externref)))

  ;; Component instance -> its handle table; error-context table type -> its component
  ;; instance.
  (import "env" "table-of" (func $table_of (param i32) (result (ref $table))))
  (import "env" "instance-of" (func $instance_of (param i32) (result i32)))
  ;; The resources template's slot operations.
  (import "env" "slot" (func $slot (param (ref $table) i32) (result i32)))
  (import "env" "word" (func $word (param (ref $table) i32 i32) (result i32)))
  (import "env" "insert" (func $insert (param (ref $table) i32 i32 i32 i32) (result i32)))
  (import "env" "remove" (func $remove (param (ref $table) i32 i32)))
  ;; The options' `realloc (old ptr, old size, align, new size) -> ptr`.
  (import "env" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
  (import "env" "messages" (global $messages (mut (ref $externs))))
  (import "env" "counts" (global $counts (mut (ref $handles))))
  (import "env" "num-reps" (global $num (mut i32)))
  (import "env" "free-rep" (global $free (mut i32)))
  (memory 0)

  ;; The traps, named for wasmtime's messages.
  (func $not_error_context (export "trap:handle-is-not-an-error-context") unreachable)
  (func $string_bounds (export "trap:string-pointer-or-length-out-of-bounds-of-memory")
    unreachable)
  (func $realloc_bounds (export "trap:realloc-return-beyond-end-of-memory") unreachable)
  (func $too_large (export "trap:too-large-to-copy-into-wasm") unreachable)
;; UTF8_CHECK

  ;; The slot of error context `h` in table `t`; traps unless `h` is one.
  (func $error_context_slot (param $t (ref $table)) (param $h i32) (result i32)
    (local $s i32)
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 9))
      (then (call $not_error_context)))
    (local.get $s))

  ;; A new rep holding `msg`, its count 1.
  (func $alloc (param $msg (ref $bytes)) (result i32)
    (local $rep i32) (local $len i32) (local $counts (ref $handles))
    (local $messages (ref $externs))
    (if (i32.ge_s (global.get $free) (i32.const 0))
      (then
        (local.set $rep (global.get $free))
        (global.set $free (i32.sub (i32.const -2)
          (array.get $handles (global.get $counts) (local.get $rep)))))
      (else
        (local.set $rep (global.get $num))
        (if (i32.ge_u (local.get $rep) (array.len (global.get $counts)))
          (then
            (local.set $len (i32.add (i32.shl (local.get $rep) (i32.const 1)) (i32.const 4)))
            (local.set $counts (array.new_default $handles (local.get $len)))
            (array.copy $handles $handles (local.get $counts) (i32.const 0)
              (global.get $counts) (i32.const 0) (local.get $rep))
            (global.set $counts (local.get $counts))
            (local.set $messages (array.new_default $externs (local.get $len)))
            (array.copy $externs $externs (local.get $messages) (i32.const 0)
              (global.get $messages) (i32.const 0) (local.get $rep))
            (global.set $messages (local.get $messages))))
        (global.set $num (i32.add (local.get $rep) (i32.const 1)))))
    (array.set $handles (global.get $counts) (local.get $rep) (i32.const 1))
    (array.set $externs (global.get $messages) (local.get $rep)
      (extern.convert_any (local.get $msg)))
    (local.get $rep))

  ;; Drops one reference to `rep`: at none, its message goes and the rep is free.
  (func $release (param $rep i32)
    (local $count i32)
    (local.set $count
      (i32.sub (array.get $handles (global.get $counts) (local.get $rep)) (i32.const 1)))
    (array.set $handles (global.get $counts) (local.get $rep) (local.get $count))
    (if (i32.eqz (local.get $count))
      (then
        (array.set $externs (global.get $messages) (local.get $rep) (ref.null extern))
        (array.set $handles (global.get $counts) (local.get $rep)
          (i32.sub (i32.const -2) (global.get $free)))
        (global.set $free (local.get $rep)))))

  ;; error-context.new (table, ptr, len) -> handle: the `len` bytes at `ptr` (UTF-8) as the
  ;; debug message, lifted as wasmtime's `WasmStr::new` and `to_str` lift a string.
  (func (export "new") (param $t (ref $table)) (param $p i32) (param $n i32) (result i32)
    (local $msg (ref $bytes)) (local $i i32)
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $n)))
          (i64.const 0xffff_ffff))
      (then (call $string_bounds)))
    (if (local.get $n)
      (then (drop (i32.load8_u 0
        (i32.sub (i32.add (local.get $p) (local.get $n)) (i32.const 1)))))
      (else (if (local.get $p)
        (then (drop (i32.load8_u 0 (i32.sub (local.get $p) (i32.const 1))))))))
    (call $utf8 (local.get $p) (local.get $n))
    (local.set $msg (array.new_default $bytes (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (array.set $bytes (local.get $msg) (local.get $i)
          (i32.load8_u 0 (i32.add (local.get $p) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $insert (local.get $t) (i32.const 9) (i32.const 0) (call $alloc (local.get $msg))
      (i32.const 0)))

  ;; error-context.debug-message (table, handle, ptr): the message lowered as a string
  ;; (wasmtime's `lower_string`, UTF-8: at most 2^31 - 1 bytes, `realloc(0, 0, 1, len)` and
  ;; a copy), its pointer and length stored at `ptr`, whose 8 bytes are checked first.
  (func (export "debug-message") (param $t (ref $table)) (param $h i32) (param $ret i32)
    (local $msg (ref $bytes)) (local $n i32) (local $q i32) (local $i i32)
    (local.set $msg (ref.cast (ref $bytes) (any.convert_extern
      (array.get $externs (global.get $messages)
        (call $word (local.get $t) (call $error_context_slot (local.get $t) (local.get $h))
          (i32.const 2))))))
    ;; "invalid debug message pointer: out of bounds"
    (drop (i32.load8_u 0 offset=7 (local.get $ret)))
    (local.set $n (array.len (local.get $msg)))
    ;; `MAX_STRING_BYTE_LENGTH`: "string length of {n} too large to copy into wasm"
    (if (i32.gt_u (local.get $n) (i32.const 0x7fff_ffff)) (then (call $too_large)))
    (local.set $q (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $n)))
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $q)) (i64.extend_i32_u (local.get $n)))
          (i64.const 0xffff_ffff))
      (then (call $realloc_bounds)))
    (if (local.get $n)
      (then (drop (i32.load8_u 0
        (i32.sub (i32.add (local.get $q) (local.get $n)) (i32.const 1)))))
      (else (if (local.get $q)
        (then (drop (i32.load8_u 0 (i32.sub (local.get $q) (i32.const 1))))))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 0 (i32.add (local.get $q) (local.get $i))
          (array.get_u $bytes (local.get $msg) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store 0 (local.get $ret) (local.get $q))
    (i32.store 0 offset=4 (local.get $ret) (local.get $n)))

  ;; error-context.drop (table, handle).
  (func (export "drop") (param $t (ref $table)) (param $h i32)
    (local $s i32) (local $rep i32)
    (local.set $s (call $error_context_slot (local.get $t) (local.get $h)))
    (local.set $rep (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (call $remove (local.get $t) (local.get $h) (local.get $s))
    (call $release (local.get $rep)))

  ;; error-context-transfer (handle, src ty, dst ty) -> handle in the destination table: one
  ;; more reference to the same error context (the source keeps its handle).
  (func (export "transfer") (param $h i32) (param $src i32) (param $dst i32) (result i32)
    (local $t (ref $table)) (local $rep i32)
    (local.set $t (call $table_of (call $instance_of (local.get $src))))
    (local.set $rep (call $word (local.get $t)
      (call $error_context_slot (local.get $t) (local.get $h)) (i32.const 2)))
    (local.set $h (call $insert (call $table_of (call $instance_of (local.get $dst)))
      (i32.const 9) (i32.const 0) (local.get $rep) (i32.const 0)))
    (array.set $handles (global.get $counts) (local.get $rep)
      (i32.add (array.get $handles (global.get $counts) (local.get $rep)) (i32.const 1)))
    (local.get $h))
)
