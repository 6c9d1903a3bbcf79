//! Typed outputs: the only way machine-consumed output leaves the model. A submit tool's
//! parameters are the JSON Schema of a Rust type; a submission is validated against that schema,
//! deserialized, and checked by the verb's own rules; every reason it fails goes back to the model.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::llm::ToolSpec;

type Check<T> = Box<dyn Fn(&T) -> Result<(), Vec<String>> + Send + Sync>;
type FromText<T> = Box<dyn Fn(String) -> T + Send + Sync>;

pub struct Submit<T> {
    name: String,
    description: String,
    schema: Value,
    check: Option<Check<T>>,
    from_text: Option<FromText<T>>,
}

impl<T: JsonSchema + DeserializeOwned + Send + Sync + 'static> Submit<T> {
    /// `name` is the model-facing tool name (`submit_plan`, `submit_suggestions`, …).
    pub fn new(name: &str, description: &str) -> Self {
        let mut schema = crate::llm::schema::inline_refs(
            &serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null),
        );
        if let Value::Object(map) = &mut schema {
            map.remove("$schema");
            map.remove("title");
        }
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            schema,
            check: None,
            from_text: None,
        }
    }

    /// A semantic check run after schema validation; its reasons go back to the model.
    pub fn validate(
        mut self,
        check: impl Fn(&T) -> Result<(), Vec<String>> + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Box::new(check));
        self
    }

    /// Accept a final plain-text answer as the submission.
    pub fn accept_text(mut self, from_text: impl Fn(String) -> T + Send + Sync + 'static) -> Self {
        self.from_text = Some(Box::new(from_text));
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters: self.schema.clone(),
        }
    }

    /// Schema, then deserialization, then the verb's check: the value, or every reason it is not
    /// acceptable.
    pub fn accept(&self, arguments: &Value) -> Result<T, Vec<String>> {
        if let Ok(validator) = jsonschema::validator_for(&self.schema) {
            let reasons: Vec<String> = validator
                .iter_errors(arguments)
                .map(|error| {
                    let at = error.instance_path().to_string();
                    if at.is_empty() {
                        error.to_string()
                    } else {
                        format!("at `{at}`: {error}")
                    }
                })
                .collect();
            if !reasons.is_empty() {
                return Err(reasons);
            }
        }
        let value: T =
            serde_json::from_value(arguments.clone()).map_err(|error| vec![error.to_string()])?;
        if let Some(check) = &self.check {
            check(&value)?;
        }
        Ok(value)
    }

    pub(crate) fn value_from_text(&self, text: String) -> Option<T> {
        self.from_text.as_ref().map(|from_text| from_text(text))
    }
}

/// A prose result: `submit_report { text }`.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The whole answer, in Markdown.
    pub text: String,
}

/// The prose submit tool; a final plain-text answer is accepted too.
pub fn report_submit() -> Submit<Report> {
    Submit::new(
        "submit_report",
        "Submit your final answer or report, in Markdown.",
    )
    .validate(|report: &Report| {
        if report.text.trim().is_empty() {
            Err(vec!["`text` must not be empty".into()])
        } else {
            Ok(())
        }
    })
    .accept_text(|text| Report { text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, JsonSchema, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Pair {
        left: String,
        right: u32,
    }

    #[test]
    fn schema_violations_deserialization_and_checks_are_all_reasons() {
        let submit = Submit::<Pair>::new("submit_pair", "d").validate(|pair| {
            if pair.right > 10 {
                Err(vec!["`right` must be at most 10".into()])
            } else {
                Ok(())
            }
        });
        assert_eq!(
            submit.spec().parameters["properties"]["right"]["type"],
            "integer"
        );
        assert!(submit.spec().parameters.get("$schema").is_none());
        let errors = submit.accept(&serde_json::json!({"left": 3})).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(
            submit
                .accept(&serde_json::json!({"left": "a", "right": 11}))
                .unwrap_err(),
            vec!["`right` must be at most 10".to_owned()]
        );
        assert_eq!(
            submit
                .accept(&serde_json::json!({"left": "a", "right": 1}))
                .unwrap(),
            Pair {
                left: "a".into(),
                right: 1
            }
        );
    }

    #[test]
    fn reports_accept_plain_text() {
        let submit = report_submit();
        assert_eq!(
            submit.value_from_text("hello".into()),
            Some(Report {
                text: "hello".into()
            })
        );
        assert!(submit.accept(&serde_json::json!({"text": " "})).is_err());
    }
}
