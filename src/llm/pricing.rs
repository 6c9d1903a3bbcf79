//! What a run costs: a built-in table of public list prices (US dollars per million tokens) per
//! model family, matched by the longest model-id prefix, overridable from `[pricing]` in
//! `agentci.toml`. Local models (Ollama, unknown ids on an OpenAI-compatible server) cost 0.
//!
//! The table is what the providers published for standard (non-batch, short-context) requests
//! when it was last revised (November 2026); `--max-cost-usd` is a guard rail, not an invoice, and a team with
//! negotiated prices sets them in the config file.

use std::collections::BTreeMap;

use super::Usage;
use crate::config::ModelPrice;

/// Provider prefixes some gateways put in front of model ids (`openai/gpt-4o`, `models/gemini-…`).
const NAMESPACE_PREFIXES: [&str; 7] = [
    "anthropic/",
    "openai/",
    "google/",
    "models/",
    "mistral/",
    "mistralai/",
    "deepseek/",
];

/// `(prefix, input, output, cache_read, cache_write)` in USD per million tokens.
const BUILT_IN: &[(&str, f64, f64, f64, f64)] = &[
    // Anthropic: cache writes (5-minute) cost 1.25x input, cache reads 0.1x.
    ("claude-opus-4-6", 5.0, 25.0, 0.50, 6.25),
    ("claude-opus-4-5", 5.0, 25.0, 0.50, 6.25),
    ("claude-opus-4-1", 15.0, 75.0, 1.50, 18.75),
    ("claude-opus-4", 15.0, 75.0, 1.50, 18.75),
    ("claude-sonnet-4-6", 3.0, 15.0, 0.30, 3.75),
    ("claude-sonnet-4-5", 3.0, 15.0, 0.30, 3.75),
    ("claude-sonnet-4", 3.0, 15.0, 0.30, 3.75),
    ("claude-3-7-sonnet", 3.0, 15.0, 0.30, 3.75),
    ("claude-3-5-sonnet", 3.0, 15.0, 0.30, 3.75),
    ("claude-haiku-4-5", 1.0, 5.0, 0.10, 1.25),
    ("claude-3-5-haiku", 0.80, 4.0, 0.08, 1.0),
    ("claude-3-haiku", 0.25, 1.25, 0.03, 0.30),
    ("claude-3-opus", 15.0, 75.0, 1.50, 18.75),
    // A Claude model newer than this table is priced like the newest of its tier, so a budget
    // still bites instead of counting it as free.
    ("claude-opus", 5.0, 25.0, 0.50, 6.25),
    ("claude-sonnet", 3.0, 15.0, 0.30, 3.75),
    ("claude-haiku", 1.0, 5.0, 0.10, 1.25),
    // OpenAI: cached input at the published discount; cache writes are not billed separately.
    ("gpt-5.5-pro", 30.0, 180.0, 30.0, 30.0),
    ("gpt-5.5", 5.0, 30.0, 0.50, 5.0),
    ("gpt-5.4-pro", 30.0, 180.0, 30.0, 30.0),
    ("gpt-5.4-nano", 0.20, 1.25, 0.02, 0.20),
    ("gpt-5.4-mini", 0.75, 4.50, 0.075, 0.75),
    ("gpt-5.4", 2.50, 15.0, 0.25, 2.50),
    ("gpt-5.2-pro", 21.0, 168.0, 21.0, 21.0),
    ("gpt-5.2", 1.75, 14.0, 0.175, 1.75),
    ("gpt-5-pro", 15.0, 120.0, 15.0, 15.0),
    ("gpt-5-nano", 0.05, 0.40, 0.005, 0.05),
    ("gpt-5-mini", 0.25, 2.0, 0.025, 0.25),
    ("gpt-5", 1.25, 10.0, 0.125, 1.25),
    ("gpt-4.1-nano", 0.10, 0.40, 0.025, 0.10),
    ("gpt-4.1-mini", 0.40, 1.60, 0.10, 0.40),
    ("gpt-4.1", 2.0, 8.0, 0.50, 2.0),
    ("gpt-4o-mini", 0.15, 0.60, 0.075, 0.15),
    ("gpt-4o", 2.50, 10.0, 1.25, 2.50),
    ("o4-mini", 1.10, 4.40, 0.275, 1.10),
    ("o3-mini", 1.10, 4.40, 0.55, 1.10),
    ("o3-pro", 20.0, 80.0, 20.0, 20.0),
    ("o3", 2.0, 8.0, 0.50, 2.0),
    ("o1-mini", 1.10, 4.40, 0.55, 1.10),
    ("o1", 15.0, 60.0, 7.50, 15.0),
    // Gemini: prompts up to 200k tokens; context-cache reads at the published rate.
    ("gemini-3.1-pro", 2.0, 12.0, 0.20, 2.0),
    ("gemini-3.1-flash-lite", 0.25, 1.50, 0.025, 0.25),
    ("gemini-3-pro", 2.0, 12.0, 0.20, 2.0),
    ("gemini-3-flash", 0.50, 3.0, 0.05, 0.50),
    ("gemini-2.5-pro", 1.25, 10.0, 0.125, 1.25),
    ("gemini-2.5-flash-lite", 0.10, 0.40, 0.01, 0.10),
    ("gemini-2.5-flash", 0.30, 2.50, 0.03, 0.30),
    ("gemini-2.0-flash-lite", 0.075, 0.30, 0.075, 0.075),
    ("gemini-2.0-flash", 0.10, 0.40, 0.025, 0.10),
    // Mistral: no prompt-cache pricing.
    ("mistral-large", 0.50, 1.50, 0.50, 0.50),
    ("mistral-medium", 1.50, 7.50, 1.50, 1.50),
    ("mistral-small", 0.10, 0.30, 0.10, 0.10),
    ("magistral-medium", 2.0, 5.0, 2.0, 2.0),
    ("magistral-small", 0.50, 1.50, 0.50, 0.50),
    ("devstral-small", 0.10, 0.30, 0.10, 0.10),
    ("devstral", 0.40, 2.0, 0.40, 0.40),
    ("codestral", 0.30, 0.90, 0.30, 0.30),
    ("ministral-8b", 0.15, 0.15, 0.15, 0.15),
    ("ministral-3b", 0.10, 0.10, 0.10, 0.10),
    // DeepSeek: cache hits are billed at the cache-hit input price. The V4 models have
    // off-peak discounts; the peak price is used so that a budget is never under-counted.
    ("deepseek-chat", 0.28, 0.42, 0.028, 0.28),
    ("deepseek-reasoner", 0.28, 0.42, 0.028, 0.28),
    ("deepseek-v4-pro", 1.32, 3.96, 0.044, 1.32),
    ("deepseek-flash", 0.30, 1.20, 0.006, 0.30),
];

