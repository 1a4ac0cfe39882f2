;; Named core modules whose exports trap two calls deep, for the output's name section.
;;
;; `$Twice` is instantiated twice, so `--reify auto` reifies it; `$Once` keeps native state
;; unless `--reify all`. Each export calls `…_middle`, which calls `…_fail`, which traps.
(component
  (core module $Twice
    (@producers (language "C11" "") (processed-by "clang" "19.1.0"))
    (memory 1)
    (func $twice_fail (param $addr i32) (result i32)
      (local $scratch i32)
      (local.set $scratch (i32.load (local.get $addr)))
      unreachable)
    (func $twice_middle (param $addr i32) (result i32)
      (call $twice_fail (local.get $addr)))
    (func (export "run") (result i32)
      (call $twice_middle (i32.const 4))))
  (core module $Once
    (@producers (language "Rust" "") (processed-by "rustc" "1.90.0") (sdk "wasi-sdk" "27"))
    (func $once_fail (result i32) unreachable)
    (func $once_middle (result i32) (call $once_fail))
    (func (export "run") (result i32) (call $once_middle)))

  (core instance $a (instantiate $Twice))
  (core instance $b (instantiate $Twice))
  (core instance $c (instantiate $Once))

  (func (export "twice-run") (result s32) (canon lift (core func $a "run")))
  (func (export "once-run") (result s32) (canon lift (core func $c "run")))
)
