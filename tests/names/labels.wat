;; Named blocks in a module that is reified in both modes (instantiated twice) and in one that
;; is reified only with `--reify all`: the output's name section names the same blocks, though
;; the rewrite of a reified module's loads and stores adds blocks of its own.
(component
  (core module $Twice
    (memory 1)
    ;; The sum of the `n` words from address 0, through a loop and an `if`.
    (func $sum (export "sum") (param $n i32) (result i32)
      (local $i i32) (local $acc i32)
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $acc
            (i32.add (local.get $acc) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
          (if $odd (i32.and (local.get $i) (i32.const 1))
            (then (i32.store (i32.const 4096) (local.get $acc)) (br $next))
            (else (nop)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (block (block $unused))
      (local.get $acc)))
  (core module $Once
    (memory 1)
    (func $fill (export "fill") (param $n i32)
      (block $stop
        (loop $again
          (br_if $stop (i32.eqz (local.get $n)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (i32.store8 (local.get $n) (i32.const 7))
          (br $again)))))
  (core instance $a (instantiate $Twice))
  (core instance $b (instantiate $Twice))
  (core instance $c (instantiate $Once))
  (func (export "sum") (param "n" u32) (result u32) (canon lift (core func $a "sum")))
  (func (export "fill") (param "n" u32) (canon lift (core func $c "fill")))
)
