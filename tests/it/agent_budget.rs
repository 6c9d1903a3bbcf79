//! One budget and one events file per command (issue #12 item 8): the runs of a command share a
//! spending ledger, so the second and third runs of `develop-issue` (route, verb, retry) cannot
//! each spend the whole `--max-cost-usd`; `--events` appends and tags each event with its run.

use std::sync::Arc;

use agentci::agent::budget::Ledger;
use agentci::agent::{Agent, AgentSpec, Budget, BudgetKind, EventSink, RunError, Submit};
use agentci::llm::fake::{ScriptedProvider, tool_call};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, JsonSchema, Deserialize)]
struct Answer {
    #[allow(dead_code)]
    count: u32,
}

fn spec(verb: &str) -> AgentSpec {
    AgentSpec {
        agent: "monty".into(),
        verb: verb.into(),
        system_prompt: "You are a test agent.".into(),
    }
}

#[tokio::test]
async fn the_runs_of_one_command_share_its_budget_and_its_events_file() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, "{\"type\":\"earlier\"}\n").unwrap();
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_call("submit_answer", json!({"count": 1})),
        tool_call("submit_answer", json!({"count": 2})),
    ]));
    let ledger = Ledger::shared();
    let budget = Budget {
        max_cost_usd: Some(1.0),
        ..Budget::default()
    };
    // Each turn costs $0.60: the route run and the verb run fit, the retry run may not start.
    let run = |verb: &'static str| {
        Agent::new(provider.clone(), spec(verb))
            .budget(budget.clone())
            .ledger(Arc::clone(&ledger))
            .events(EventSink::from_flag(Some(events.to_str().unwrap())).unwrap())
            .pricing(|_| 0.6)
            .run("go", Submit::<Answer>::new("submit_answer", "Submit"))
    };
    let route = run("route").await.unwrap();
    let verb = run("assist").await.unwrap();
    let error = run("retry").await.err().unwrap();
    assert!(
        matches!(
            error,
            RunError::Budget {
                which: BudgetKind::Cost,
                turns: 0,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(ledger.spent().turns, 2);
    assert!((ledger.spent().cost_usd - 1.2).abs() < 1e-9);

    // A run on its own ledger would have had the whole budget again.
    let fresh = Agent::new(
        Arc::new(ScriptedProvider::new(vec![tool_call(
            "submit_answer",
            json!({"count": 3}),
        )])),
        spec("alone"),
    )
    .budget(budget.clone())
    .pricing(|_| 0.6)
    .run("go", Submit::<Answer>::new("submit_answer", "Submit"))
    .await;
    assert!(fresh.is_ok());

    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "earlier", "the file is appended to");
    let mut runs: Vec<&str> = Vec::new();
    for event in &lines[1..] {
        let run_id = event["run_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{event}"));
        if !runs.contains(&run_id) {
            runs.push(run_id);
        }
    }
    assert_eq!(runs, [route.run_id.as_str(), verb.run_id.as_str(), runs[2]]);
    assert_eq!(runs.len(), 3);
    let started: Vec<&str> = lines
        .iter()
        .filter(|event| event["type"] == "run.started")
        .map(|event| event["verb"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["route", "assist", "retry"]);
    assert!(
        lines
            .iter()
            .any(|event| event["type"] == "budget.exhausted" && event["run_id"] == runs[2])
    );
}
