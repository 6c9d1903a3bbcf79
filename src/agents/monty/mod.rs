//! monty (Python) and angie (Angular/TypeScript): one implementation, parameterised by a
//! language pack, that turns failed checks into fix suggestions and does workspace work.

pub mod develop;
pub mod failures;
pub mod fix;
pub mod intake;
pub mod packs;
pub mod parsers;
pub mod request;
pub mod rerun;
pub use crate::agents::review;
pub mod route;
pub mod suggest;
pub mod verbs;
pub mod verify;
