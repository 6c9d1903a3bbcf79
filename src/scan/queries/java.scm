; Class declarations with their modifiers (annotations such as `@Object`).
(class_declaration
  name: (identifier) @class.name
  body: (class_body) @class.body) @class
