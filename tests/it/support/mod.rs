//! Helpers shared by the integration tests: provider settings, the wire formats of every
//! provider as their real APIs frame them, and a raw HTTP server that can stall or cut a stream.
#![allow(dead_code)]

pub mod llm;
pub mod raw_server;
pub mod wire;
