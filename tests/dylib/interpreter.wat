;; A tiny "interpreter" shared library for `wit-dylib` bindings (the `wit_dylib_*` interface of
;; wit-dylib's `wit_dylib.h`), in the dynamic-linking convention: a `dylink.0` section that asks
;; the linker for 64 KiB of the shared memory, and `env.memory`, `env.__memory_base` and
;; `env.__indirect_function_table` imported from the linked component's main module.
;;
;; It knows the functions of `calc.wit` by name, looked up in the `wit_t` metadata that the
;; bindings hand to `wit_dylib_initialize`:
;;
;;   f(x)        = scale(x) + 1, where `scale` is the world's import, called through the
;;                 function pointer (a table index) that the metadata holds for it;
;;   greet(name) = "hello, " ++ name ++ "!".
;;
;; Values travel on a stack of 8-byte slots (a u32, or a string as pointer | length << 32).
;; Memory comes from an arena that `cabi_realloc` bumps and `wit_dylib_export_finish` (the
;; export's post-return) empties; no libc is needed. Every other `wit_dylib_*` entry point
;; exists, with the type the bindings import, and traps.
;;
;; Layout, relative to `__memory_base`:
;;   0     "f\0"   2 "greet\0"   8 "scale\0"   14 "hello, "
;;   32    `wit_t *`           36  value stack depth    40  arena bytes in use
;;   48    value stack (16 slots of 8 bytes)
;;   1024  arena, up to 65536
(module
  (@dylink.0
    (mem-info (memory 65536 4)))

  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__memory_base" (global $base i32))

  (type $import_fn (func (param i32)))

  (data (global.get $base) "f\00greet\00scale\00hello, ")
  (func $data_offset (param i32) (result i32) (i32.add (global.get $base) (local.get 0)))

  (global $slots i32 (i32.const 48))
  (global $max_slots i32 (i32.const 16))
  (global $arena i32 (i32.const 1024))
  (global $arena_end i32 (i32.const 65536))

  (func (export "wit_dylib_initialize") (param $wit i32)
    (i32.store (call $data_offset (i32.const 32)) (local.get $wit)))

  ;; --- the value stack -------------------------------------------------------------------
  (func $depth_addr (result i32) (call $data_offset (i32.const 36)))

  (func $push (param $v i64)
    (local $d i32)
    (local.set $d (i32.load (call $depth_addr)))
    (if (i32.ge_u (local.get $d) (global.get $max_slots)) (then unreachable))
    (i64.store
      (i32.add (call $data_offset (global.get $slots)) (i32.shl (local.get $d) (i32.const 3)))
      (local.get $v))
    (i32.store (call $depth_addr) (i32.add (local.get $d) (i32.const 1))))

  (func $pop (result i64)
    (local $d i32)
    (local.set $d (i32.load (call $depth_addr)))
    (if (i32.eqz (local.get $d)) (then unreachable))
    (local.set $d (i32.sub (local.get $d) (i32.const 1)))
    (i32.store (call $depth_addr) (local.get $d))
    (i64.load
      (i32.add (call $data_offset (global.get $slots)) (i32.shl (local.get $d) (i32.const 3)))))

  (func (export "wit_dylib_push_u32") (param $cx i32) (param $v i32)
    (call $push (i64.extend_i32_u (local.get $v))))
  (func (export "wit_dylib_pop_u32") (param $cx i32) (result i32)
    (i32.wrap_i64 (call $pop)))
  (func (export "wit_dylib_push_string") (param $cx i32) (param $ptr i32) (param $len i32)
    (call $push
      (i64.or
        (i64.extend_i32_u (local.get $ptr))
        (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 32)))))
  (func (export "wit_dylib_pop_string") (param $cx i32) (param $out i32) (result i32)
    (local $v i64)
    (local.set $v (call $pop))
    (i32.store (local.get $out) (i32.wrap_i64 (local.get $v)))
    (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))

  ;; --- memory ----------------------------------------------------------------------------
  (func $used_addr (result i32) (call $data_offset (i32.const 40)))

  (func $cabi_realloc (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    ;; ptr = align_up(arena + used, align), relative to __memory_base
    (local.set $ptr
      (i32.and
        (i32.add
          (i32.add (global.get $arena) (i32.load (call $used_addr)))
          (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.or
          (i32.lt_u (local.get $end) (local.get $ptr))
          (i32.gt_u (local.get $end) (global.get $arena_end)))
      (then unreachable))
    (i32.store (call $used_addr) (i32.sub (local.get $end) (global.get $arena)))
    (local.set $ptr (call $data_offset (local.get $ptr)))
    (if (local.get $old)
      (then
        (memory.copy (local.get $ptr) (local.get $old)
          (select (local.get $old_size) (local.get $size)
            (i32.lt_u (local.get $old_size) (local.get $size))))))
    (local.get $ptr))

  ;; The arena is emptied when an export finishes.
  (func (export "wit_dylib_dealloc_bytes")
    (param $cx i32) (param $ptr i32) (param $size i32) (param $align i32) (param $defer i32))

  ;; --- calls -----------------------------------------------------------------------------
  (func $streq (param $a i32) (param $b i32) (result i32)
    (local $c i32)
    (loop $next
      (local.set $c (i32.load8_u (local.get $a)))
      (if (i32.ne (local.get $c) (i32.load8_u (local.get $b))) (then (return (i32.const 0))))
      (if (i32.eqz (local.get $c)) (then (return (i32.const 1))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $next))
    unreachable)

  (func $wit (result i32)
    (local $wit i32)
    (local.set $wit (i32.load (call $data_offset (i32.const 32))))
    (if (i32.eqz (local.get $wit)) (then unreachable))
    (local.get $wit))

  ;; The name of export `which` (a `wit_export_func_t` is 24 bytes, its name at offset 4).
  (func $export_name (param $which i32) (result i32)
    (if (i32.ge_u (local.get $which) (i32.load offset=12 (call $wit))) (then unreachable))
    (i32.load offset=4
      (i32.add (i32.load offset=16 (call $wit)) (i32.mul (local.get $which) (i32.const 24)))))

  ;; The `impl` function pointer of the import called `name` (a `wit_import_func_t` is 40
  ;; bytes: its name at offset 4, `impl` at offset 8).
  (func $import_impl (param $name i32) (result i32)
    (local $i i32) (local $func i32)
    (loop $next
      (if (i32.ge_u (local.get $i) (i32.load offset=4 (call $wit))) (then unreachable))
      (local.set $func
        (i32.add (i32.load offset=8 (call $wit)) (i32.mul (local.get $i) (i32.const 40))))
      (if (call $streq (i32.load offset=4 (local.get $func)) (local.get $name))
        (then (return (i32.load offset=8 (local.get $func)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))
    unreachable)

  (func (export "wit_dylib_export_start") (param $which i32) (result i32)
    (drop (call $export_name (local.get $which)))
    (if (i32.load (call $depth_addr)) (then unreachable))
    (call $depth_addr))

  (func (export "wit_dylib_export_call") (param $cx i32) (param $which i32)
    (local $name i32) (local $x i32) (local $s i64) (local $len i32) (local $out i32)
    (local.set $name (call $export_name (local.get $which)))
    (if (call $streq (local.get $name) (call $data_offset (i32.const 0)))
      (then
        ;; f(x) = scale(x) + 1
        (local.set $x (i32.wrap_i64 (call $pop)))
        (call $push (i64.extend_i32_u (local.get $x)))
        (call_indirect (type $import_fn)
          (local.get $cx)
          (call $import_impl (call $data_offset (i32.const 8))))
        (call $push
          (i64.extend_i32_u (i32.add (i32.wrap_i64 (call $pop)) (i32.const 1))))
        (return)))
    (if (call $streq (local.get $name) (call $data_offset (i32.const 2)))
      (then
        ;; greet(name) = "hello, " ++ name ++ "!"
        (local.set $s (call $pop))
        (local.set $len (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 32))))
        (local.set $out
          (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const 1)
            (i32.add (local.get $len) (i32.const 8))))
        (memory.copy (local.get $out) (call $data_offset (i32.const 14)) (i32.const 7))
        (memory.copy
          (i32.add (local.get $out) (i32.const 7))
          (i32.wrap_i64 (local.get $s))
          (local.get $len))
        (i32.store8
          (i32.add (local.get $out) (i32.add (local.get $len) (i32.const 7)))
          (i32.const 33))
        (call $push
          (i64.or
            (i64.extend_i32_u (local.get $out))
            (i64.shl (i64.extend_i32_u (i32.add (local.get $len) (i32.const 8)))
              (i64.const 32))))
        (return)))
    unreachable)

  (func (export "wit_dylib_export_finish") (param $cx i32) (param $which i32)
    (i32.store (call $depth_addr) (i32.const 0))
    (i32.store (call $used_addr) (i32.const 0)))

  ;; --- the rest of `wit_dylib.h`, which calc.wit does not use ----------------------------
  (func (export "wit_dylib_export_async_call") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_export_async_callback") (param i32 i32 i32 i32) (result i32)
    unreachable)
  (func (export "wit_dylib_resource_dtor") (param i32 i32) unreachable)
  (func (export "wit_dylib_pop_u8") (param i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_u16") (param i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_u64") (param i32) (result i64) unreachable)
  (func (export "wit_dylib_pop_s8") (param i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_s16") (param i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_s32") (param i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_s64") (param i32) (result i64) unreachable)
  (func (export "wit_dylib_pop_bool") (param i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_char") (param i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_f32") (param i32) (result f32) unreachable)
  (func (export "wit_dylib_pop_f64") (param i32) (result f64) unreachable)
  (func (export "wit_dylib_pop_flags") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_enum") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_borrow") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_own") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_future") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_stream") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_record") (param i32 i32) unreachable)
  (func (export "wit_dylib_pop_tuple") (param i32 i32) unreachable)
  (func (export "wit_dylib_pop_variant") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_option") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_result") (param i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_list") (param i32 i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_pop_iter_next") (param i32 i32) unreachable)
  (func (export "wit_dylib_pop_iter") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_bool") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_char") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_u8") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_s8") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_u16") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_s16") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_s32") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_u64") (param i32 i64) unreachable)
  (func (export "wit_dylib_push_s64") (param i32 i64) unreachable)
  (func (export "wit_dylib_push_f32") (param i32 f32) unreachable)
  (func (export "wit_dylib_push_f64") (param i32 f64) unreachable)
  (func (export "wit_dylib_push_record") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_tuple") (param i32 i32) unreachable)
  (func (export "wit_dylib_push_flags") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_enum") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_borrow") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_own") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_future") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_stream") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_variant") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_option") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_result") (param i32 i32 i32) unreachable)
  (func (export "wit_dylib_push_list") (param i32 i32 i32 i32) (result i32) unreachable)
  (func (export "wit_dylib_list_append") (param i32 i32) unreachable)
)
