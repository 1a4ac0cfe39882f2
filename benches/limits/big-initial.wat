;; A module with 16 384 initial pages (1 GiB) instantiated twice, and a five-byte data
;; segment: lowered, its memories cost what is touched, not what is declared (BENCHMARKS.md,
;; "Memories that cost what is touched"):
;;   gc-lower benches/limits/big-initial.wat -o /tmp/big.wasm
;;   /usr/bin/time -f '%e s %M KB' gc-lower run /tmp/big.wasm --invoke 'peek(16)'
(component
  (core module $M
    (memory 16384)
    (data (i32.const 16) "hello")
    (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "peek") (param "a" u32) (result u32) (canon lift (core func $a "peek")))
)
