//! The tool loop every agent verb runs on: a provider, the verb's tools, its system prompt and
//! context, a task, and a typed submit tool. Turns go on until the model submits a valid value
//! (or, for prose, answers in plain text), or a budget runs out.
//!
//! ```text
//! let outcome = Agent::new(provider, AgentSpec { agent, verb, system_prompt })
//!     .tools(workspace_tools(&workspace, Access::ReadOnly))
//!     .context(load_context(&source, "MONTY.md", &[]))
//!     .budget(Budget::from_config(&config.budget_with(global)))
//!     .events(EventSink::from_flag(global.events.as_deref())?)
//!     .run(&task, Submit::<SuggestionSubmission>::new("submit_suggestions", "…").validate(check))
//!     .await?;
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use futures::future::join_all;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::budget::{Budget, BudgetKind, Ledger};
use super::events::EventSink;
use super::submit::Submit;
use super::tool::Tool;
use crate::llm::{
    ContentBlock, LlmError, Message, Provider, Request, Role, ToolCall, ToolChoice, ToolResult,
    Usage,
};

/// After this many identical calls the model is warned; at `REPEAT_STOP` the run stops.
const REPEAT_WARN: u32 = 3;
const REPEAT_STOP: u32 = 5;
/// Invalid submissions sent back to the model before the run fails.
const SUBMIT_RETRIES: u32 = 2;

pub struct AgentSpec {
    pub agent: String,
    pub verb: String,
    pub system_prompt: String,
}

pub struct RunOutcome<T> {
    pub value: T,
    pub turns: u32,
    pub usage: Usage,
    pub cost_usd: f64,
    pub run_id: String,
}

impl<T> RunOutcome<T> {
    /// Log what the run spent, as `what` (`suggest-fix`, `speck plan`).
    pub fn log_usage(&self, what: &str) {
        tracing::info!(
            turns = self.turns,
            input_tokens = self.usage.input_tokens,
            output_tokens = self.usage.output_tokens,
            cost_usd = self.cost_usd,
            run = %self.run_id,
            "{what} finished"
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Provider(#[from] LlmError),
    #[error("the {} budget ran out after {turns} turns ({} tokens, ${cost_usd:.4})", which.name(), usage.total())]
    Budget {
        which: BudgetKind,
        turns: u32,
        usage: Usage,
        cost_usd: f64,
    },
    #[error("the model repeated the same `{tool}` call too often; run stopped")]
    Repeated { tool: String },
    #[error("the model's submission stayed invalid: {}", reasons.join("; "))]
    InvalidSubmission { reasons: Vec<String> },
    #[error("the model stopped without submitting a result")]
    NoSubmission,
    #[error(
        "the output limit ({max_output_tokens} tokens) cut off the model's `{tool}` call twice in a row; nothing of either answer was run (raise `[llm] max_output_tokens` or ask for smaller steps)"
    )]
    OutputLimit {
        tool: String,
        max_output_tokens: u32,
    },
}

type Pricing = Box<dyn Fn(&Usage) -> f64 + Send + Sync>;

pub struct Agent {
    provider: Arc<dyn Provider>,
    spec: AgentSpec,
    tools: Vec<Arc<dyn Tool>>,
    context: String,
    budget: Budget,
    /// What the whole command has spent; a run of its own unless shared with [`Agent::ledger`].
    ledger: Arc<Ledger>,
    events: EventSink,
    pricing: Pricing,
    progress: bool,
}

impl Agent {
    pub fn new(provider: Arc<dyn Provider>, spec: AgentSpec) -> Self {
        Self {
            provider,
            spec,
            tools: Vec::new(),
            context: String::new(),
            budget: Budget::default(),
            ledger: Ledger::shared(),
            events: EventSink::none(),
            pricing: Box::new(|_| 0.0),
            progress: false,
        }
    }

    pub fn tool(mut self, tool: Arc<dyn Tool>) -> Self {
        self.tools.push(tool);
        self
    }

    pub fn tools(mut self, tools: impl IntoIterator<Item = Arc<dyn Tool>>) -> Self {
        self.tools.extend(tools);
        self
    }

