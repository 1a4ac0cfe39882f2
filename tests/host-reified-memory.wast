;; The host's strings in the memory of a module instantiated twice: that module is
;; reified under `--reify auto`, so the single module passes them through an exchange
;; memory and exports a post-return for every function that does. The module graph
;; (`--output graph`) runs under bindings made from the single module's world, so it
;; must have the same exports (`cabi_post_upper`, `cabi_post_len`) and encoding.
(component
  (core module $M
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (func (export "upper") (param $p i32) (param $n i32) (result i32)
      (local $i i32) (local $c i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
          (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
            (then (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.sub (local.get $c) (i32.const 32)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (i32.store (i32.const 16) (local.get $p))
      (i32.store (i32.const 20) (local.get $n))
      (i32.const 16))
    (func (export "len") (param i32 i32) (result i32) (local.get 1)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "upper") (param "s" string) (result string)
    (canon lift (core func $a "upper") (memory $a "memory") (realloc (func $a "realloc"))))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $b "len") (memory $a "memory") (realloc (func $a "realloc")))))
(assert_return (invoke "upper" (str.const "hello, wasm")) (str.const "HELLO, WASM"))
(assert_return (invoke "len" (str.const "héllo")) (u32.const 6))
;; The string is written in place by the guest and read back after the call.
(assert_return (invoke "upper" (str.const "ÀÉ-ok-\u{1F600}")) (str.const "ÀÉ-OK-\u{1F600}"))
(assert_return (invoke "len" (str.const "")) (u32.const 0))

;; The same with UTF-16 strings: the single module's exchange memory holds UTF-8 (the
;; adapters transcode), so the graph's host functions must too, not the guest's UTF-16.
(component
  (core module $M
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    ;; A shrinking realloc (wasmtime's UTF-16 lowering trims its buffer) keeps the block.
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get 0) (i32.const 0)) (i32.le_u (local.get 3) (local.get 1)))
        (then (return (local.get 0))))
      (local.set $p
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    ;; upper16(s) -> s with ASCII letters upper-cased, in place (`n` code units).
    (func (export "upper16") (param $p i32) (param $n i32) (result i32)
      (local $i i32) (local $a i32) (local $c i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $a (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1))))
          (local.set $c (i32.load16_u (local.get $a)))
          (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
            (then (i32.store16 (local.get $a) (i32.sub (local.get $c) (i32.const 32)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (i32.store (i32.const 16) (local.get $p))
      (i32.store (i32.const 20) (local.get $n))
      (i32.const 16))
    ;; units16(s) -> its length in UTF-16 code units.
    (func (export "units16") (param i32 i32) (result i32) (local.get 1)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "upper16") (param "s" string) (result string)
    (canon lift (core func $a "upper16") (memory $a "memory") (realloc (func $a "realloc"))
      string-encoding=utf16))
  (func (export "units16") (param "s" string) (result u32)
    (canon lift (core func $b "units16") (memory $a "memory") (realloc (func $a "realloc"))
      string-encoding=utf16)))
(assert_return (invoke "upper16" (str.const "héllo, wasm \u{1F600}")) (str.const "HéLLO, WASM \u{1F600}"))
(assert_return (invoke "units16" (str.const "a\u{1F600}")) (u32.const 3))
