//! A scripted provider with no HTTP at all, for agent-loop tests and benchmarks: it answers each
//! request with the next scripted step (or a closure) and records every request it was sent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream;

use super::{
    EventStream, LlmError, Provider, ProviderKind, Request, Response, StopReason, StreamEvent,
    ToolCall, Usage,
};

type Responder = dyn Fn(&Request) -> Result<Response, LlmError> + Send + Sync;

/// One scripted answer.
pub enum Step {
    Respond(Response),
    Fail(LlmError),
}

pub struct ScriptedProvider {
    model: String,
    steps: Mutex<VecDeque<Step>>,
    responder: Option<Box<Responder>>,
    requests: Arc<Mutex<Vec<Request>>>,
    /// Steps left over at the end are expected (a script that stops early on purpose).
    allow_unused: bool,
}

impl ScriptedProvider {
    /// Answers with `steps` in order; a request past the end fails with a clear error.
    pub fn new(steps: Vec<Step>) -> Self {
        Self {
            model: "fake-model".into(),
            steps: Mutex::new(steps.into()),
            responder: None,
            requests: Arc::new(Mutex::new(Vec::new())),
            allow_unused: false,
        }
    }

    /// Answers every request by calling `responder` (used when the answer depends on the request).
    pub fn with_responder(
        responder: impl Fn(&Request) -> Result<Response, LlmError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            model: "fake-model".into(),
            steps: Mutex::new(VecDeque::new()),
            responder: Some(Box::new(responder)),
            requests: Arc::new(Mutex::new(Vec::new())),
            allow_unused: false,
        }
    }

    /// Do not fail when steps are left over (a script whose run is meant to stop before its end).
    pub fn allowing_unused_steps(mut self) -> Self {
        self.allow_unused = true;
        self
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .map(|requests| requests.clone())
            .unwrap_or_default()
    }

    /// A handle that keeps seeing requests after the provider is moved into an agent.
    pub fn request_log(&self) -> Arc<Mutex<Vec<Request>>> {
        Arc::clone(&self.requests)
    }

    fn next(&self, request: &Request) -> Result<Response, LlmError> {
        if let Some(responder) = &self.responder {
            return responder(request);
        }
        let step = self
            .steps
            .lock()
            .ok()
            .and_then(|mut steps| steps.pop_front());
        match step {
            Some(Step::Respond(response)) => Ok(response),
            Some(Step::Fail(error)) => Err(error),
            None => Err(LlmError::Config(
                "the scripted provider ran out of steps".into(),
            )),
        }
    }
}

/// A script with steps left over means the run stopped earlier than the test believes: fail the
/// test, unless it said so ([`ScriptedProvider::allowing_unused_steps`]).
impl Drop for ScriptedProvider {
    fn drop(&mut self) {
        if self.allow_unused || std::thread::panicking() {
            return;
        }
        let left = self.steps.lock().map(|steps| steps.len()).unwrap_or(0);
        assert!(
            left == 0,
            "the scripted provider still had {left} unused step(s): the run stopped earlier than \
             the test expects (use `allowing_unused_steps()` if that is the point)"
        );
    }
}

#[async_trait]
impl Provider for ScriptedProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAiCompatible
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn stream(&self, request: &Request) -> Result<EventStream, LlmError> {
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(request.clone());
        }
        let response = self.next(request)?;
        let mut events = Vec::new();
        if !response.text.is_empty() {
            events.push(Ok(StreamEvent::TextDelta(response.text)));
        }
        events.extend(
            response
                .tool_calls
                .into_iter()
                .map(|call| Ok(StreamEvent::ToolCall(call))),
        );
        if let Some(name) = response.cut_tool_call {
            events.push(Ok(StreamEvent::CutToolCall { name }));
        }
        events.push(Ok(StreamEvent::Usage(response.usage)));
        events.push(Ok(StreamEvent::Stop(response.stop_reason)));
        Ok(Box::pin(stream::iter(events)))
    }
}

/// The usage every scripted answer reports.
fn scripted_usage() -> Usage {
    Usage {
        input_tokens: 100,
        output_tokens: 20,
        ..Usage::default()
    }
}

/// A text answer that ends the turn.
pub fn text(text: impl Into<String>) -> Step {
    Step::Respond(Response {
        text: text.into(),
        usage: scripted_usage(),
        stop_reason: StopReason::EndTurn,
        ..Response::default()
    })
}

/// An answer that calls one or more tools: `(name, arguments)` pairs, ids assigned in order.
pub fn tool_calls(calls: &[(&str, serde_json::Value)]) -> Step {
    Step::Respond(Response {
        tool_calls: calls
            .iter()
            .enumerate()
            .map(|(index, (name, arguments))| ToolCall {
                id: format!("call_{index}_{name}"),
                name: (*name).to_owned(),
                arguments: arguments.clone(),
            })
            .collect(),
        usage: scripted_usage(),
        stop_reason: StopReason::ToolUse,
        ..Response::default()
    })
}

/// A single tool call.
pub fn tool_call(name: &str, arguments: serde_json::Value) -> Step {
    tool_calls(&[(name, arguments)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_in_order_and_records_requests() {
        let provider = ScriptedProvider::new(vec![
            tool_call("read_file", serde_json::json!({"path": "a.py"})),
            text("done"),
        ]);
        let request = Request {
            system: "sys".into(),
            ..Request::default()
        };
        let first = provider.complete(&request).await.unwrap();
        assert_eq!(first.tool_calls[0].name, "read_file");
        assert_eq!(first.stop_reason, StopReason::ToolUse);
        let second = provider.complete(&request).await.unwrap();
        assert_eq!(second.text, "done");
        assert!(provider.complete(&request).await.is_err());
        assert_eq!(provider.requests().len(), 3);
    }
}