    pub fn context(mut self, text: String) -> Self {
        self.context = text;
        self
    }

    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Share one command-wide spending ledger: the budget's limits apply to everything spent
    /// by every agent given the same ledger.
    pub fn ledger(mut self, ledger: Arc<Ledger>) -> Self {
        self.ledger = ledger;
        self
    }

    pub fn events(mut self, events: EventSink) -> Self {
        self.events = events;
        self
    }

    pub fn pricing(mut self, cost: impl Fn(&Usage) -> f64 + Send + Sync + 'static) -> Self {
        self.pricing = Box::new(cost);
        self
    }

    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
        self
    }

    /// Run until the model submits a valid `T` (or answers in plain text, when `submit` accepts
    /// text), or a budget runs out.
    pub async fn run<T: JsonSchema + DeserializeOwned + Send + Sync + 'static>(
        self,
        task: &str,
        submit: Submit<T>,
    ) -> Result<RunOutcome<T>, RunError> {
        let mut state = State::new(&self);
        // Every event of this run says which run it belongs to.
        let mut agent = self;
        agent.events = agent.events.for_run(&state.run_id);
        let this = agent;
        // The turns fold into one `::group::` in Actions (a live line on a terminal).
        let phase = this
            .progress
            .then(|| crate::progress::phase(&format!("{} {}", this.spec.agent, this.spec.verb)));
        let result = this.turns(task, &submit, &mut state).await;
        drop(phase);
        let ok = result.is_ok();
        if let Err(RunError::Budget { which, .. }) = &result {
            this.events
                .emit("budget.exhausted", json!({"which": which.name()}));
        }
        this.events.emit(
            "run.completed",
            json!({"ok": ok, "turns": state.turns, "usage": usage_json(&state.usage), "cost_usd": state.cost_usd}),
        );
        if this.progress {
            crate::progress::finish(&format!(
                "{} {}: {} after {} turn(s), {} tokens, ${:.4}",
                this.spec.agent,
                this.spec.verb,
                if ok { "done" } else { "stopped" },
                state.turns,
                state.usage.total(),
                state.cost_usd
            ));
        }
        result.map(|value| RunOutcome {
            value,
            turns: state.turns,
            usage: state.usage,
            cost_usd: state.cost_usd,
            run_id: state.run_id,
        })
    }

    async fn turns<T: JsonSchema + DeserializeOwned + Send + Sync + 'static>(
        &self,
        task: &str,
        submit: &Submit<T>,
        state: &mut State,
    ) -> Result<T, RunError> {
        let mut system = self.spec.system_prompt.clone();
        if !self.context.trim().is_empty() {
            system.push_str("\n\n");
            system.push_str(&self.context);
        }
        let mut specs: Vec<_> = self.tools.iter().map(|tool| tool.spec()).collect();
        specs.push(submit.spec());
        let tools: HashMap<String, Arc<dyn Tool>> = self
            .tools
            .iter()
            .map(|tool| (tool.spec().name, Arc::clone(tool)))
            .collect();
        self.events.emit(
            "run.started",
            json!({"agent": self.spec.agent, "verb": self.spec.verb, "provider": self.provider.kind().name(),
                   "model": self.provider.model(), "run_id": state.run_id}),
        );
        let events = self.events.clone();
        let on_retry: crate::llm::RetryHook = Arc::new(move |notice| {
            events.emit(
                "retry",
                json!({"reason": notice.reason, "wait_ms": notice.wait.as_millis() as u64}),
            );
        });
        let mut messages = vec![Message::user(crate::redact::redact(task).into_owned())];
        let mut nudged = false;
        let mut invalid = 0;
        let mut cut_before = false;
        let max_output_tokens = self.provider.max_output_tokens();
        loop {
            self.check_budget(state)?;
            state.turns += 1;
            let request = Request {
                system: system.clone(),
                messages: messages.clone(),
                tools: specs.clone(),
                tool_choice: ToolChoice::Auto,
                max_output_tokens,
                temperature: None,
                on_retry: Some(Arc::clone(&on_retry)),
            };
            self.events.emit(
                "llm.request",
                json!({"turn": state.turns, "input_tokens_est": request.estimated_input_tokens()}),
            );
            let response = match self.budget.timeout {
                Some(limit) => {
                    let remaining = limit.saturating_sub(self.ledger.elapsed());
                    tokio::time::timeout(remaining, self.provider.complete(&request))
                        .await
                        .map_err(|_| state.exhausted(BudgetKind::Time))??
                }
                None => self.provider.complete(&request).await?,
            };
            state.usage.add(&response.usage);
            let cost = (self.pricing)(&response.usage);
            state.cost_usd += cost;
            self.ledger.record(1, response.usage.total(), cost);
            self.events.emit(
                "llm.response",
                json!({"turn": state.turns, "usage": usage_json(&response.usage), "stop_reason": format!("{:?}", response.stop_reason)}),
            );
            if let Some(tool) = &response.cut_tool_call {
                // Nothing of an answer the output limit cut off is run: its last call is partial.
                if cut_before {
                    return Err(RunError::OutputLimit {
                        tool: tool.clone(),
                        max_output_tokens,
                    });
                }
                cut_before = true;
                if !response.text.trim().is_empty() {
                    messages.push(Message::assistant(response.text.clone()));
                }
                messages.push(Message::user(format!(
                    "Your last answer was cut off by the output limit ({max_output_tokens} tokens) in the middle of the `{tool}` call, so none of its tool calls ran and nothing changed. Make smaller edits: split large content into several smaller calls."
                )));
                continue;
            }
            cut_before = false;
            messages.push(response.to_message());
            if self.progress {
                let what = if response.tool_calls.is_empty() {
                    "answer".to_owned()
                } else {
                    response
                        .tool_calls
                        .iter()
                        .map(|call| call.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                crate::progress::status(&format!(
                    "{} {} turn {}: {what} ({} tokens, ${:.4})",
                    self.spec.agent,
                    self.spec.verb,
                    state.turns,
                    state.usage.total(),
                    state.cost_usd
                ));
            }
            if response.tool_calls.is_empty() {
                if !response.text.trim().is_empty()
                    && let Some(value) = submit.value_from_text(response.text.clone())
                {
                    return Ok(value);
                }
                if nudged {
                    return Err(RunError::NoSubmission);
                }
                nudged = true;
                messages.push(Message::user(format!(
                    "Finish by calling the `{}` tool with your result; a plain answer is not used.",
                    submit.name()
                )));
                continue;
            }
            for call in &response.tool_calls {
                let key = format!("{}\u{0}{}", call.name, canonical(&call.arguments));
                let count = state.repeats.entry(key).or_insert(0);
                *count += 1;
                if *count >= REPEAT_STOP {
                    return Err(RunError::Repeated {
                        tool: call.name.clone(),
                    });
                }
            }
            let mut results = self
                .call_tools(&response.tool_calls, &tools, submit.name(), state)
                .await;
            let mut accepted = None;
            for (call, result) in response.tool_calls.iter().zip(results.iter_mut()) {
                if call.name != submit.name() {
                    continue;
                }
                self.events.emit(
                    "tool.call",
                    json!({"name": call.name, "args": call.arguments}),
                );
                match submit.accept(&call.arguments) {
                    Ok(value) => {
                        self.events.emit(
                            "tool.result",
                            json!({"name": call.name, "ok": true, "bytes": 0}),
                        );
                        accepted = Some(value);
                        break;
                    }
                    Err(reasons) => {
                        invalid += 1;
                        self.events.emit(
                            "tool.result",
                            json!({"name": call.name, "ok": false, "bytes": 0}),
                        );
                        if invalid > SUBMIT_RETRIES {
                            return Err(RunError::InvalidSubmission { reasons });
                        }
                        let mut text = String::from(
                            "The submission was not accepted. Fix these problems and submit again:\n",
                        );
                        for reason in &reasons {
                            let _ = writeln!(text, "- {reason}");
                        }
                        *result = ToolResult {
                            call_id: call.id.clone(),
                            name: call.name.clone(),
                            content: crate::redact::redact(&text).into_owned(),
                            is_error: true,
                        };
                    }
                }
            }
            if let Some(value) = accepted {
                return Ok(value);
            }
            messages.push(Message {
                role: Role::User,
                content: results.into_iter().map(ContentBlock::ToolResult).collect(),
            });
        }
    }

    /// Run one turn's tool calls: consecutive read-only calls together, others one by one, in the
    /// order the model gave. Submit calls are answered by the caller.
    async fn call_tools(
        &self,
        calls: &[ToolCall],
        tools: &HashMap<String, Arc<dyn Tool>>,
        submit: &str,
        state: &State,
    ) -> Vec<ToolResult> {
        let mut results: Vec<Option<ToolResult>> = vec![None; calls.len()];
        let mut batch: Vec<usize> = Vec::new();
        for (index, call) in calls.iter().enumerate() {
            let read_only =
                call.name == submit || tools.get(&call.name).is_none_or(|tool| tool.read_only());
            if read_only {
                batch.push(index);
                continue;
            }
            self.run_batch(&batch, calls, tools, submit, state, &mut results)
                .await;
            batch.clear();
            self.run_batch(&[index], calls, tools, submit, state, &mut results)
                .await;
        }
        self.run_batch(&batch, calls, tools, submit, state, &mut results)
            .await;
        results
            .into_iter()
            .zip(calls)
            .map(|(result, call)| {
                result.unwrap_or_else(|| ToolResult {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    content: String::new(),
                    is_error: false,
                })
            })
            .collect()
    }

    async fn run_batch(
        &self,
        batch: &[usize],
        calls: &[ToolCall],
        tools: &HashMap<String, Arc<dyn Tool>>,
        submit: &str,
        state: &State,
        results: &mut [Option<ToolResult>],
    ) {
        let runs = batch
            .iter()
            .filter(|index| calls[**index].name != submit)
            .map(|index| {
                let call = &calls[*index];
                let tool = tools.get(&call.name).cloned();
                let events = self.events.clone();
                async move {
                    events.emit(
                        "tool.call",
                        json!({"name": call.name, "args": call.arguments}),
                    );
                    let outcome = match tool {
                        Some(tool) => tool
                            .call(call.arguments.clone())
                            .await
                            .map_err(|error| error.to_string()),
                        None => Err(format!(
                            "there is no tool named `{}` in this run",
                            call.name
                        )),
                    };
                    let (content, is_error) = match outcome {
                        Ok(text) => (text, false),
                        Err(message) => (format!("Error: {message}"), true),
                    };
                    let content = crate::redact::redact(&content).into_owned();
                    events.emit(
                        "tool.result",
                        json!({"name": call.name, "ok": !is_error, "bytes": content.len()}),
                    );
                    (
                        *index,
                        ToolResult {
                            call_id: call.id.clone(),
                            name: call.name.clone(),
                            content,
                            is_error,
                        },
                    )
                }
            });
        for (index, mut result) in join_all(runs).await {
            let key = format!(
                "{}\u{0}{}",
                calls[index].name,
                canonical(&calls[index].arguments)
            );
            if state
                .repeats
                .get(&key)
                .is_some_and(|count| *count >= REPEAT_WARN)
            {
                result.content.push_str(
                    "\n\nNote: you have made this exact call several times with the same arguments. Use what you already have, or try something different; repeating it again will stop the run.",
                );
            }
            results[index] = Some(result);
        }
    }

    fn check_budget(&self, state: &State) -> Result<(), RunError> {
        // The command's ledger holds this run's spending and that of every run before it.
        match self.ledger.exhausted(&self.budget) {
            Some(which) => Err(state.exhausted(which)),
            None => Ok(()),
        }
    }
}

struct State {
    run_id: String,
    turns: u32,
    usage: Usage,
    cost_usd: f64,
    repeats: HashMap<String, u32>,
}

impl State {
    fn new(_agent: &Agent) -> Self {
        let run_id = format!(
            "{}-{:06x}",
            chrono::Utc::now().format("%Y%m%d%H%M%S"),
            fastrand::u32(..0x1000000)
        );
        Self {
            run_id,
            turns: 0,
            usage: Usage::default(),
            cost_usd: 0.0,
            repeats: HashMap::new(),
        }
    }

    fn exhausted(&self, which: BudgetKind) -> RunError {
        RunError::Budget {
            which,
            turns: self.turns,
            usage: self.usage,
            cost_usd: self.cost_usd,
        }
    }
}

fn usage_json(usage: &Usage) -> Value {
    json!({"input": usage.input_tokens, "output": usage.output_tokens, "cached": usage.cache_read_tokens})
}

/// Arguments with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` count as the same call.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|key| format!("{key:?}:{}", canonical(&map[key.as_str()])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}