/// The output limit of a model the table below does not know.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 8_192;

/// `(prefix, max output tokens)`: what each model family documents as its most output tokens
/// per answer, matched like prices (longest prefix).
const MAX_OUTPUT: &[(&str, u32)] = &[
    ("claude-opus-4-6", 128_000),
    ("claude-opus-4-5", 64_000),
    ("claude-opus-4-1", 32_000),
    ("claude-opus-4", 32_000),
    ("claude-sonnet-4", 64_000),
    ("claude-3-7-sonnet", 64_000),
    ("claude-haiku-4", 64_000),
    ("claude-3-5", 8_192),
    ("claude-3-haiku", 4_096),
    ("claude-3-opus", 4_096),
    ("claude-opus", 64_000),
    ("claude-sonnet", 64_000),
    ("claude-haiku", 64_000),
    ("gpt-5", 128_000),
    ("gpt-4.1", 32_768),
    ("gpt-4o", 16_384),
    ("o1-mini", 65_536),
    ("o1", 100_000),
    ("o3", 100_000),
    ("o4-mini", 100_000),
    ("gemini-3", 65_536),
    ("gemini-2.5", 65_536),
    ("gemini-2.0", 8_192),
    ("mistral-large", 32_768),
    ("mistral-medium", 32_768),
    ("devstral", 32_768),
    ("codestral", 32_768),
    ("deepseek-chat", 8_192),
    ("deepseek-reasoner", 65_536),
];

