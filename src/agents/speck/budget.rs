//! One budget for a whole `speck run`: `--max-turns`, `--max-tokens`, `--max-cost-usd` and
//! `--timeout` cover every task of every phase. Each task is granted its share of what is left
//! (what is left, divided among the phases asking at the same time), runs within that grant, and
//! settles what it really used. The sum of the grants never exceeds the budget, so concurrent
//! phases cannot overspend it together.
//!
//! Kept to a grant/settle pair so that a command-wide shared budget can replace it later.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The run's limits; `None` is unlimited (a task then gets the per-run defaults of its verb).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub max_turns: Option<u32>,
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
    pub timeout: Option<Duration>,
}

/// What one task may spend.
pub type Grant = Limits;

/// What a task (or the run) used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    pub turns: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

impl Spent {
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    pub fn add(&mut self, other: &Spent) {
        self.turns += other.turns;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_usd += other.cost_usd;
    }
}

#[derive(Debug, Default)]
struct State {
    spent: Spent,
    reserved_turns: u32,
    reserved_tokens: u64,
    reserved_cost: f64,
    /// Phases running now, and how many of them hold a grant.
    phases: usize,
    holders: usize,
    exhausted: Option<&'static str>,
}

/// The run's budget, shared by its phases.
#[derive(Debug)]
pub struct RunBudget {
    limits: Limits,
    started: Instant,
    state: Mutex<State>,
}

impl RunBudget {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            started: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn phase_started(&self) {
        self.state().phases += 1;
    }

    pub fn phase_finished(&self) {
        let mut state = self.state();
        state.phases = state.phases.saturating_sub(1);
    }

    /// Which budget ran out, once one has.
    pub fn exhausted(&self) -> Option<&'static str> {
        self.state().exhausted
    }

    /// Mark the budget spent: a task stopped on its grant of `which`.
    pub fn mark_exhausted(&self, which: &str) {
        let which = match which {
            "turns" => "turns",
            "cost" => "cost",
            "time" => "time",
            _ => "tokens",
        };
        self.state().exhausted.get_or_insert(which);
    }

    pub fn spent(&self) -> Spent {
        self.state().spent
    }

    /// The next task's share of what is left, or which budget ran out.
    pub fn grant(&self) -> Result<Grant, &'static str> {
        let mut state = self.state();
        if let Some(which) = state.exhausted {
            return Err(which);
        }
        let asking = state.phases.saturating_sub(state.holders).max(1);
        let mut grant = Grant::default();
        if let Some(limit) = self.limits.max_turns {
            let left = limit.saturating_sub(state.spent.turns + state.reserved_turns);
            if left == 0 {
                return Err(exhaust(&mut state, "turns"));
            }
            grant.max_turns = Some((left / asking as u32).max(1));
        }
        if let Some(limit) = self.limits.max_tokens {
            let left = limit.saturating_sub(state.spent.tokens() + state.reserved_tokens);
            if left == 0 {
                return Err(exhaust(&mut state, "tokens"));
            }
            grant.max_tokens = Some((left / asking as u64).max(1));
        }
        if let Some(limit) = self.limits.max_cost_usd {
            let left = limit - state.spent.cost_usd - state.reserved_cost;
            if left <= 0.0 {
                return Err(exhaust(&mut state, "cost"));
            }
            grant.max_cost_usd = Some(left / asking as f64);
        }
        if let Some(limit) = self.limits.timeout {
            let left = limit.saturating_sub(self.started.elapsed());
            if left.is_zero() {
                return Err(exhaust(&mut state, "time"));
            }
            grant.timeout = Some(left);
        }
        state.reserved_turns += grant.max_turns.unwrap_or(0);
        state.reserved_tokens += grant.max_tokens.unwrap_or(0);
        state.reserved_cost += grant.max_cost_usd.unwrap_or(0.0);
        state.holders += 1;
        Ok(grant)
    }

    /// Return a grant and record what the task used.
    pub fn settle(&self, grant: &Grant, used: &Spent) {
        let mut state = self.state();
        state.reserved_turns = state
            .reserved_turns
            .saturating_sub(grant.max_turns.unwrap_or(0));
        state.reserved_tokens = state
            .reserved_tokens
            .saturating_sub(grant.max_tokens.unwrap_or(0));
        state.reserved_cost = (state.reserved_cost - grant.max_cost_usd.unwrap_or(0.0)).max(0.0);
        state.holders = state.holders.saturating_sub(1);
        state.spent.add(used);
        let over = |limit: Option<u64>, spent: u64| limit.is_some_and(|limit| spent >= limit);
        if over(
            self.limits.max_turns.map(u64::from),
            u64::from(state.spent.turns),
        ) {
            state.exhausted.get_or_insert("turns");
        }
        if over(self.limits.max_tokens, state.spent.tokens()) {
            state.exhausted.get_or_insert("tokens");
        }
        if self
            .limits
            .max_cost_usd
            .is_some_and(|limit| state.spent.cost_usd >= limit)
        {
            state.exhausted.get_or_insert("cost");
        }
    }
}

fn exhaust(state: &mut State, which: &'static str) -> &'static str {
    state.exhausted.get_or_insert(which)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_phases_share_what_is_left_and_settle_what_they_used() {
        let budget = RunBudget::new(Limits {
            max_tokens: Some(900),
            ..Limits::default()
        });
        for _ in 0..3 {
            budget.phase_started();
        }
        let first = budget.grant().unwrap();
        let second = budget.grant().unwrap();
        let third = budget.grant().unwrap();
        assert_eq!(first.max_tokens, Some(300));
        assert_eq!(second.max_tokens, Some(300));
        assert_eq!(third.max_tokens, Some(300));
        budget.settle(
            &first,
            &Spent {
                input_tokens: 100,
                ..Spent::default()
            },
        );
        // 900 - 100 spent - 600 still granted to the two others.
        assert_eq!(budget.grant().unwrap().max_tokens, Some(200));
        assert_eq!(budget.exhausted(), None);
        budget.settle(
            &second,
            &Spent {
                output_tokens: 800,
                ..Spent::default()
            },
        );
        assert_eq!(budget.exhausted(), Some("tokens"));
        assert_eq!(budget.grant(), Err("tokens"));
        assert_eq!(budget.spent().tokens(), 900);
    }

    #[test]
    fn an_unlimited_run_grants_no_limits() {
        let budget = RunBudget::new(Limits::default());
        assert_eq!(budget.grant().unwrap(), Grant::default());
    }
}
