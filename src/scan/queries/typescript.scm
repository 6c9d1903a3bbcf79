; Class declarations, exported or not; decorators sit on the class or on the export statement.
(class_declaration
  name: (type_identifier) @class.name
  body: (class_body) @class.body) @class
