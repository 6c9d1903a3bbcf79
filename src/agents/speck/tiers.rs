//! Model tiers per family: which model id a task of a given complexity should run on. The tables
//! are suggestions written into the decomposition (the CI matrix picks the model from them); they
//! can be overridden per family in `agentci.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Complexity {
    Low,
    Medium,
    High,
}

impl Complexity {
    /// One tier up, for tests of a task (they need the whole implementation in view).
    pub fn above(self) -> Complexity {
        match self {
            Complexity::Low => Complexity::Medium,
            Complexity::Medium | Complexity::High => Complexity::High,
        }
    }

    pub fn weight(self) -> u32 {
        match self {
            Complexity::Low => 1,
            Complexity::Medium => 2,
            Complexity::High => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierTable {
    pub low: String,
    pub medium: String,
    pub high: String,
}

impl TierTable {
    pub fn model(&self, complexity: Complexity) -> &str {
        match complexity {
            Complexity::Low => &self.low,
            Complexity::Medium => &self.medium,
            Complexity::High => &self.high,
        }
    }

    pub fn models(&self) -> [&str; 3] {
        [&self.low, &self.medium, &self.high]
    }
}

pub const FAMILIES: [&str; 3] = ["claude", "gemini", "openai"];

/// The built-in table of a family, if it is one we know.
pub fn builtin(family: &str) -> Option<TierTable> {
    let (low, medium, high) = match family {
        "claude" => ("claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6"),
        "gemini" => (
            "gemini-3.1-flash-lite-preview",
            "gemini-3-flash-preview",
            "gemini-3.1-pro-preview",
        ),
        "openai" => ("gpt-4o-mini", "gpt-4o", "o3"),
        _ => return None,
    };
    Some(TierTable {
        low: low.into(),
        medium: medium.into(),
        high: high.into(),
    })
}

/// The table for `family`: an override from the configuration, else the built-in one.
pub fn resolve(family: &str, overrides: &BTreeMap<String, TierTable>) -> Result<TierTable, String> {
    if let Some(table) = overrides.get(family) {
        return Ok(table.clone());
    }
    builtin(family).ok_or_else(|| {
        let mut known: Vec<&str> = FAMILIES.to_vec();
        known.extend(overrides.keys().map(String::as_str));
        format!(
            "unknown model family `{family}`; expected one of: {}",
            known.join(", ")
        )
    })
}
