//! The one implementation of each helper that carries security policy: copying a tree, writing
//! a file atomically with the right mode, splitting a command line and checking it against an
//! allow-list, slugs, and answering git's credential requests. Only `std`, crates and
//! `crate::redact` are used here, so every layer above may call it.

pub mod command;
pub mod fs;
pub mod git;
pub mod slug;
pub mod toml_layout;

pub use command::{SplitError, command_allowed, quote_word, split_words};
pub use fs::{copy_tree, write_atomically, write_files_atomically};
pub use git::token_callbacks;
pub use slug::slug;
