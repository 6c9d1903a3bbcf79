//! Budgets live in code: turns, tokens, cost and wall time, checked by the loop before every
//! model call, so a run stops cleanly and says which limit it hit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// What a whole command has spent so far, shared by every run it makes (the route, verb and
/// retry runs of `develop-issue`, the steps of `speck`): pass one `Arc<Ledger>` to each
/// [`crate::agent::Agent`] and the [`Budget`]'s limits apply to the sum.
#[derive(Debug)]
pub struct Ledger {
    started: Instant,
    spent: Mutex<Spent>,
}

/// Turns, tokens and cost spent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    pub turns: u32,
    pub tokens: u64,
    pub cost_usd: f64,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            spent: Mutex::new(Spent::default()),
        }
    }
}

impl Ledger {
    /// A new ledger, its clock started now.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Add one turn's spending.
    pub fn record(&self, turns: u32, tokens: u64, cost_usd: f64) {
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        spent.turns += turns;
        spent.tokens += tokens;
        spent.cost_usd += cost_usd;
    }

    pub fn spent(&self) -> Spent {
        *self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The first limit of `budget` the spending so far has reached.
    pub fn exhausted(&self, budget: &Budget) -> Option<BudgetKind> {
        let spent = self.spent();
        if spent.turns >= budget.max_turns {
            Some(BudgetKind::Turns)
        } else if budget.max_tokens.is_some_and(|limit| spent.tokens >= limit) {
            Some(BudgetKind::Tokens)
        } else if budget
            .max_cost_usd
            .is_some_and(|limit| spent.cost_usd >= limit)
        {
            Some(BudgetKind::Cost)
        } else if budget.timeout.is_some_and(|limit| self.elapsed() >= limit) {
            Some(BudgetKind::Time)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_sums_every_run_against_one_budget() {
        let budget = Budget {
            max_turns: 5,
            max_tokens: Some(1_000),
            max_cost_usd: Some(1.0),
            timeout: None,
        };
        let ledger = Ledger::shared();
        ledger.record(2, 400, 0.4);
        assert_eq!(ledger.exhausted(&budget), None);
        ledger.record(2, 400, 0.7);
        assert_eq!(ledger.exhausted(&budget), Some(BudgetKind::Cost));
        ledger.record(1, 0, 0.0);
        assert_eq!(ledger.exhausted(&budget), Some(BudgetKind::Turns));
    }
}
