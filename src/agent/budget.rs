//! Budgets live in code: turns, tokens, cost and wall time, checked by the loop before every
//! model call, so a run stops cleanly and says which limit it hit.

use std::time::Duration;

use serde::Serialize;

use crate::config::BudgetConfig;

#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub max_turns: u32,
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
    pub timeout: Option<Duration>,
}

/// Turns when nothing is configured: enough for real work, not for a runaway loop.
pub const DEFAULT_MAX_TURNS: u32 = 40;

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_turns: DEFAULT_MAX_TURNS,
            max_tokens: None,
            max_cost_usd: None,
            timeout: None,
        }
    }
}

impl Budget {
    /// The configured budget (flags already merged in by `Config::budget_with`); unset fields
    /// keep the defaults.
    pub fn from_config(config: &BudgetConfig) -> Self {
        Self {
            max_turns: config.max_turns.unwrap_or(DEFAULT_MAX_TURNS),
            max_tokens: config.max_tokens,
            max_cost_usd: config.max_cost_usd,
            timeout: config.timeout,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    Turns,
    Tokens,
    Cost,
    Time,
}

impl BudgetKind {
    pub fn name(self) -> &'static str {
        match self {
            BudgetKind::Turns => "turns",
            BudgetKind::Tokens => "tokens",
            BudgetKind::Cost => "cost",
            BudgetKind::Time => "time",
        }
    }
}
