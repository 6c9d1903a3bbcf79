//! The agents (daggie, monty, angie, speck, goose): prompts, tool sets, output schemas and the
//! deterministic work around the model.

pub mod daggie;
pub mod exit_code;
pub mod goose;
pub mod monty;
pub mod prompt;
pub mod review;
pub mod speck;
pub mod step_outputs;
