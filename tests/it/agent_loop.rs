//! The agent loop on a scripted provider (no HTTP): typed submissions and their retries, tool
//! errors, concurrency of read-only calls, the repeat detector, every budget, events, redaction.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentci::agent::{
    Agent, AgentSpec, Budget, BudgetKind, EventSink, RunError, Submit, Tool, ToolError,
    report_submit,
};
use agentci::llm::fake::{ScriptedProvider, Step, text, tool_call, tool_calls};
use agentci::llm::{ContentBlock, Provider, Request, Response, StopReason, ToolSpec, Usage};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// A read-only lookup that can wait on a shared barrier (to prove concurrent calls) or fail.
struct Lookup {
    barrier: Option<Arc<tokio::sync::Barrier>>,
}

#[async_trait]
impl Tool for Lookup {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "lookup".into(),
            description: "Look a key up".into(),
            parameters: json!({"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}),
        }
    }
    fn read_only(&self) -> bool {
        true
    }
    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        if let Some(barrier) = &self.barrier {
            tokio::time::timeout(Duration::from_secs(10), barrier.wait())
                .await
                .map_err(|_| ToolError::Failed("not concurrent".into()))?;
        }
        match arguments["key"].as_str() {
            Some("missing") => Err(ToolError::InvalidArguments("no such key `missing`".into())),
            Some("secret") => Ok("value: planted-secret-value-123".into()),
            Some(key) => Ok(format!("value of {key}")),
            None => Err(ToolError::InvalidArguments("`key` is required".into())),
        }
    }
}

/// A write tool that records the order of its calls.
struct Append {
    log: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Tool for Append {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "append".into(),
            description: "Append".into(),
            parameters: json!({"type": "object", "properties": {"item": {"type": "string"}}}),
        }
    }
    fn read_only(&self) -> bool {
        false
    }
    async fn call(&self, arguments: Value) -> Result<String, ToolError> {
        self.log
            .lock()
            .unwrap()
            .push(arguments["item"].as_str().unwrap_or_default().to_owned());
        Ok("ok".into())
    }
}

#[derive(Debug, JsonSchema, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Answer {
    value: String,
    count: u32,
}

fn answer_submit() -> Submit<Answer> {
    Submit::new("submit_answer", "Submit the answer").validate(|answer: &Answer| {
        if answer.count == 0 {
            Err(vec!["`count` must be at least 1".into()])
        } else {
            Ok(())
        }
    })
}

fn spec() -> AgentSpec {
    AgentSpec {
        agent: "monty".into(),
        verb: "test".into(),
        system_prompt: "You are a test agent.".into(),
    }
}

fn agent(provider: &Arc<ScriptedProvider>) -> Agent {
    Agent::new(Arc::clone(provider) as Arc<dyn Provider>, spec())
        .tool(Arc::new(Lookup { barrier: None }))
}

fn results_of(request: &Request) -> Vec<(String, String, bool)> {
    request
        .messages
        .last()
        .unwrap()
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::ToolResult(result) => {
                Some((result.name.clone(), result.content.clone(), result.is_error))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_multi_turn_session_ends_in_a_typed_submission() {
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_call("lookup", json!({"key": "a"})),
        tool_call("submit_answer", json!({"value": "value of a", "count": 1})),
    ]));
    let outcome = agent(&provider)
        .context("## Project context: `AGENTS.md`\n\nrules".into())
        .run("Find a.", answer_submit())
        .await
        .unwrap();
    assert_eq!(
        outcome.value,
        Answer {
            value: "value of a".into(),
            count: 1
        }
    );
    assert_eq!(outcome.turns, 2);
    assert_eq!(outcome.usage.input_tokens, 200);
    let requests = provider.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].system,
        "You are a test agent.\n\n## Project context: `AGENTS.md`\n\nrules"
    );
    let names: Vec<&str> = requests[0]
        .tools
        .iter()
        .map(|tool| tool.name.as_str())
        .collect();
    assert_eq!(names, ["lookup", "submit_answer"]);
    assert_eq!(
        requests[0].tools[1].parameters["required"],
        json!(["value", "count"])
    );
    assert_eq!(
        results_of(&requests[1]),
        vec![("lookup".into(), "value of a".into(), false)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_calls_of_one_turn_run_concurrently_and_writes_in_order() {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let log = Arc::new(Mutex::new(Vec::new()));
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_calls(&[
            ("lookup", json!({"key": "x"})),
            ("lookup", json!({"key": "y"})),
            ("append", json!({"item": "1"})),
            ("append", json!({"item": "2"})),
        ]),
        tool_call("submit_answer", json!({"value": "v", "count": 2})),
    ]));
    let outcome = Agent::new(Arc::clone(&provider) as Arc<dyn Provider>, spec())
        .tool(Arc::new(Lookup {
            barrier: Some(barrier),
        }))
        .tool(Arc::new(Append {
            log: Arc::clone(&log),
        }))
        .run("go", answer_submit())
        .await
        .unwrap();
    assert_eq!(outcome.value.count, 2);
    let results = results_of(&provider.requests()[1]);
    assert_eq!(
        results[0],
        ("lookup".into(), "value of x".into(), false),
        "the two lookups met at the barrier"
    );
    assert_eq!(results[1], ("lookup".into(), "value of y".into(), false));
    assert_eq!(*log.lock().unwrap(), vec!["1".to_owned(), "2".to_owned()]);
}

