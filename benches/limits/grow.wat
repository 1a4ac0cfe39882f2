;; A module instantiated twice whose memory (reified under `--reify auto`) grows on demand:
;; `grow`, `poke` and `peek` act on the first instance. Used by `grow.mjs` to find how far a
;; reified memory grows on V8 and JavaScriptCore (README.md, "How far a reified memory reaches").
(component
  (core module $M
    (memory 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "grow") (param "d" u32) (result s32) (canon lift (core func $a "grow")))
  (func (export "poke") (param "a" u32) (param "v" u32) (canon lift (core func $a "poke")))
  (func (export "peek") (param "a" u32) (result u32) (canon lift (core func $a "peek")))
  (func (export "grow-b") (param "d" u32) (result s32) (canon lift (core func $b "grow")))
)
