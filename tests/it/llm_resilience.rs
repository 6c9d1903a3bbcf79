//! Whole agent runs against fake provider servers speaking the real wire formats: a stalled or
//! never-starting answer ends by the idle timeout and the run finishes on the retry; an
//! in-stream `overloaded_error` is retried; a tool call cut by the output limit is not run; the
//! Anthropic prompt cache breakpoints move with the conversation.

use std::sync::Arc;
use std::time::Duration;

use agentci::agent::{
    Access, Agent, AgentSpec, RunError, Workspace, report_submit, workspace_tools,
};
use agentci::llm::{Provider, ProviderKind};
use serde_json::{Value, json};

use crate::support::llm::{Row, Wire, fast_retry};
use crate::support::raw_server::{Part, RawServer, Reply};
use crate::support::wire::{self, anthropic, openai};

const ANTHROPIC: Row = Row {
    name: "anthropic",
    kind: ProviderKind::Anthropic,
    wire: Wire::Anthropic,
    azure: false,
};

const OPENAI: Row = Row {
    name: "openai",
    kind: ProviderKind::OpenAi,
    wire: Wire::OpenAi,
    azure: false,
};

fn spec() -> AgentSpec {
    AgentSpec {
        agent: "monty".into(),
        verb: "test".into(),
        system_prompt: "You are a test agent.".into(),
    }
}

fn provider(row: Row, server: &RawServer, idle: Duration) -> Arc<dyn Provider> {
    let mut settings = row.settings(&server.origin);
    settings.retry = fast_retry(4).with_idle_timeout(idle);
    agentci::llm::build_provider(settings).unwrap()
}

fn sse(body: String) -> Reply {
    Reply::body("text/event-stream", body)
}