#[tokio::test]
async fn a_tool_error_goes_back_and_the_model_recovers() {
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_call("lookup", json!({"key": "missing"})),
        tool_call("nonexistent", json!({})),
        tool_call("submit_answer", json!({"value": "recovered", "count": 1})),
    ]));
    let outcome = agent(&provider).run("go", answer_submit()).await.unwrap();
    assert_eq!(outcome.value.value, "recovered");
    let requests = provider.requests();
    assert_eq!(
        results_of(&requests[1]),
        vec![(
            "lookup".into(),
            "Error: invalid arguments: no such key `missing`".into(),
            true
        )]
    );
    assert_eq!(
        results_of(&requests[2]),
        vec![(
            "nonexistent".into(),
            "Error: there is no tool named `nonexistent` in this run".into(),
            true
        )]
    );
}

#[tokio::test]
async fn invalid_submissions_are_sent_back_then_fail_after_two_retries() {
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_call("submit_answer", json!({"value": "v"})),
        tool_call("submit_answer", json!({"value": "v", "count": 0})),
        tool_call("submit_answer", json!({"value": "v", "count": 3})),
    ]));
    let outcome = agent(&provider).run("go", answer_submit()).await.unwrap();
    assert_eq!(outcome.value.count, 3);
    let requests = provider.requests();
    let first = &results_of(&requests[1])[0];
    assert!(
        first.2 && first.1.contains("\"count\" is a required property"),
        "{first:?}"
    );
    assert_eq!(
        results_of(&requests[2])[0].1,
        "The submission was not accepted. Fix these problems and submit again:\n- `count` must be at least 1\n"
    );

    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_call("submit_answer", json!({"value": "v", "count": 0})),
        tool_call("submit_answer", json!({"value": "w", "count": 0})),
        tool_call("submit_answer", json!({"value": "x", "count": 0})),
    ]));
    let error = agent(&provider)
        .run("go", answer_submit())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&error, RunError::InvalidSubmission { reasons } if reasons == &vec!["`count` must be at least 1".to_owned()]),
        "{error}"
    );
    assert_eq!(
        agentci::cli::exit_for(&error.into()),
        agentci::exit::Exit::Provider
    );
}

#[tokio::test]
async fn a_looping_model_is_warned_then_stopped() {
    let steps: Vec<Step> = (0..6)
        .map(|_| tool_call("lookup", json!({"key": "a"})))
        .collect();
    // The run is stopped before the script ends: that is the point.
    let provider = Arc::new(ScriptedProvider::new(steps).allowing_unused_steps());
    let error = agent(&provider)
        .run("go", answer_submit())
        .await
        .err()
        .unwrap();
    assert!(matches!(&error, RunError::Repeated { tool } if tool == "lookup"));
    let requests = provider.requests();
    assert_eq!(requests.len(), 5);
    assert!(
        !results_of(&requests[2])[0]
            .1
            .contains("repeating it again will stop the run")
    );
    assert!(
        results_of(&requests[3])[0]
            .1
            .contains("repeating it again will stop the run")
    );
    assert_eq!(
        agentci::cli::exit_for(&error.into()),
        agentci::exit::Exit::Budget
    );
}

