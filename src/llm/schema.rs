//! JSON Schema adaptation for wire formats that accept only a subset of it: reference inlining
//! (usable by any format) and the OpenAPI-style subset Gemini's function declarations accept.
//!
//! Tool parameter schemas come from `schemars` 1.x: `$defs` at the root, `$ref` pointers into
//! them, `"type": [T, "null"]` and `anyOf: [{…}, {"type": "null"}]` for options, `oneOf` for
//! enums with data, `const` for unit variants, and `format` values such as `uint32`.

use serde_json::{Map, Value};

/// How deep `$ref`s are followed before a recursive type is cut off to a plain object.
pub const MAX_REF_DEPTH: usize = 8;

/// The `format` values Gemini accepts; anything else (`uint32`, `uri`, `email`…) is dropped.
const GEMINI_FORMATS: [&str; 6] = ["date-time", "enum", "float", "double", "int32", "int64"];

/// The keywords Gemini's `Schema` object understands (besides the ones rewritten here).
const GEMINI_KEYWORDS: [&str; 12] = [
    "description",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "minProperties",
    "maxProperties",
    "propertyOrdering",
    "example",
];

/// Replace every local `$ref` (`#/$defs/…` or `#/definitions/…`) with the schema it points to,
/// merged with the keywords written next to it, and drop the definitions. References nested
/// deeper than [`MAX_REF_DEPTH`] (recursive types) become `{"type": "object"}`; references that
/// do not resolve are dropped, leaving the sibling keywords.
pub fn inline_refs(schema: &Value) -> Value {
    let mut definitions = Map::new();
    if let Some(root) = schema.as_object() {
        for key in ["definitions", "$defs"] {
            if let Some(Value::Object(defs)) = root.get(key) {
                for (name, def) in defs {
                    definitions.insert(format!("#/{key}/{name}"), def.clone());
                }
            }
        }
    }
    inline(schema, &definitions, 0)
}

