//! The share of input tokens served from the provider's prompt cache over a scripted agent run,
//! at turns 5, 10 and 20. A fake provider takes the real request body agentci builds
//! (`anthropic::request_body`) and reports usage as the Messages API does: a request reads from
//! the cache the longest prefix an earlier request wrote at a `cache_control` breakpoint, writes
//! up to its own last breakpoint, and pays full price for the rest (prefixes under 1,024 tokens
//! are not cached). The same run is also scored as OpenAI's automatic caching scores it: the
//! longest prefix seen before, in 128-token steps from 1,024. Tokens are counted as JSON
//! characters / 4.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use agentci::agent::{Access, Agent, AgentSpec, Budget, Submit, Workspace, workspace_tools};
use agentci::llm::{
    EventStream, LlmError, Provider, ProviderKind, Request, StopReason, StreamEvent, ToolCall,
    Usage, anthropic,
};
use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

const TURNS: usize = 20;
const MIN_CACHED: u64 = 1_024;

#[derive(Deserialize, JsonSchema)]
struct Done {
    #[allow(dead_code)]
    summary: String,
}

fn tokens(value: &Value) -> u64 {
    (value.to_string().len() as u64).div_ceil(4)
}

/// The prompt in cache order (tools, system, messages), one entry per block: its tokens, the
/// hash of the prefix ending with it, and whether it carries a breakpoint.
fn blocks(body: &Value) -> Vec<(u64, u64, bool)> {
    let mut flat = Vec::new();
    for tool in body["tools"].as_array().into_iter().flatten() {
        flat.push(tool.clone());
    }
    for block in body["system"].as_array().into_iter().flatten() {
        flat.push(block.clone());
    }
    for message in body["messages"].as_array().into_iter().flatten() {
        for block in message["content"].as_array().into_iter().flatten() {
            flat.push(json!({"role": message["role"], "block": block}));
        }
    }
    let mut prefix = 0xcbf2_9ce4_8422_2325u64;
    flat.iter()
        .map(|block| {
            let mut plain = block.clone();
            let marked = strip_breakpoint(&mut plain);
            for byte in plain.to_string().bytes() {
                prefix ^= u64::from(byte);
                prefix = prefix.wrapping_mul(0x0000_0100_0000_01b3);
            }
            (tokens(&plain), prefix, marked)
        })
        .collect()
}

fn strip_breakpoint(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut found = map.remove("cache_control").is_some();
            for inner in map.values_mut() {
                found |= strip_breakpoint(inner);
            }
            found
        }
        Value::Array(items) => {
            let mut found = false;
            for inner in items {
                found |= strip_breakpoint(inner);
            }
            found
        }
        _ => false,
    }
}

/// Usage as the Messages API reports it, updating the cache with what this request writes.
fn anthropic_usage(body: &Value, cache: &mut HashSet<u64>) -> Usage {
    let blocks = blocks(body);
    let total: u64 = blocks.iter().map(|(count, _, _)| count).sum();
    let mut read = 0;
    let mut running = 0;
    for (count, prefix, _) in &blocks {
        running += count;
        if cache.contains(prefix) {
            read = running;
        }
    }
    let mut written_to = read;
    running = 0;
    for (count, prefix, marked) in &blocks {
        running += count;
        if *marked && running >= MIN_CACHED {
            cache.insert(*prefix);
            written_to = written_to.max(running);
        }
    }
    Usage {
        input_tokens: total - written_to,
        output_tokens: 30,
        cache_read_tokens: read,
        cache_creation_tokens: written_to - read,
    }
}

/// Usage as OpenAI's automatic caching reports it for the same prompt (no breakpoints: the
/// longest prefix seen before, in 128-token steps from 1,024).
fn openai_usage(body: &Value, seen: &mut Vec<Vec<u64>>) -> Usage {
    let blocks = blocks(body);
    let prefixes: Vec<u64> = blocks.iter().map(|(_, prefix, _)| *prefix).collect();
    let total: u64 = blocks.iter().map(|(count, _, _)| count).sum();
    let mut best = 0;
    for earlier in seen.iter() {
        let mut running = 0;
        for (index, (count, prefix, _)) in blocks.iter().enumerate() {
            if earlier.get(index) != Some(prefix) {
                break;
            }
            running += count;
        }
        best = best.max(running);
    }
    seen.push(prefixes);
    let cached = if best >= MIN_CACHED {
        best / 128 * 128
    } else {
        0
    };
    Usage {
        input_tokens: total - cached,
        output_tokens: 30,
        cache_read_tokens: cached,
        cache_creation_tokens: 0,
    }
}

