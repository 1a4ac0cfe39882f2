;; A core module whose `name` section is malformed part way, and which carries DWARF.
;;
;; The function subsection names function 0 `ok`, then gives function 1 a name that is not
;; UTF-8; the next subsection claims more bytes than the section has. Function 0 keeps its
;; name in the output, function 1 gets gc-lower's `m{N}:f{K}`, and the lowering succeeds.
;; The `.debug_info` section is dropped with a warning.
(component
  (core module
    (func (result i32) (call 1))
    (func (result i32) unreachable)
    (func (export "run") (result i32) (call 0))
    (@custom "name" "\01\09\02\00\02ok\01\02\ff\fe\05\ff")
    (@custom ".debug_info" "\00\01\02\03"))
  (core instance $i (instantiate 0))
  (func (export "run") (result s32) (canon lift (core func $i "run")))
)