fn inline(schema: &Value, definitions: &Map<String, Value>, depth: usize) -> Value {
    match schema {
        Value::Object(object) => {
            let mut out = Map::new();
            if let Some(Value::String(pointer)) = object.get("$ref") {
                if depth >= MAX_REF_DEPTH {
                    out.insert("type".into(), Value::String("object".into()));
                } else if let Some(Value::Object(target)) = definitions
                    .get(pointer)
                    .map(|def| inline(def, definitions, depth + 1))
                {
                    out = target;
                }
            }
            for (key, value) in object {
                if matches!(key.as_str(), "$ref" | "$defs" | "definitions") {
                    continue;
                }
                out.insert(key.clone(), inline(value, definitions, depth));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| inline(item, definitions, depth))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Adapt a JSON Schema to the subset Gemini accepts: references inlined; `$schema`,
/// `additionalProperties`, `title`, `default`, `examples` and unknown keywords dropped;
/// unsupported `format`s dropped; `"type": [T, "null"]` and `null` branches of `anyOf` turned
/// into `nullable: true`; `oneOf` → `anyOf`; `const` → a one-value `enum`; `allOf` merged;
/// empty `properties` dropped and `required` limited to declared properties.
pub fn to_gemini(schema: &Value) -> Value {
    adapt(&inline_refs(schema))
}

fn adapt(schema: &Value) -> Value {
    let Value::Object(object) = schema else {
        // `true`/`false` schemas (anything / nothing) have no Gemini equivalent; "anything"
        // is the closest that still validates.
        return Value::Object(Map::new());
    };
    let object = merge_all_of(object);
    let mut out = Map::new();
    let mut nullable = object
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    match object.get("type") {
        Some(Value::String(kind)) if kind == "null" => nullable = true,
        Some(Value::String(kind)) => {
            out.insert("type".into(), Value::String(kind.clone()));
        }
        Some(Value::Array(kinds)) => {
            let named: Vec<&str> = kinds
                .iter()
                .filter_map(Value::as_str)
                .filter(|kind| *kind != "null")
                .collect();
            nullable |= named.len() < kinds.len();
            match named.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".into(), Value::String((*one).into()));
                }
                several => {
                    let branches = several
                        .iter()
                        .map(|kind| {
                            let mut branch = Map::new();
                            branch.insert("type".into(), Value::String((*kind).into()));
                            Value::Object(branch)
                        })
                        .collect();
                    out.insert("anyOf".into(), Value::Array(branches));
                }
            }
        }
        _ => {}
    }

    if let Some(Value::String(format)) = object.get("format")
        && GEMINI_FORMATS.contains(&format.as_str())
    {
        out.insert("format".into(), Value::String(format.clone()));
    }

    let values = match (object.get("const"), object.get("enum")) {
        (Some(value), _) => Some(vec![value.clone()]),
        (None, Some(Value::Array(values))) => Some(values.clone()),
        _ => None,
    };
    let mut allowed_note = None;
    if let Some(values) = values {
        let (nulls, values): (Vec<Value>, Vec<Value>) =
            values.into_iter().partition(Value::is_null);
        nullable |= !nulls.is_empty();
        if values.iter().all(Value::is_string) {
            if !out.contains_key("type") {
                out.insert("type".into(), Value::String("string".into()));
            }
            out.insert("enum".into(), Value::Array(values));
        } else {
            // Gemini takes `enum` on strings only: other values are listed for the model instead.
            if !out.contains_key("type")
                && let Some(kind) = values.first().map(json_type)
            {
                out.insert("type".into(), Value::String(kind.into()));
            }
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            allowed_note = Some(format!("One of: {}.", listed.join(", ")));
        }
    }

    let branches = object
        .get("anyOf")
        .or_else(|| object.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(branches) = branches {
        let mut kept = Vec::new();
        for branch in branches {
            if branch.get("type").and_then(Value::as_str) == Some("null")
                && branch.as_object().is_some_and(|b| b.len() == 1)
            {
                nullable = true;
            } else {
                kept.push(adapt(branch));
            }
        }
        if kept.len() == 1 && !out.contains_key("type") {
            // `Option<T>` comes as `anyOf: [T, null]`: T itself, nullable.
            if let Some(Value::Object(single)) = kept.pop() {
                for (key, value) in single {
                    out.entry(key).or_insert(value);
                }
            }
        } else if !kept.is_empty() {
            out.insert("anyOf".into(), Value::Array(kept));
        }
    }

    if let Some(Value::Object(properties)) = object.get("properties")
        && !properties.is_empty()
    {
        let adapted: Map<String, Value> = properties
            .iter()
            .map(|(name, property)| (name.clone(), adapt(property)))
            .collect();
        if let Some(Value::Array(required)) = object.get("required") {
            let required: Vec<Value> = required
                .iter()
                .filter(|name| name.as_str().is_some_and(|name| adapted.contains_key(name)))
                .cloned()
                .collect();
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        out.insert("properties".into(), Value::Object(adapted));
    }

    match object.get("items") {
        Some(items @ Value::Object(_)) => {
            out.insert("items".into(), adapt(items));
        }
        Some(Value::Array(tuple)) => {
            if let Some(first) = tuple.first() {
                out.insert("items".into(), adapt(first));
            }
        }
        _ => {
            if let Some(Value::Array(prefix)) = object.get("prefixItems")
                && let Some(first) = prefix.first()
            {
                out.insert("items".into(), adapt(first));
            }
        }
    }

    for key in GEMINI_KEYWORDS {
        if let Some(value) = object.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    if let Some(note) = allowed_note {
        let description = match out.get("description").and_then(Value::as_str) {
            Some(description) if !description.is_empty() => format!("{description} {note}"),
            _ => note,
        };
        out.insert("description".into(), Value::String(description));
    }
    if nullable {
        out.insert("nullable".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// The JSON Schema type name of a value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Fold `allOf` branches into the schema itself: properties and `required` are unioned, other
/// keywords keep the first value seen (the schema's own before its branches').
fn merge_all_of(object: &Map<String, Value>) -> Map<String, Value> {
    let Some(Value::Array(branches)) = object.get("allOf") else {
        return object.clone();
    };
    let mut merged: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| key.as_str() != "allOf")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for branch in branches {
        let Value::Object(branch) = branch else {
            continue;
        };
        let branch = merge_all_of(branch);
        for (key, value) in branch {
            match (key.as_str(), merged.get_mut(&key), value) {
                ("properties", Some(Value::Object(into)), Value::Object(from)) => {
                    for (name, property) in from {
                        into.entry(name).or_insert(property);
                    }
                }
                ("required", Some(Value::Array(into)), Value::Array(from)) => {
                    for name in from {
                        if !into.contains(&name) {
                            into.push(name);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, value) => {
                    merged.insert(key, value);
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn refs_are_inlined_with_their_siblings() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "fix": {"$ref": "#/$defs/Fix", "description": "the fix"},
                "missing": {"$ref": "#/$defs/Nope", "description": "kept"}
            },
            "$defs": {
                "Fix": {"type": "object", "description": "a fix", "properties": {"line": {"type": "integer"}}}
            }
        });
        assert_eq!(
            inline_refs(&schema),
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "fix": {"type": "object", "description": "the fix", "properties": {"line": {"type": "integer"}}},
                    "missing": {"description": "kept"}
                }
            })
        );
    }

    #[test]
    fn recursive_refs_stop_at_the_depth_guard() {
        let schema = json!({
            "$ref": "#/$defs/Node",
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}
                }
            }
        });
        let inlined = inline_refs(&schema);
        let mut node = &inlined;
        let mut levels = 0;
        while let Some(child) = node.pointer("/properties/children/items") {
            node = child;
            levels += 1;
        }
        assert_eq!(levels, MAX_REF_DEPTH);
        assert_eq!(node, &json!({"type": "object"}));
    }

    #[test]
    fn schemars_output_becomes_the_gemini_subset() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "SubmitPlan",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "count": {"type": "integer", "format": "uint32", "minimum": 0, "default": 1},
                "when": {"type": "string", "format": "date-time"},
                "link": {"type": "string", "format": "uri", "examples": ["https://x"]},
                "note": {"type": ["string", "null"], "description": "optional"},
                "fix": {"anyOf": [{"$ref": "#/$defs/Fix"}, {"type": "null"}]},
                "kind": {"oneOf": [
                    {"type": "string", "const": "add"},
                    {"type": "string", "enum": ["remove", "rename"]}
                ]},
                "either": {"type": ["string", "integer"]}
            },
            "required": ["count", "kind", "ghost"],
            "$defs": {
                "Fix": {
                    "title": "Fix",
                    "type": "object",
                    "properties": {"line": {"type": "integer", "format": "int64"}},
                    "required": ["line"]
                }
            }
        });
        assert_eq!(
            to_gemini(&schema),
            json!({
                "type": "object",
                "required": ["count", "kind"],
                "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "when": {"type": "string", "format": "date-time"},
                    "link": {"type": "string"},
                    "note": {"type": "string", "description": "optional", "nullable": true},
                    "fix": {
                        "type": "object",
                        "required": ["line"],
                        "properties": {"line": {"type": "integer", "format": "int64"}},
                        "nullable": true
                    },
                    "kind": {"anyOf": [
                        {"type": "string", "enum": ["add"]},
                        {"type": "string", "enum": ["remove", "rename"]}
                    ]},
                    "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]}
                }
            })
        );
    }

    #[test]
    fn all_of_is_merged_and_empty_objects_lose_their_properties() {
        let schema = json!({
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}
            ],
            "description": "both"
        });
        assert_eq!(
            to_gemini(&schema),
            json!({
                "type": "object",
                "required": ["a", "b"],
                "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}},
                "description": "both"
            })
        );
        assert_eq!(
            to_gemini(&json!({"type": "object", "properties": {}, "additionalProperties": true})),
            json!({"type": "object"})
        );
    }

    #[test]
    fn nullable_enums_and_bare_null_types() {
        assert_eq!(
            to_gemini(&json!({"enum": ["a", "b", null]})),
            json!({"enum": ["a", "b"], "type": "string", "nullable": true})
        );
        assert_eq!(
            to_gemini(&json!({"type": "null"})),
            json!({"nullable": true})
        );
        assert_eq!(to_gemini(&json!(true)), json!({}));
    }

    #[test]
    fn non_string_enums_become_a_description() {
        assert_eq!(
            to_gemini(&json!({"type": "integer", "enum": [1, 2], "description": "Level."})),
            json!({"type": "integer", "description": "Level. One of: 1, 2."})
        );
        assert_eq!(
            to_gemini(&json!({"const": true})),
            json!({"type": "boolean", "description": "One of: true."})
        );
    }
}
