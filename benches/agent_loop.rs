//! The agent loop's own overhead per turn: a zero-latency scripted provider answers with one
//! read-only tool call per turn (a `read_file` on a real workspace) and a typed submission at the
//! end, so what is measured is request building, tool dispatch, redaction and bookkeeping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use agentci::agent::{Access, Agent, AgentSpec, Budget, Submit, Workspace, workspace_tools};
use agentci::llm::Provider;
use agentci::llm::fake::{ScriptedProvider, Step, tool_call};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, JsonSchema)]
struct Done {
    #[allow(dead_code)]
    summary: String,
}

fn steps(turns: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = (0..turns - 1)
        .map(|turn| {
            tool_call(
                "read_file",
                json!({"path": format!("src/file{}.py", turn % 10)}),
            )
        })
        .collect();
    steps.push(tool_call("submit_done", json!({"summary": "done"})));
    steps
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let source = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(source.path().join("src")).unwrap();
    for file in 0..10 {
        std::fs::write(
            source.path().join(format!("src/file{file}.py")),
            "def f(x):\n    return x + 1\n".repeat(40),
        )
        .unwrap();
    }
    let mut group = c.benchmark_group("agent_loop");
    for turns in [10usize, 40] {
        group.throughput(Throughput::Elements(turns as u64));
        group.bench_with_input(
            BenchmarkId::new("turns", turns),
            &turns,
            |bencher, turns| {
                bencher.iter(|| {
                    let workspace = Workspace::open(source.path()).unwrap();
                    let provider: Arc<dyn Provider> =
                        Arc::new(ScriptedProvider::new(steps(*turns)));
                    let agent = Agent::new(
                        provider,
                        AgentSpec {
                            agent: "monty".into(),
                            verb: "bench".into(),
                            system_prompt: "You are a benchmark.".into(),
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
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
