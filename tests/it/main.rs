//! The one integration-test binary: every module here runs the library or the real binary
//! against local fakes (no network, no keys).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod agent_loop;
mod agent_session;
mod cli;
mod config;
mod daggie;
mod daggie_git;
mod daggie_model;
mod doctor_ping;
mod github;
mod github_git;
mod github_rest;
mod github_support;
mod install;
mod llm_anthropic;
mod llm_gemini;
mod llm_ollama;
mod llm_openai;
mod mcp;
mod memory;
mod monty;
mod no_provider;
mod scan;
mod scan_git;
mod speck;
mod workspace;
