//! The agent runtime: one tool loop every agent verb runs on (see issue 4).
