//! The agents (daggie, monty, angie, speck): prompts, tool sets, output schemas and the
//! deterministic work around the model.

pub mod daggie;
pub mod monty;
pub mod prompt;
pub mod speck;
pub mod step_outputs;
