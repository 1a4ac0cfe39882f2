;; Strings, lists and records at the host boundary, passed through the memory of
;; the module that lifts them (exported by the lowered module as `memory`, with
;; its `cabi_realloc`), next to a module instantiated twice.
(component
  (core module $Counter
    (global $n (mut i32) (i32.const 0))
    (func (export "bump") (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (global.get $n)))
  (core instance $c1 (instantiate $Counter))
  (core instance $c2 (instantiate $Counter))
  (core module $Main
    (import "c1" "bump" (func $bump1 (result i32)))
    (import "c2" "bump" (func $bump2 (result i32)))
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      ;; Bump allocator aligned to the requested alignment.
      (local.set $p
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.const 16)))))
      (local.get $p))
    ;; reverse(s: string) -> string: bytes reversed (ASCII input), in a fresh
    ;; buffer; returns a pointer to the (ptr, len) pair at 16.
    (func (export "reverse") (param $p i32) (param $n i32) (result i32)
      (local $out i32) (local $i i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $n)))
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (i32.store8
            (i32.add (local.get $out) (local.get $i))
            (i32.load8_u
              (i32.sub (i32.add (local.get $p) (local.get $n))
                (i32.add (local.get $i) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (i32.store (i32.const 16) (local.get $out))
      (i32.store (i32.const 20) (local.get $n))
      (i32.const 16))
    ;; byte-length(s: string) -> u32
    (func (export "byte-length") (param i32 i32) (result i32) (local.get 1))
    ;; sum(xs: list<u32>) -> u64, and bumps counter 1 once per call.
    (func (export "sum") (param $p i32) (param $n i32) (result i64)
      (local $acc i64)
      (drop (call $bump1))
      (block $done
        (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i64.add (local.get $acc) (i64.load32_u (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
      (local.get $acc))
    ;; tag(r: record { name: string, n: u32 }) -> tuple<string, u32, u32>: the
    ;; name unchanged, n + 1, and how often counter 2 was bumped.
    (func (export "tag") (param $p i32) (param $len i32) (param $n i32) (result i32)
      (i32.store (i32.const 32) (local.get $p))
      (i32.store (i32.const 36) (local.get $len))
      (i32.store (i32.const 40) (i32.add (local.get $n) (i32.const 1)))
      (i32.store (i32.const 44) (call $bump2))
      (i32.const 32))
    ;; Checks the post-return sees the pointer it returned.
    (func (export "post-reverse") (param i32)
      (if (i32.ne (local.get 0) (i32.const 16)) (then unreachable))))
  (core instance $m (instantiate $Main
    (with "c1" (instance $c1))
    (with "c2" (instance $c2))))
  (type $rec (record (field "name" string) (field "n" u32)))
  (import "rec" (type $rec-e (eq $rec)))
  (func (export "reverse") (param "s" string) (result string)
    (canon lift (core func $m "reverse") (memory $m "memory")
      (realloc (func $m "realloc")) (post-return (func $m "post-reverse"))))
  (func (export "byte-length") (param "s" string) (result u32)
    (canon lift (core func $m "byte-length") (memory $m "memory")
      (realloc (func $m "realloc"))))
  (func (export "sum") (param "xs" (list u32)) (result u64)
    (canon lift (core func $m "sum") (memory $m "memory")
      (realloc (func $m "realloc"))))
  (func (export "tag") (param "r" $rec-e) (result (tuple string u32 u32))
    (canon lift (core func $m "tag") (memory $m "memory")
      (realloc (func $m "realloc"))))
)

(assert_return (invoke "reverse" (str.const "hello")) (str.const "olleh"))
(assert_return (invoke "reverse" (str.const "")) (str.const ""))
(assert_return (invoke "byte-length" (str.const "λx")) (u32.const 3))
(assert_return (invoke "byte-length" (str.const "")) (u32.const 0))
(assert_return (invoke "sum" (list.const)) (u64.const 0))
(assert_return (invoke "sum" (list.const (u32.const 1) (u32.const 2) (u32.const 0xffff_ffff)))
  (u64.const 0x1_0000_0002))
(assert_return
  (invoke "tag" (record.const (field "name" str.const "ab") (field "n" u32.const 41)))
  (tuple.const (str.const "ab") (u32.const 42) (u32.const 1)))
(assert_return
  (invoke "tag" (record.const (field "name" str.const "") (field "n" u32.const 0xffff_ffff)))
  (tuple.const (str.const "") (u32.const 0) (u32.const 2)))
(assert_return (invoke "sum" (list.const (u32.const 7))) (u64.const 7))
