;; An exported component type holding an instance type with a resource: valid, but
;; wit-parser's decoder panics on it (`entered unreachable code`). The host interface's WIT
;; decoding contains the panic and reports an error.
(component
  (type (export "x")
    (component
      (type $t' (instance (export "r" (type (sub resource)))))
      (export "t" (instance $t (type $t'))))))