fn bodies(server: &RawServer) -> Vec<Value> {
    server
        .seen()
        .iter()
        .map(|seen| serde_json::from_slice(&seen.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_run_finishes_after_a_stalled_stream_and_an_answer_that_never_starts() {
    let server = RawServer::start(vec![
        Reply::ok(
            "text/event-stream",
            vec![
                Part::Send(wire::unfinished(Wire::Anthropic, "I will")),
                Part::Hang,
            ],
        ),
        Reply::never_starts(),
        sse(anthropic::text_answer("All checks pass.")),
        // A spare answer: on a loaded machine the retry itself may miss a 300 ms deadline.
        sse(anthropic::text_answer("All checks pass.")),
    ])
    .await;
    let run = Agent::new(
        provider(ANTHROPIC, &server, Duration::from_millis(300)),
        spec(),
    )
    .run("Check the build.", report_submit());
    let outcome = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the run hung")
        .unwrap();
    assert_eq!(outcome.value.text, "All checks pass.");
    assert_eq!(outcome.turns, 1);
    assert!(
        server.seen().len() >= 3,
        "both stalled attempts were retried"
    );
}

#[tokio::test]
async fn an_overloaded_error_mid_stream_is_retried_within_the_turn() {
    let server = RawServer::start(vec![
        sse(wire::overloaded_mid_stream(Wire::Anthropic)),
        sse(anthropic::text_answer("Recovered.")),
    ])
    .await;
    let outcome = Agent::new(
        provider(ANTHROPIC, &server, Duration::from_secs(10)),
        spec(),
    )
    .run("Check the build.", report_submit())
    .await
    .unwrap();
    assert_eq!(outcome.value.text, "Recovered.");
    assert_eq!(outcome.turns, 1);
    // The usage of the failed attempt counts too (12 input tokens each).
    assert_eq!(outcome.usage.input_tokens, 24);
    let bodies = bodies(&server);
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the retry re-sends the same turn");
}

/// An answer whose `write_file` call the output limit cut off, in `row`'s wire.
fn cut_write_file(row: Row) -> String {
    let partial = "{\"path\": \"big.py\", \"content\": \"print(1)\\nprint(";
    match row.wire {
        Wire::Anthropic => anthropic::sse(&[
            anthropic::message_start(40, 0, 0),
            anthropic::text_start(0),
            anthropic::text_delta(0, "Writing the module."),
            anthropic::block_stop(0),
            anthropic::tool_start(1, "toolu_01", "write_file"),
            anthropic::json_delta(1, partial),
            anthropic::block_stop(1),
            anthropic::message_delta("max_tokens", 64_000),
            anthropic::message_stop(),
        ]),
        _ => openai::sse(&[
            openai::role(),
            openai::tool_start(0, "call_01", "write_file"),
            openai::tool_arguments(0, partial),
            openai::finish("length"),
            openai::usage(40, 32_768, 0),
        ]),
    }
}

#[tokio::test]
async fn a_write_file_cut_by_the_output_limit_changes_nothing_and_the_model_is_told() {
    for row in [ANTHROPIC, OPENAI] {
        let source = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(source.path()).unwrap();
        let server = RawServer::start(vec![
            sse(cut_write_file(row)),
            sse(wire::text_answer(row.wire, "I will write it in parts.")),
        ])
        .await;
        let outcome = Agent::new(provider(row, &server, Duration::from_secs(10)), spec())
            .tools(workspace_tools(&workspace, Access::ReadWrite))
            .run("Write big.py.", report_submit())
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", row.name));
        assert_eq!(
            outcome.value.text, "I will write it in parts.",
            "{}",
            row.name
        );
        assert_eq!(outcome.turns, 2, "{}", row.name);
        assert!(!workspace.has_changes(), "{}", row.name);
        assert!(!source.path().join("big.py").exists(), "{}", row.name);
        let bodies = bodies(&server);
        let told = bodies[1]["messages"].to_string();
        assert!(
            told.contains("cut off by the output limit"),
            "{}: {told}",
            row.name
        );
        assert!(told.contains("`write_file`"), "{}: {told}", row.name);
        assert!(
            !told.contains("print(1)"),
            "{}: the cut call is not replayed",
            row.name
        );
        // The limit comes from the model table, not a fixed 8,192.
        let asked = match row.wire {
            Wire::Anthropic => &bodies[0]["max_tokens"],
            _ => &bodies[0]["max_completion_tokens"],
        };
        let expected = agentci::llm::pricing::max_output_tokens(row.kind.default_model());
        assert_eq!(asked, &json!(expected), "{}", row.name);
        assert!(expected > 8_192, "{}", row.name);
    }
}

#[tokio::test]
async fn a_second_cut_in_a_row_is_a_clear_error() {
    let source = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(source.path()).unwrap();
    let server = RawServer::start(vec![
        sse(cut_write_file(ANTHROPIC)),
        sse(cut_write_file(ANTHROPIC)),
    ])
    .await;
    let error = Agent::new(
        provider(ANTHROPIC, &server, Duration::from_secs(10)),
        spec(),
    )
    .tools(workspace_tools(&workspace, Access::ReadWrite))
    .run("Write big.py.", report_submit())
    .await
    .err()
    .unwrap();
    assert!(
        matches!(&error, RunError::OutputLimit { tool, .. } if tool == "write_file"),
        "{error:?}"
    );
    assert!(error.to_string().contains("output limit"), "{error}");
    assert!(!workspace.has_changes());
}

/// Where `cache_control` appears in one Anthropic request body.
fn breakpoints(body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    fn walk(value: &Value, at: String, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.contains_key("cache_control") {
                    found.push(at.clone());
                }
                for (key, inner) in map {
                    walk(inner, format!("{at}/{key}"), found);
                }
            }
            Value::Array(items) => {
                for (index, inner) in items.iter().enumerate() {
                    walk(inner, format!("{at}/{index}"), found);
                }
            }
            _ => {}
        }
    }
    walk(body, String::new(), &mut found);
    found
}

#[tokio::test]
async fn every_anthropic_request_caches_up_to_its_newest_message_with_a_stable_prefix() {
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("a.py"), "print('a')\n").unwrap();
    std::fs::write(source.path().join("b.py"), "print('b')\n").unwrap();
    let workspace = Workspace::open(source.path()).unwrap();
    let read = |index: u64, id: &str, file: &str| {
        anthropic::sse(&[
            anthropic::message_start(900, 800, 100),
            anthropic::tool_start(index, id, "read_file"),
            anthropic::json_delta(index, &format!("{{\"path\": \"{file}\"}}")),
            anthropic::block_stop(index),
            anthropic::message_delta("tool_use", 20),
            anthropic::message_stop(),
        ])
    };
    let server = RawServer::start(vec![
        sse(read(0, "toolu_01", "a.py")),
        sse(read(0, "toolu_02", "b.py")),
        sse(anthropic::text_answer("Both files print.")),
    ])
    .await;
    let outcome = Agent::new(
        provider(ANTHROPIC, &server, Duration::from_secs(10)),
        spec(),
    )
    .tools(workspace_tools(&workspace, Access::ReadOnly))
    .context("## Project context\n\nrules".into())
    .run("Read both files.", report_submit())
    .await
    .unwrap();
    assert_eq!(outcome.turns, 3);
    assert!(outcome.usage.cache_read_tokens > 0);
    let bodies = bodies(&server);
    assert_eq!(bodies.len(), 3);
    for (turn, body) in bodies.iter().enumerate() {
        let messages = body["messages"].as_array().unwrap();
        let newest = messages.last().unwrap()["content"].as_array().unwrap();
        assert_eq!(
            newest.last().unwrap()["cache_control"],
            json!({"type": "ephemeral"}),
            "turn {}: no breakpoint on the newest message",
            turn + 1
        );
        let all = breakpoints(body);
        assert!(all.len() <= 4, "turn {}: {all:?}", turn + 1);
        // Only the newest message carries one: older ones move on.
        let in_messages: Vec<_> = all
            .iter()
            .filter(|at| at.starts_with("/messages"))
            .collect();
        assert_eq!(
            in_messages,
            [&format!(
                "/messages/{}/content/{}",
                messages.len() - 1,
                newest.len() - 1
            )],
            "turn {}",
            turn + 1
        );
        // System prompt and tool list: byte for byte the same on every turn.
        assert_eq!(
            body["system"].to_string(),
            bodies[0]["system"].to_string(),
            "turn {}",
            turn + 1
        );
        assert_eq!(
            body["tools"].to_string(),
            bodies[0]["tools"].to_string(),
            "turn {}",
            turn + 1
        );
    }
}