#[tokio::test]
async fn each_budget_stops_the_run_and_is_reported() {
    let looping = || {
        Arc::new(ScriptedProvider::with_responder(|request: &Request| {
            Ok(Response {
                tool_calls: vec![agentci::llm::ToolCall {
                    id: "c".into(),
                    name: "lookup".into(),
                    arguments: json!({"key": format!("k{}", request.messages.len())}),
                }],
                usage: Usage {
                    input_tokens: 1_000,
                    output_tokens: 100,
                    ..Usage::default()
                },
                stop_reason: StopReason::ToolUse,
                ..Response::default()
            })
        }))
    };
    let cases = [
        (
            Budget {
                max_turns: 3,
                ..Budget::default()
            },
            BudgetKind::Turns,
            3,
        ),
        (
            Budget {
                max_tokens: Some(2_500),
                ..Budget::default()
            },
            BudgetKind::Tokens,
            3,
        ),
        (
            Budget {
                max_cost_usd: Some(0.05),
                ..Budget::default()
            },
            BudgetKind::Cost,
            5,
        ),
    ];
    for (budget, expected, turns) in cases {
        let buffer = SharedBuffer::default();
        let provider = looping();
        let error = agent(&provider)
            .budget(budget)
            .pricing(|usage| usage.total() as f64 * 0.00001)
            .events(EventSink::to_writer(Box::new(buffer.clone())))
            .run("go", answer_submit())
            .await
            .err()
            .unwrap();
        match &error {
            RunError::Budget {
                which, turns: ran, ..
            } => {
                assert_eq!(*which, expected);
                assert_eq!(*ran, turns, "{expected:?}");
            }
            other => panic!("{other}"),
        }
        assert!(
            buffer
                .text()
                .contains("\"type\":\"budget.exhausted\",\"ts\":"),
            "{}",
            buffer.text()
        );
        assert_eq!(
            agentci::cli::exit_for(&error.into()),
            agentci::exit::Exit::Budget
        );
    }

    let slow = Arc::new(SlowProvider);
    let error = Agent::new(slow, spec())
        .budget(Budget {
            timeout: Some(Duration::from_millis(200)),
            ..Budget::default()
        })
        .run("go", answer_submit())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            RunError::Budget {
                which: BudgetKind::Time,
                ..
            }
        ),
        "{error}"
    );
}

/// Never answers within a short timeout.
struct SlowProvider;

#[async_trait]
impl Provider for SlowProvider {
    fn kind(&self) -> agentci::llm::ProviderKind {
        agentci::llm::ProviderKind::OpenAiCompatible
    }
    fn model(&self) -> &str {
        "slow"
    }
    async fn stream(
        &self,
        _request: &Request,
    ) -> Result<agentci::llm::EventStream, agentci::llm::LlmError> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Err(agentci::llm::LlmError::Timeout)
    }
}

#[tokio::test]
async fn a_plain_text_answer_is_a_report_and_other_types_get_one_nudge() {
    let provider = Arc::new(ScriptedProvider::new(vec![text(
        "## Answer\n\nIt is fine.",
    )]));
    let outcome = agent(&provider)
        .run("explain", report_submit())
        .await
        .unwrap();
    assert_eq!(outcome.value.text, "## Answer\n\nIt is fine.");

    let provider = Arc::new(ScriptedProvider::new(vec![
        text("done"),
        text("still done"),
    ]));
    let error = agent(&provider)
        .run("go", answer_submit())
        .await
        .err()
        .unwrap();
    assert!(matches!(error, RunError::NoSubmission));
    let nudge = provider.requests()[1].messages.last().unwrap().text();
    assert_eq!(
        nudge,
        "Finish by calling the `submit_answer` tool with your result; a plain answer is not used."
    );
}

#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn events_are_written_in_order_and_secrets_never_leave() {
    agentci::redact::register_secret("planted-secret-value-123");
    let buffer = SharedBuffer::default();
    let provider = Arc::new(ScriptedProvider::new(vec![
        tool_call("lookup", json!({"key": "secret"})),
        tool_call("submit_answer", json!({"value": "ok", "count": 1})),
    ]));
    agent(&provider)
        .events(EventSink::to_writer(Box::new(buffer.clone())))
        .run("go", answer_submit())
        .await
        .unwrap();
    let text = buffer.text();
    let kinds: Vec<String> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "run.started",
            "llm.request",
            "llm.response",
            "tool.call",
            "tool.result",
            "llm.request",
            "llm.response",
            "tool.call",
            "tool.result",
            "run.completed"
        ]
    );
    assert!(!text.contains("planted-secret-value-123"));
    let sent = format!("{:?}", provider.requests());
    assert!(
        !sent.contains("planted-secret-value-123"),
        "the provider saw the secret"
    );
    assert!(sent.contains("value: [REDACTED]"));
    let completed: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(completed["ok"], true);
    assert_eq!(completed["turns"], 2);
}
