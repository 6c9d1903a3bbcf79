//! speck: spec-driven development. A feature request becomes a spec, a plan grounded in the
//! repository, and a validated JSON task decomposition for CI matrices and `jq`.

pub mod budget;
pub mod child;
pub mod decompose;
pub mod entrypoints;
pub mod publish;
pub mod render;
pub mod run;
pub mod tasks;
pub mod tiers;
pub mod validate;
pub mod verbs;

#[cfg(test)]
mod tests;