#[tokio::test]
async fn keep_alive_pings_reset_the_idle_timeout() {
    let pause = || Part::Pause(Duration::from_millis(200));
    let ping = || Part::Send(anthropic::event(anthropic::ping()));
    let server = RawServer::start(vec![Reply::ok(
        "text/event-stream",
        vec![
            Part::Send(anthropic::sse(&[anthropic::message_start(12, 0, 0)])),
            pause(),
            ping(),
            pause(),
            ping(),
            pause(),
            ping(),
            pause(),
            Part::Send(anthropic::sse(&[
                anthropic::text_start(0),
                anthropic::text_delta(0, "Slow but alive."),
                anthropic::block_stop(0),
                anthropic::message_delta("end_turn", 3),
                anthropic::message_stop(),
            ])),
        ],
    )])
    .await;
    // 800 ms of answer, never 500 ms without a byte.
    let provider = provider(ANTHROPIC, &server, Duration::from_millis(500));
    let response = provider
        .complete(&crate::support::llm::ask("hi"))
        .await
        .unwrap();
    assert_eq!(response.text, "Slow but alive.");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn every_openai_request_extends_the_previous_one_so_automatic_caching_applies() {
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("a.py"), "print('a')\n").unwrap();
    std::fs::write(source.path().join("b.py"), "print('b')\n").unwrap();
    let workspace = Workspace::open(source.path()).unwrap();
    let read = |id: &str, file: &str| {
        openai::sse(&[
            openai::role(),
            openai::tool_start(0, id, "read_file"),
            openai::tool_arguments(0, &format!("{{\"path\": \"{file}\"}}")),
            openai::finish("tool_calls"),
            openai::usage(900, 20, 768),
        ])
    };
    let server = RawServer::start(vec![
        sse(read("call_01", "a.py")),
        sse(read("call_02", "b.py")),
        sse(wire::text_answer(Wire::OpenAi, "Both files print.")),
    ])
    .await;
    let outcome = Agent::new(provider(OPENAI, &server, Duration::from_secs(10)), spec())
        .tools(workspace_tools(&workspace, Access::ReadOnly))
        .context("## Project context\n\nrules".into())
        .run("Read both files.", report_submit())
        .await
        .unwrap();
    assert_eq!(outcome.turns, 3);
    assert_eq!(outcome.usage.cache_read_tokens, 2 * 768);
    let bodies = bodies(&server);
    assert_eq!(bodies.len(), 3);
    for pair in bodies.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert_eq!(before["tools"].to_string(), after["tools"].to_string());
        let (before, after) = (
            before["messages"].as_array().unwrap(),
            after["messages"].as_array().unwrap(),
        );
        assert!(after.len() > before.len());
        // Byte for byte: the earlier request is a prefix of the later one.
        for (old, new) in before.iter().zip(after) {
            assert_eq!(old.to_string(), new.to_string());
        }
    }
}