#[derive(Default)]
struct Log {
    anthropic: Vec<Usage>,
    openai: Vec<Usage>,
    /// Anthropic with breakpoints on the tools and the system prompt only (no moving one), as
    /// agentci sent requests before: for comparison.
    prefix_only: Vec<Usage>,
    anthropic_cache: HashSet<u64>,
    openai_seen: Vec<Vec<u64>>,
    prefix_only_cache: HashSet<u64>,
}

/// Answers with one `read_file` per turn, then the submission; scores each request's usage.
struct CachingProvider {
    log: Arc<Mutex<Log>>,
}

#[async_trait]
impl Provider for CachingProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn model(&self) -> &str {
        "claude-sonnet-4-5"
    }

    async fn stream(&self, request: &Request) -> Result<EventStream, LlmError> {
        let body = anthropic::request_body(self.model(), request);
        let mut log = self.log.lock().unwrap();
        let Log {
            anthropic: anthropic_log,
            openai: openai_log,
            prefix_only,
            anthropic_cache,
            openai_seen,
            prefix_only_cache,
        } = &mut *log;
        let usage = anthropic_usage(&body, anthropic_cache);
        anthropic_log.push(usage);
        openai_log.push(openai_usage(&body, openai_seen));
        let mut without_moving = body.clone();
        strip_breakpoint(&mut without_moving["messages"]);
        prefix_only.push(anthropic_usage(&without_moving, prefix_only_cache));
        let turn = anthropic_log.len();
        let call = if turn < TURNS {
            ToolCall {
                id: format!("toolu_{turn:02}"),
                name: "read_file".into(),
                arguments: json!({"path": format!("src/file{}.py", turn % 10)}),
            }
        } else {
            ToolCall {
                id: format!("toolu_{turn:02}"),
                name: "submit_done".into(),
                arguments: json!({"summary": "done"}),
            }
        };
        let events = vec![
            Ok(StreamEvent::ToolCall(call)),
            Ok(StreamEvent::Usage(usage)),
            Ok(StreamEvent::Stop(StopReason::ToolUse)),
        ];
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

fn workspace() -> (tempfile::TempDir, Arc<Workspace>) {
    let source = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(source.path().join("src")).unwrap();
    for file in 0..10 {
        std::fs::write(
            source.path().join(format!("src/file{file}.py")),
            format!("def f{file}(x):\n    return x + {file}\n").repeat(40),
        )
        .unwrap();
    }
    let workspace = Workspace::open(source.path()).unwrap();
    (source, workspace)
}

fn run(runtime: &tokio::runtime::Runtime) -> Log {
    let (_source, workspace) = workspace();
    let log = Arc::new(Mutex::new(Log::default()));
    let provider = Arc::new(CachingProvider {
        log: Arc::clone(&log),
    });
    let agent = Agent::new(
        provider,
        AgentSpec {
            agent: "monty".into(),
            verb: "bench".into(),
            system_prompt: "You are a benchmark. Read the files one by one, then submit."
                .repeat(20),
        },
    )
    .tools(workspace_tools(&workspace, Access::ReadOnly))
    .budget(Budget {
        max_turns: 100,
        ..Budget::default()
    });
    runtime
        .block_on(agent.run(
            "Read the files.",
            Submit::<Done>::new("submit_done", "done"),
        ))
        .unwrap();
    Arc::try_unwrap(log).ok().unwrap().into_inner().unwrap()
}

/// The cached share of all input tokens of turns 1..=`turn`, and of turn `turn` alone.
fn shares(usages: &[Usage], turn: usize) -> (f64, f64) {
    let input =
        |usage: &Usage| usage.input_tokens + usage.cache_read_tokens + usage.cache_creation_tokens;
    let so_far = &usages[..turn];
    let read: u64 = so_far.iter().map(|usage| usage.cache_read_tokens).sum();
    let all: u64 = so_far.iter().map(input).sum();
    let this = &usages[turn - 1];
    (
        read as f64 / all as f64,
        this.cache_read_tokens as f64 / input(this) as f64,
    )
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let log = run(&runtime);
    for (wire, usages) in [
        ("anthropic", &log.anthropic),
        ("openai", &log.openai),
        ("anthropic-prefix-only", &log.prefix_only),
    ] {
        for turn in [5, 10, 20] {
            let (cumulative, this) = shares(usages, turn);
            println!(
                "prompt_cache {wire} turn {turn}: {:.1}% of input tokens so far from the cache, {:.1}% of this turn's",
                cumulative * 100.0,
                this * 100.0
            );
        }
    }
    c.bench_function("prompt_cache/20_turns", |bencher| {
        bencher.iter(|| run(&runtime))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
