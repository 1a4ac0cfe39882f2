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
;; ABI's waitables as in wasmtime (`Slot::ErrorContext`): kind 9, word 2 the rep. A rep may
;; also stand for a host error context at the host boundary (`host-transfer`): its handle in
;; `$host_handles`, dropped with the rep.
;;
;; Memory 0 is the canonical options' memory of the built-in (`new`, `debug-message`);
;; `realloc` is theirs (`debug-message`), called as wasmtime's `LowerContext::realloc` does.
;; The message is kept in UTF-8; `new-utf16`, `new-compact`, `debug-message-utf16` and
;; `debug-message-compact` are the two built-ins for options naming UTF-16 and
;; latin1+UTF-16 (`lift` and `lower_string` in `wasmtime/src/runtime/component/func/typed.rs`).
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
  ;; The guest core ABI's `[error-context-drop]` of the host (a function that is never
  ;; called when no error context crosses the host boundary).
  (import "env" "host-drop" (func $host_drop (param i32)))
  ;; The exchange module's count of reps lent to the host (`$lent-reps`), read and set (never
  ;; called when no error context crosses the host boundary).
  (import "env" "lent" (func $lent (result i32)))
  (import "env" "set-lent" (func $set_lent (param i32)))
  ;; The options' `realloc (old ptr, old size, align, new size) -> ptr`.
  (import "env" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
  ;; The host's `[error-context-new-utf8] (ptr, len) -> handle` and
  ;; `[error-context-debug-message-utf8] (handle, ret)`, over memory 0 and `realloc`.
  (import "env" "host-new" (func $host_new (param i32 i32) (result i32)))
  (import "env" "host-debug-message" (func $host_debug_message (param i32 i32)))
  (import "env" "messages" (global $messages (mut (ref $externs))))
  (import "env" "counts" (global $counts (mut (ref $handles))))
  (import "env" "num-reps" (global $num (mut i32)))
  (import "env" "free-rep" (global $free (mut i32)))
  ;; Rep -> the host's handle to the host error context that stands for it, 0 for none.
  (import "env" "host-handles" (global $host_handles (mut (ref $handles))))
  ;; The reps lent to the host, the first `lent ()` of them: each holds one count until the
  ;; host's call is over (`host-settle`).
  (import "env" "lent-reps" (global $lent_reps (mut (ref $handles))))
  (memory 0)

  ;; The traps, named for wasmtime's messages.
  (func $not_error_context (export "trap:handle-is-not-an-error-context") unreachable)
  (func $string_bounds (export "trap:string-pointer-or-length-out-of-bounds-of-memory")
    unreachable)
  (func $realloc_bounds (export "trap:realloc-return-beyond-end-of-memory") unreachable)
  (func $too_large (export "trap:too-large-to-copy-into-wasm") unreachable)
  (func $string_unaligned (export "trap:string-pointer-not-aligned-to-2") unreachable)
  (func $realloc_unaligned (export "trap:realloc-return-result-not-aligned") unreachable)
  (func $byte_length (export "trap:byte-length-too-large") unreachable)
;; UTF8_CHECK
;; UTF16_DECODE

  ;; Traps unless the `n` bytes at `p` lie within memory 0 (`trap` when `p + n` passes
  ;; 4 GiB): touches the last of them, or for none the byte before `p` (`p` may be the
  ;; memory's size).
  (func $within (param $p i32) (param $n i64) (param $trap i32)
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $p)) (local.get $n))
          (i64.const 0x1_0000_0000))
      (then
        (if (local.get $trap) (then (call $realloc_bounds)) (else (call $string_bounds)))))
    (if (i64.ne (local.get $n) (i64.const 0))
      (then (drop (i32.load8_u 0
        (i32.sub (i32.add (local.get $p) (i32.wrap_i64 (local.get $n))) (i32.const 1)))))
      (else (if (local.get $p)
        (then (drop (i32.load8_u 0 (i32.sub (local.get $p) (i32.const 1)))))))))

  ;; The options' `realloc (old, old size, align, size)`, its result checked as wasmtime's
  ;; `LowerContext::realloc` checks it: aligned, and `size` bytes within memory 0.
  (func $realloc_checked (param $old i32) (param $old_size i32) (param $align i32)
    (param $size i32) (result i32)
    (local $q i32)
    (local.set $q (call $realloc (local.get $old) (local.get $old_size) (local.get $align)
      (local.get $size)))
    (if (i32.and (local.get $q) (i32.sub (local.get $align) (i32.const 1)))
      (then (call $realloc_unaligned)))
    (call $within (local.get $q) (i64.extend_i32_u (local.get $size)) (i32.const 1))
    (local.get $q))

  ;; Writes code point `c` into `msg` at `j` as UTF-8; returns the index after it.
  (func $put_utf8 (param $msg (ref $bytes)) (param $j i32) (param $c i32) (result i32)
    (if (i32.lt_u (local.get $c) (i32.const 0x80))
      (then
        (array.set $bytes (local.get $msg) (local.get $j) (local.get $c))
        (return (i32.add (local.get $j) (i32.const 1)))))
    (if (i32.lt_u (local.get $c) (i32.const 0x800))
      (then
        (array.set $bytes (local.get $msg) (local.get $j)
          (i32.or (i32.const 0xc0) (i32.shr_u (local.get $c) (i32.const 6))))
        (array.set $bytes (local.get $msg) (i32.add (local.get $j) (i32.const 1))
          (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
        (return (i32.add (local.get $j) (i32.const 2)))))
    (if (i32.lt_u (local.get $c) (i32.const 0x10000))
      (then
        (array.set $bytes (local.get $msg) (local.get $j)
          (i32.or (i32.const 0xe0) (i32.shr_u (local.get $c) (i32.const 12))))
        (array.set $bytes (local.get $msg) (i32.add (local.get $j) (i32.const 1))
          (i32.or (i32.const 0x80)
            (i32.and (i32.shr_u (local.get $c) (i32.const 6)) (i32.const 0x3f))))
        (array.set $bytes (local.get $msg) (i32.add (local.get $j) (i32.const 2))
          (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
        (return (i32.add (local.get $j) (i32.const 3)))))
    (array.set $bytes (local.get $msg) (local.get $j)
      (i32.or (i32.const 0xf0) (i32.shr_u (local.get $c) (i32.const 18))))
    (array.set $bytes (local.get $msg) (i32.add (local.get $j) (i32.const 1))
      (i32.or (i32.const 0x80)
        (i32.and (i32.shr_u (local.get $c) (i32.const 12)) (i32.const 0x3f))))
    (array.set $bytes (local.get $msg) (i32.add (local.get $j) (i32.const 2))
      (i32.or (i32.const 0x80)
        (i32.and (i32.shr_u (local.get $c) (i32.const 6)) (i32.const 0x3f))))
    (array.set $bytes (local.get $msg) (i32.add (local.get $j) (i32.const 3))
      (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
    (i32.add (local.get $j) (i32.const 4)))

  ;; The code point of the (valid) UTF-8 sequence of `msg` at `k`, and its length in bytes
  ;; above bit 21 (`c | len << 21`).
  (func $get_utf8 (param $msg (ref $bytes)) (param $k i32) (result i32)
    (local $b i32) (local $c i32) (local $more i32) (local $i i32)
    (local.set $b (array.get_u $bytes (local.get $msg) (local.get $k)))
    (if (i32.lt_u (local.get $b) (i32.const 0x80))
      (then (return (i32.or (local.get $b) (i32.const 0x20_0000)))))
    (if (i32.lt_u (local.get $b) (i32.const 0xe0))
      (then
        (local.set $c (i32.and (local.get $b) (i32.const 0x1f)))
        (local.set $more (i32.const 1)))
      (else (if (i32.lt_u (local.get $b) (i32.const 0xf0))
        (then
          (local.set $c (i32.and (local.get $b) (i32.const 0x0f)))
          (local.set $more (i32.const 2)))
        (else
          (local.set $c (i32.and (local.get $b) (i32.const 0x07)))
          (local.set $more (i32.const 3))))))
    (local.set $i (i32.const 1))
    (block $done
      (loop $each
        (br_if $done (i32.gt_u (local.get $i) (local.get $more)))
        (local.set $c (i32.or (i32.shl (local.get $c) (i32.const 6))
          (i32.and (array.get_u $bytes (local.get $msg) (i32.add (local.get $k) (local.get $i)))
            (i32.const 0x3f))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.or (local.get $c) (i32.shl (local.get $i) (i32.const 21))))

  ;; Writes code point `c` as UTF-16 at unit `j` of the units at `q` (memory 0); returns the
  ;; unit after it.
  (func $put_utf16 (param $q i32) (param $j i32) (param $c i32) (result i32)
    (local $at i32)
    (local.set $at (i32.add (local.get $q) (i32.shl (local.get $j) (i32.const 1))))
    (if (i32.lt_u (local.get $c) (i32.const 0x10000))
      (then
        (i32.store16 0 (local.get $at) (local.get $c))
        (return (i32.add (local.get $j) (i32.const 1)))))
    (local.set $c (i32.sub (local.get $c) (i32.const 0x10000)))
    (i32.store16 0 (local.get $at)
      (i32.or (i32.const 0xd800) (i32.shr_u (local.get $c) (i32.const 10))))
    (i32.store16 0 offset=2 (local.get $at)
      (i32.or (i32.const 0xdc00) (i32.and (local.get $c) (i32.const 0x3ff))))
    (i32.add (local.get $j) (i32.const 2)))

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
            (global.set $messages (local.get $messages))
            (local.set $counts (array.new_default $handles (local.get $len)))
            (array.copy $handles $handles (local.get $counts) (i32.const 0)
              (global.get $host_handles) (i32.const 0) (local.get $rep))
            (global.set $host_handles (local.get $counts))))
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
        (if (array.get $handles (global.get $host_handles) (local.get $rep))
          (then
            (call $host_drop (array.get $handles (global.get $host_handles) (local.get $rep)))
            (array.set $handles (global.get $host_handles) (local.get $rep) (i32.const 0))))
        (array.set $externs (global.get $messages) (local.get $rep) (ref.null extern))
        (array.set $handles (global.get $counts) (local.get $rep)
          (i32.sub (i32.const -2) (global.get $free)))
        (global.set $free (local.get $rep)))))

  ;; error-context.new (table, ptr, len) -> handle: the `len` bytes at `ptr` (UTF-8) as the
  ;; debug message, lifted as wasmtime's `WasmStr::new` and `to_str` lift a string.
  (func (export "new") (param $t (ref $table)) (param $p i32) (param $n i32) (result i32)
    (call $within (local.get $p) (i64.extend_i32_u (local.get $n)) (i32.const 0))
    (call $utf8 (local.get $p) (local.get $n))
    (call $insert_message (local.get $t) (call $bytes_of (local.get $p) (local.get $n))))

  ;; The `n` bytes at `p` of memory 0 (within it) as a new byte array.
  (func $bytes_of (param $p i32) (param $n i32) (result (ref $bytes))
    (local $msg (ref $bytes)) (local $i i32)
    (local.set $msg (array.new_default $bytes (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (array.set $bytes (local.get $msg) (local.get $i)
          (i32.load8_u 0 (i32.add (local.get $p) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $msg))

  ;; Stores the bytes of `msg` at `q` of memory 0 (within it).
  (func $put_bytes (param $msg (ref $bytes)) (param $q i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $msg))))
        (i32.store8 0 (i32.add (local.get $q) (local.get $i))
          (array.get_u $bytes (local.get $msg) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; A new error context in table `t` holding `msg`.
  (func $insert_message (param $t (ref $table)) (param $msg (ref $bytes)) (result i32)
    (call $insert (local.get $t) (i32.const 9) (i32.const 0) (call $alloc (local.get $msg))
      (i32.const 0)))

  ;; error-context.new with UTF-16 options (table, ptr, units): the `units` code units at
  ;; `ptr`, lifted as `WasmStr::new` and `decode_utf16` lift a string (`ptr` aligned to 2,
  ;; in bounds, no unpaired surrogate).
  (func $new_utf16 (export "new-utf16") (param $t (ref $table)) (param $p i32) (param $n i32)
    (result i32)
    (local $i i32) (local $c i32) (local $len i64) (local $msg (ref $bytes)) (local $j i32)
    (if (i32.and (local.get $p) (i32.const 1)) (then (call $string_unaligned)))
    (call $within (local.get $p) (i64.shl (i64.extend_i32_u (local.get $n)) (i64.const 1))
      (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (call $get_utf16 (local.get $p) (local.get $i) (local.get $n)))
        (local.set $len (i64.add (local.get $len) (i64.extend_i32_u
          (call $utf8_len (i32.and (local.get $c) (i32.const 0x1f_ffff))))))
        (local.set $i (i32.add (local.get $i) (i32.shr_u (local.get $c) (i32.const 21))))
        (br $each)))
    ;; A message kept in UTF-8 holds at most `MAX_STRING_BYTE_LENGTH` bytes.
    (if (i64.gt_u (local.get $len) (i64.const 0x7fff_ffff)) (then (call $too_large)))
    (local.set $msg (array.new_default $bytes (i32.wrap_i64 (local.get $len))))
    (local.set $i (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (call $get_utf16 (local.get $p) (local.get $i) (local.get $n)))
        (local.set $j (call $put_utf8 (local.get $msg) (local.get $j)
          (i32.and (local.get $c) (i32.const 0x1f_ffff))))
        (local.set $i (i32.add (local.get $i) (i32.shr_u (local.get $c) (i32.const 21))))
        (br $each)))
    (call $insert_message (local.get $t) (local.get $msg)))

  ;; error-context.new with latin1+UTF-16 options (table, ptr, len): UTF-16 of `len ^ 2^31`
  ;; units when bit 31 is set, else `len` latin1 bytes (`ptr` aligned to 2 either way).
  (func (export "new-compact") (param $t (ref $table)) (param $p i32) (param $n i32)
    (result i32)
    (local $i i32) (local $b i32) (local $len i32) (local $msg (ref $bytes)) (local $j i32)
    (if (i32.lt_s (local.get $n) (i32.const 0))
      (then (return (call $new_utf16 (local.get $t) (local.get $p)
        (i32.xor (local.get $n) (i32.const 0x8000_0000))))))
    (if (i32.and (local.get $p) (i32.const 1)) (then (call $string_unaligned)))
    (call $within (local.get $p) (i64.extend_i32_u (local.get $n)) (i32.const 0))
    (local.set $len (local.get $n))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ge_u (i32.load8_u 0 (i32.add (local.get $p) (local.get $i))) (i32.const 0x80))
          (then (local.set $len (i32.add (local.get $len) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    ;; Each byte from 0x80 takes two in UTF-8 (`len` at most 2^32 - 2): a message kept in
    ;; UTF-8 holds at most `MAX_STRING_BYTE_LENGTH` bytes.
    (if (i32.gt_u (local.get $len) (i32.const 0x7fff_ffff)) (then (call $too_large)))
    (local.set $msg (array.new_default $bytes (local.get $len)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (call $put_utf8 (local.get $msg) (local.get $j)
          (i32.load8_u 0 (i32.add (local.get $p) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $insert_message (local.get $t) (local.get $msg)))

  ;; The message of error context `h` of table `t`, after the check that `ret`'s 8 bytes
  ;; are in bounds ("invalid debug message pointer: out of bounds").
  (func $message_of (param $t (ref $table)) (param $h i32) (param $ret i32) (result (ref $bytes))
    (local $msg (ref $bytes))
    (local.set $msg (ref.cast (ref $bytes) (any.convert_extern
      (array.get $externs (global.get $messages)
        (call $word (local.get $t) (call $error_context_slot (local.get $t) (local.get $h))
          (i32.const 2))))))
    (drop (i32.load8_u 0 offset=7 (local.get $ret)))
    (local.get $msg))

  ;; error-context.debug-message with UTF-16 options (table, handle, ptr): the message
  ;; lowered as wasmtime's `lower_string` lowers UTF-16: `realloc(0, 0, 2, 2 * bytes)`, the
  ;; units, and `realloc(ptr, 2 * bytes, 2, 2 * units)` when fewer were needed.
  (func (export "debug-message-utf16") (param $t (ref $table)) (param $h i32) (param $ret i32)
    (local $msg (ref $bytes)) (local $n i32) (local $size i32) (local $q i32) (local $k i32)
    (local $c i32) (local $units i32)
    (local.set $msg (call $message_of (local.get $t) (local.get $h) (local.get $ret)))
    (local.set $n (array.len (local.get $msg)))
    (if (i32.gt_u (local.get $n) (i32.const 0x3fff_ffff)) (then (call $too_large)))
    (local.set $size (i32.shl (local.get $n) (i32.const 1)))
    (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 2)
      (local.get $size)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $c (call $get_utf8 (local.get $msg) (local.get $k)))
        (local.set $units (call $put_utf16 (local.get $q) (local.get $units)
          (i32.and (local.get $c) (i32.const 0x1f_ffff))))
        (local.set $k (i32.add (local.get $k) (i32.shr_u (local.get $c) (i32.const 21))))
        (br $each)))
    (if (i32.lt_u (i32.shl (local.get $units) (i32.const 1)) (local.get $size))
      (then (local.set $q (call $realloc_checked (local.get $q) (local.get $size) (i32.const 2)
        (i32.shl (local.get $units) (i32.const 1))))))
    (i32.store 0 (local.get $ret) (local.get $q))
    (i32.store 0 offset=4 (local.get $ret) (local.get $units)))

  ;; error-context.debug-message with latin1+UTF-16 options (table, handle, ptr): as
  ;; wasmtime's `lower_string` lowers latin1+UTF-16: `realloc(0, 0, 2, bytes)` and latin1
  ;; while every code point fits a byte, shrunk with `realloc(ptr, bytes, 2, len)` when
  ;; shorter; at the first that does not, `realloc(ptr, bytes, 2, 2 * bytes)`, the latin1 so
  ;; far widened to UTF-16, the rest in UTF-16, shrunk to the units written, and the length
  ;; tagged with bit 31.
  (func (export "debug-message-compact") (param $t (ref $table)) (param $h i32)
    (param $ret i32)
    (local $msg (ref $bytes)) (local $n i32) (local $q i32) (local $k i32) (local $c i32)
    (local $len i32) (local $worst i32) (local $i i32)
    (local.set $msg (call $message_of (local.get $t) (local.get $h) (local.get $ret)))
    (local.set $n (array.len (local.get $msg)))
    (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 2)
      (local.get $n)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $c (call $get_utf8 (local.get $msg) (local.get $k)))
        (if (i32.lt_u (i32.and (local.get $c) (i32.const 0x1f_ffff)) (i32.const 0x100))
          (then
            (i32.store8 0 (i32.add (local.get $q) (local.get $len)) (local.get $c))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (local.set $k (i32.add (local.get $k) (i32.shr_u (local.get $c) (i32.const 21))))
            (br $each)))
        ;; UTF-16 from here: the worst case, the latin1 so far widened (last first), then
        ;; the rest.
        (if (i32.gt_u (local.get $n) (i32.const 0x3fff_ffff)) (then (call $byte_length)))
        (local.set $worst (i32.shl (local.get $n) (i32.const 1)))
        (local.set $q (call $realloc_checked (local.get $q) (local.get $n) (i32.const 2)
          (local.get $worst)))
        (local.set $i (local.get $len))
        (block $widened
          (loop $widen
            (br_if $widened (i32.eqz (local.get $i)))
            (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (i32.store16 0 (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 1)))
              (i32.load8_u 0 (i32.add (local.get $q) (local.get $i))))
            (br $widen)))
        (block $rest
          (loop $next
            (br_if $rest (i32.ge_u (local.get $k) (local.get $n)))
            (local.set $c (call $get_utf8 (local.get $msg) (local.get $k)))
            (local.set $len (call $put_utf16 (local.get $q) (local.get $len)
              (i32.and (local.get $c) (i32.const 0x1f_ffff))))
            (local.set $k (i32.add (local.get $k) (i32.shr_u (local.get $c) (i32.const 21))))
            (br $next)))
        (if (i32.gt_u (local.get $worst) (i32.shl (local.get $len) (i32.const 1)))
          (then (local.set $q (call $realloc_checked (local.get $q) (local.get $worst) (i32.const 2)
            (i32.shl (local.get $len) (i32.const 1))))))
        (i32.store 0 (local.get $ret) (local.get $q))
        (i32.store 0 offset=4 (local.get $ret)
          (i32.or (local.get $len) (i32.const 0x8000_0000)))
        (return)))
    (if (i32.lt_u (local.get $len) (local.get $n))
      (then (local.set $q (call $realloc_checked (local.get $q) (local.get $n) (i32.const 2)
        (local.get $len)))))
    (i32.store 0 (local.get $ret) (local.get $q))
    (i32.store 0 offset=4 (local.get $ret) (local.get $len)))

  ;; error-context.debug-message (table, handle, ptr): the message lowered as a string
  ;; (wasmtime's `lower_string`, UTF-8: at most 2^31 - 1 bytes, `realloc(0, 0, 1, len)` and
  ;; a copy), its pointer and length stored at `ptr`, whose 8 bytes are checked first.
  (func (export "debug-message") (param $t (ref $table)) (param $h i32) (param $ret i32)
    (local $msg (ref $bytes)) (local $n i32) (local $q i32)
    (local.set $msg (call $message_of (local.get $t) (local.get $h) (local.get $ret)))
    (local.set $n (array.len (local.get $msg)))
    ;; `MAX_STRING_BYTE_LENGTH`: "string length of {n} too large to copy into wasm"
    (if (i32.gt_u (local.get $n) (i32.const 0x7fff_ffff)) (then (call $too_large)))
    (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 1)
      (local.get $n)))
    (call $put_bytes (local.get $msg) (local.get $q))
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
;; host-transfer (handle, src ty, dst ty, host instance) -> handle: FACT's
  ;; error-context-transfer across the host boundary, where `host instance` is the host
  ;; adapters' host side. Out (the destination is the host's): the host error context that
  ;; stands for the source's, made once per rep with `[error-context-new-utf8]` from its
  ;; message written into memory 0, and dropped with the rep; the rep is lent to the host (one
  ;; more count) until the host's call is over, as wasmtime reads the handle after the
  ;; component's code has run on (an `async` export's `task.return`). In: a new rep with the
  ;; host error context's message (`[error-context-debug-message-utf8]`), which keeps the
  ;; host's handle until it goes, so that the host's error context lives as long as the output
  ;; holds it, as it would in the component.
  (func (export "host-transfer") (param $h i32) (param $src i32) (param $dst i32)
    (param $host i32) (result i32)
    (local $t (ref $table)) (local $rep i32) (local $msg (ref $bytes)) (local $n i32)
    (local $q i32) (local $hh i32)
    (if (i32.eq (call $instance_of (local.get $dst)) (local.get $host))
      (then
        (local.set $t (call $table_of (call $instance_of (local.get $src))))
        (local.set $rep (call $word (local.get $t)
          (call $error_context_slot (local.get $t) (local.get $h)) (i32.const 2)))
        (call $lend (local.get $rep))
        (local.set $hh (array.get $handles (global.get $host_handles) (local.get $rep)))
        (if (local.get $hh) (then (return (local.get $hh))))
        (local.set $msg (ref.cast (ref $bytes) (any.convert_extern
          (array.get $externs (global.get $messages) (local.get $rep)))))
        (local.set $n (array.len (local.get $msg)))
        (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 1)
          (local.get $n)))
        (call $put_bytes (local.get $msg) (local.get $q))
        (local.set $hh (call $host_new (local.get $q) (local.get $n)))
        (array.set $handles (global.get $host_handles) (local.get $rep) (local.get $hh))
        (return (local.get $hh))))
    (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 4)
      (i32.const 8)))
    (call $host_debug_message (local.get $h) (local.get $q))
    (local.set $n (i32.load 0 offset=4 (local.get $q)))
    (local.set $q (i32.load 0 (local.get $q)))
    (call $within (local.get $q) (i64.extend_i32_u (local.get $n)) (i32.const 0))
    (local.set $rep (call $alloc (call $bytes_of (local.get $q) (local.get $n))))
    (array.set $handles (global.get $host_handles) (local.get $rep) (local.get $h))
    (call $insert (call $table_of (call $instance_of (local.get $dst)))
      (i32.const 9) (i32.const 0) (local.get $rep) (i32.const 0)))

  ;; Lends `rep` to the host: one more count, released by `host-settle`.
  (func $lend (param $rep i32)
    (local $n i32) (local $grown (ref $handles))
    (local.set $n (call $lent))
    (if (i32.ge_u (local.get $n) (array.len (global.get $lent_reps)))
      (then
        (local.set $grown (array.new_default $handles
          (i32.add (i32.shl (local.get $n) (i32.const 1)) (i32.const 4))))
        (array.copy $handles $handles (local.get $grown) (i32.const 0)
          (global.get $lent_reps) (i32.const 0) (local.get $n))
        (global.set $lent_reps (local.get $grown))))
    (array.set $handles (global.get $lent_reps) (local.get $n) (local.get $rep))
    (call $set_lent (i32.add (local.get $n) (i32.const 1)))
    (array.set $handles (global.get $counts) (local.get $rep)
      (i32.add (array.get $handles (global.get $counts) (local.get $rep)) (i32.const 1))))

  ;; host-settle (mark): the host's call that began when `lent ()` was `mark` is over:
  ;; releases the reps lent since (the last first).
  (func (export "host-settle") (param $mark i32)
    (local $n i32)
    (local.set $n (call $lent))
    (block $done
      (loop $each
        (br_if $done (i32.le_u (local.get $n) (local.get $mark)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (call $set_lent (local.get $n))
        (call $release (array.get $handles (global.get $lent_reps) (local.get $n)))
        (br $each))))
)