/// The most output tokens one answer of `model` may have ([`DEFAULT_MAX_OUTPUT_TOKENS`] for a
/// model the table does not know).
pub fn max_output_tokens(model: &str) -> u32 {
    let mut id = model.trim().to_ascii_lowercase();
    for prefix in NAMESPACE_PREFIXES {
        if let Some(rest) = id.strip_prefix(prefix) {
            id = rest.to_owned();
        }
    }
    MAX_OUTPUT
        .iter()
        .filter(|(prefix, _)| id.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(DEFAULT_MAX_OUTPUT_TOKENS, |(_, limit)| *limit)
}

/// The price that applies to one model and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceMatch {
    pub price: ModelPrice,
    /// The table entry or config key that matched; `None` when the model is unknown (priced 0).
    pub matched: Option<String>,
    /// Why the price is what it is, for `doctor` and logs.
    pub note: String,
}

/// The built-in table overlaid with `[pricing]` from the config.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    overrides: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    pub fn new(overrides: &BTreeMap<String, ModelPrice>) -> Self {
        Self {
            overrides: overrides
                .iter()
                .map(|(model, price)| (model.trim().to_ascii_lowercase(), *price))
                .collect(),
        }
    }

    /// The price of a model: the longest matching config key, else the longest matching built-in
    /// prefix, else 0 with a note.
    pub fn lookup(&self, model: &str) -> PriceMatch {
        let full = model.trim().to_ascii_lowercase();
        if let Some((key, price)) = longest_match(
            &full,
            self.overrides
                .iter()
                .map(|(key, price)| (key.as_str(), *price)),
        ) {
            return PriceMatch {
                price,
                matched: Some(key.to_owned()),
                note: format!("[pricing.\"{key}\"] in the config file"),
            };
        }
        let bare = NAMESPACE_PREFIXES
            .iter()
            .find_map(|prefix| full.strip_prefix(prefix))
            .unwrap_or(&full);
        let built_in = BUILT_IN.iter().map(|(prefix, input, output, read, write)| {
            (
                *prefix,
                ModelPrice {
                    input: *input,
                    output: *output,
                    cache_read: Some(*read),
                    cache_write: Some(*write),
                },
            )
        });
        match longest_match(bare, built_in) {
            Some((key, price)) => PriceMatch {
                price,
                matched: Some(key.to_owned()),
                note: format!("built-in list price for `{key}`"),
            },
            None => PriceMatch {
                price: ModelPrice {
                    input: 0.0,
                    output: 0.0,
                    cache_read: None,
                    cache_write: None,
                },
                matched: None,
                note: format!(
                    "no price known for `{model}` (a local or unlisted model): counted as free; \
                     set [pricing.\"{model}\"] in agentci.toml to budget it"
                ),
            },
        }
    }

    /// The cost of `usage` on `model` in US dollars.
    pub fn cost_usd(&self, model: &str, usage: &Usage) -> f64 {
        usage_cost(&self.lookup(model).price, usage)
    }
}

