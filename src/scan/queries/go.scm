; Struct types: the main object is the one named after the module.
(type_declaration
  (type_spec
    name: (type_identifier) @struct.name
    type: (struct_type))) @struct

; Methods, with their receiver: exported methods of the main object become functions.
(method_declaration
  receiver: (parameter_list) @method.receiver
  name: (field_identifier) @method.name) @method

; Package-level functions: `New` is the constructor.
(function_declaration
  name: (identifier) @function.name) @function

; The package clause, whose doc comment describes the module.
(package_clause) @package
