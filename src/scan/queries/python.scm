; Class definitions, decorated or not: the extractor picks the main object by name and reads
; its decorators from the enclosing `decorated_definition`.
(class_definition
  name: (identifier) @class.name
  body: (block) @class.body) @class

; A module-level docstring (the package description in `__init__.py`).
(module
  .
  (expression_statement
    (string) @module.doc))