fn longest_match<'a>(
    model: &str,
    entries: impl Iterator<Item = (&'a str, ModelPrice)>,
) -> Option<(&'a str, ModelPrice)> {
    entries
        .filter(|(prefix, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
}

/// The cost of `usage` at `price`. `input_tokens` excludes cached tokens, which are billed at
/// their own prices (the input price when the model has none).
pub fn usage_cost(price: &ModelPrice, usage: &Usage) -> f64 {
    let per_token = |per_million: f64| per_million / 1_000_000.0;
    usage.input_tokens as f64 * per_token(price.input)
        + usage.output_tokens as f64 * per_token(price.output)
        + usage.cache_read_tokens as f64 * per_token(price.cache_read.unwrap_or(price.input))
        + usage.cache_creation_tokens as f64 * per_token(price.cache_write.unwrap_or(price.input))
}

/// The cost of `usage` on `model` at built-in list prices.
pub fn cost_usd(model: &str, usage: &Usage) -> f64 {
    PriceTable::default().cost_usd(model, usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_limits_come_from_the_model_table() {
        assert_eq!(max_output_tokens("claude-sonnet-4-5"), 64_000);
        assert_eq!(
            max_output_tokens("anthropic/claude-3-5-haiku-latest"),
            8_192
        );
        assert_eq!(max_output_tokens("gpt-4.1-mini"), 32_768);
        assert_eq!(max_output_tokens("gemini-2.5-flash"), 65_536);
        assert_eq!(max_output_tokens("llama-3.2"), DEFAULT_MAX_OUTPUT_TOKENS);
    }

    fn usage(input: u64, output: u64, read: u64, write: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_creation_tokens: write,
        }
    }

    fn close(left: f64, right: f64) -> bool {
        (left - right).abs() < 1e-9
    }

    #[test]
    fn longest_prefix_wins_with_dated_ids() {
        let table = PriceTable::default();
        for (model, matched) in [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("claude-opus-4-5-20251101", "claude-opus-4-5"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
            ("gpt-4.1", "gpt-4.1"),
            ("gpt-5.4-mini", "gpt-5.4-mini"),
            ("gpt-5.1", "gpt-5"),
            ("claude-opus-5", "claude-opus"),
            ("o3-mini", "o3-mini"),
            ("openai/gpt-5-mini", "gpt-5-mini"),
            ("models/gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ] {
            assert_eq!(
                table.lookup(model).matched.as_deref(),
                Some(matched),
                "{model}"
            );
        }
    }

    #[test]
    fn cost_counts_cached_tokens_at_their_prices() {
        // claude-sonnet-4-5: 3 in, 15 out, 0.30 read, 3.75 write per million.
        let cost = cost_usd(
            "claude-sonnet-4-5",
            &usage(1_000_000, 100_000, 2_000_000, 10_000),
        );
        assert!(close(cost, 3.0 + 1.5 + 0.6 + 0.0375), "{cost}");
        let cost = cost_usd("deepseek-chat", &usage(0, 0, 1_000_000, 0));
        assert!(close(cost, 0.028), "{cost}");
    }

    #[test]
    fn local_models_are_free_with_a_note() {
        let found = PriceTable::default().lookup("qwen2.5-coder:14b");
        assert!(found.matched.is_none());
        assert!(found.note.contains("free"));
        assert!(close(cost_usd("llama3.1", &usage(1000, 1000, 0, 0)), 0.0));
    }

    #[test]
    fn config_overrides_win_and_missing_cache_prices_fall_back_to_input() {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "gpt-4o".to_owned(),
            ModelPrice {
                input: 1.0,
                output: 2.0,
                cache_read: None,
                cache_write: None,
            },
        );
        overrides.insert(
            "qwen".to_owned(),
            ModelPrice {
                input: 0.5,
                output: 0.5,
                cache_read: Some(0.1),
                cache_write: None,
            },
        );
        let table = PriceTable::new(&overrides);
        let cost = table.cost_usd(
            "gpt-4o-2024-11-20",
            &usage(1_000_000, 1_000_000, 1_000_000, 0),
        );
        assert!(close(cost, 1.0 + 2.0 + 1.0), "{cost}");
        assert!(close(
            table.cost_usd("qwen2.5-coder", &usage(0, 0, 1_000_000, 0)),
            0.1
        ));
        assert!(table.lookup("qwen2.5").note.contains("config"));
    }
}
