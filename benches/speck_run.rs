//! `speck run`'s concurrency gain: a three-phase plan (two tasks each) whose every task waits a
//! fixed, injected "provider latency", run with one phase at a time and with three at once. The
//! ratio of the two is what running phases concurrently buys; the rest is our own overhead
//! (copying the workspace, bookkeeping).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use agentci::agents::speck::decompose::{Options, build};
use agentci::agents::speck::run::{
    PhasePublisher, Publication, RunRequest, TaskReport, TaskRun, TaskRunner, run,
};
use agentci::agents::speck::tasks::{Decomposition, Submission, builtin_registry};
use agentci::agents::speck::tiers;
use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

/// What one task's model calls take in this benchmark.
const LATENCY: Duration = Duration::from_millis(25);

struct SlowRunner;

#[async_trait]
impl TaskRunner for SlowRunner {
    async fn run(&self, run: &TaskRun<'_>) -> TaskReport {
        tokio::time::sleep(LATENCY).await;
        let written = std::fs::write(
            run.workspace.join(format!("{}.txt", run.task.id)),
            &run.task.title,
        );
        TaskReport {
            ok: written.is_ok(),
            ..TaskReport::default()
        }
    }
}

struct NoPublisher;

#[async_trait]
impl PhasePublisher for NoPublisher {
    async fn publish(&self, _: &Publication<'_>) -> Result<Option<String>, String> {
        Ok(None)
    }
}

fn plan() -> Decomposition {
    let mut tasks = Vec::new();
    for phase in 1..=3 {
        for step in 1..=2 {
            tasks.push(json!({"id": format!("p{phase}s{step}"), "title": format!("Phase {phase} step {step}"), "description": "d", "phase": phase, "phase_name": format!("Story {phase}"), "task_type": "implementation", "estimated_complexity": "low", "files_to_modify": [format!("s{phase}/f{step}.py")], "definition_of_done": ["done"], "agent": "monty"}));
        }
    }
    let submission: Submission =
        serde_json::from_value(json!({"feature": "bench", "spec_summary": "s", "tasks": tasks}))
            .unwrap();
    let options = Options {
        include_tests: false,
        include_review: false,
        create_pr: false,
        tiers: tiers::builtin("claude").unwrap(),
        registry: builtin_registry(),
    };
    build(&submission, &options).unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let plan = plan();
    let source = tempfile::tempdir().unwrap();
    for file in 0..20 {
        std::fs::write(
            source.path().join(format!("file{file}.py")),
            "print('x')\n".repeat(50),
        )
        .unwrap();
    }
    let mut group = c.benchmark_group("speck_run_3_phases");
    group.sample_size(10);
    for max_parallel in [1, 3] {
        group.bench_function(format!("max_parallel_{max_parallel}"), |bencher| {
            bencher.iter(|| {
                let work = tempfile::tempdir().unwrap();
                let options = RunRequest {
                    source: source.path().to_path_buf(),
                    phase: None,
                    max_parallel,
                    create_pr: false,
                    allow_exec: false,
                    work_dir: work.path().to_path_buf(),
                    limits: Default::default(),
                };
                runtime
                    .block_on(run(
                        &plan,
                        &options,
                        Arc::new(SlowRunner),
                        Arc::new(NoPublisher),
                    ))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
