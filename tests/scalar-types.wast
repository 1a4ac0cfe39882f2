;; Scalar component types at the boundary of a module instantiated twice:
;; bool, char, enum, flags, s32/u64/f32/f64, and records of those as
;; parameters (flattened) and, in the last component, as a result (returned
;; through memory).
(component
  (core module $M
    (global $last (mut i32) (i32.const 0))
    (global $flags (mut i32) (i32.const 0))
    ;; Records the char and returns the next one.
    (func (export "next-char") (param i32) (result i32)
      (global.set $last (local.get 0))
      (i32.add (local.get 0) (i32.const 1)))
    (func (export "last-char") (result i32) (global.get $last))
    (func (export "not") (param i32) (result i32) (i32.eqz (local.get 0)))
    ;; enum color { red, green, blue }: the next color, wrapping around.
    (func (export "next-color") (param i32) (result i32)
      (i32.rem_u (i32.add (local.get 0) (i32.const 1)) (i32.const 3)))
    ;; flags perms { read, write, exec }: toggles the given bits in the state.
    (func (export "toggle") (param i32) (result i32)
      (global.set $flags (i32.xor (global.get $flags) (local.get 0)))
      (global.get $flags))
    ;; record point { x: s32, y: s32, scale: f64 }: the sum x*scale + y.
    (func (export "eval") (param i32 i32 f64) (result f64)
      (f64.add (f64.mul (f64.convert_i32_s (local.get 0)) (local.get 2))
        (f64.convert_i32_s (local.get 1)))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  ;; World-level types, imported at the root the way wit-component encodes
  ;; `world w { enum color {..} export next-color-b: func(c: color) -> color; }`.
  (type $color (enum "red" "green" "blue"))
  (import "color" (type $color-e (eq $color)))
  (type $perms (flags "read" "write" "exec"))
  (import "perms" (type $perms-e (eq $perms)))
  (type $point (record (field "x" s32) (field "y" s32) (field "scale" f64)))
  (import "point" (type $point-e (eq $point)))
  (func (export "next-char-a") (param "c" char) (result char) (canon lift (core func $a "next-char")))
  (func (export "last-char-a") (result char) (canon lift (core func $a "last-char")))
  (func (export "last-char-b") (result char) (canon lift (core func $b "last-char")))
  (func (export "not-b") (param "x" bool) (result bool) (canon lift (core func $b "not")))
  (func (export "next-color-b") (param "c" $color-e) (result $color-e) (canon lift (core func $b "next-color")))
  (func (export "toggle-a") (param "f" $perms-e) (result $perms-e) (canon lift (core func $a "toggle")))
  (func (export "toggle-b") (param "f" $perms-e) (result $perms-e) (canon lift (core func $b "toggle")))
  (func (export "eval-b") (param "p" $point-e) (result f64) (canon lift (core func $b "eval")))
)

(assert_return (invoke "next-char-a" (char.const "a")) (char.const "b"))
(assert_return (invoke "next-char-a" (char.const "λ")) (char.const "μ"))
(assert_return (invoke "last-char-a") (char.const "λ"))
(assert_return (invoke "last-char-b") (char.const "\00"))
(assert_return (invoke "next-char-a" (char.const "\u{1F600}")) (char.const "\u{1F601}"))

(assert_return (invoke "not-b" (bool.const true)) (bool.const false))
(assert_return (invoke "not-b" (bool.const false)) (bool.const true))

(assert_return (invoke "next-color-b" (enum.const "red")) (enum.const "green"))
(assert_return (invoke "next-color-b" (enum.const "blue")) (enum.const "red"))

(assert_return (invoke "toggle-a" (flags.const "read" "exec")) (flags.const "read" "exec"))
(assert_return (invoke "toggle-b" (flags.const "write")) (flags.const "write"))
(assert_return (invoke "toggle-a" (flags.const "read" "write")) (flags.const "write" "exec"))
(assert_return (invoke "toggle-b" (flags.const)) (flags.const "write"))

(assert_return
  (invoke "eval-b" (record.const (field "x" s32.const -3) (field "y" s32.const 10) (field "scale" f64.const 2.5)))
  (f64.const 2.5))

;; A record result: more than one flat value, so it is returned through a
;; pointer into the callee's memory.
(component
  (core module $M
    (memory (export "mem") 1)
    (global $calls (mut i32) (i32.const 0))
    ;; record sample { big: u64, small: f32, ok: bool, calls: u32 }, stored at
    ;; 64 and returned through a pointer.
    (func (export "sample") (param i64 f32) (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i64.store (i32.const 64) (local.get 0))
      (f32.store (i32.const 72) (local.get 1))
      (i32.store8 (i32.const 76) (f32.gt (local.get 1) (f32.const 0)))
      (i32.store (i32.const 80) (global.get $calls))
      (i32.const 64)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (type $sample (record (field "big" u64) (field "small" f32) (field "ok" bool) (field "calls" u32)))
  (export $sample-e "sample" (type $sample))
  (func (export "sample-a") (param "big" u64) (param "small" f32) (result $sample-e)
    (canon lift (core func $a "sample") (memory (core memory $a "mem"))))
  (func (export "sample-b") (param "big" u64) (param "small" f32) (result $sample-e)
    (canon lift (core func $b "sample") (memory (core memory $b "mem"))))
)

(assert_return
  (invoke "sample-b" (u64.const 0xfedc_ba98_7654_3210) (f32.const 0.5))
  (record.const (field "big" u64.const 0xfedc_ba98_7654_3210) (field "small" f32.const 0.5)
    (field "ok" bool.const true) (field "calls" u32.const 1)))
(assert_return
  (invoke "sample-b" (u64.const 1) (f32.const -0))
  (record.const (field "big" u64.const 1) (field "small" f32.const -0)
    (field "ok" bool.const false) (field "calls" u32.const 2)))
(assert_return
  (invoke "sample-a" (u64.const 2) (f32.const 1))
  (record.const (field "big" u64.const 2) (field "small" f32.const 1)
    (field "ok" bool.const true) (field "calls" u32.const 1)))
