//! What the Chat Completions family shares: OpenAI's wire ([`super::openai`]) and Ollama's
//! native chat ([`super::ollama`]) order a conversation the same way, describe tools the same
//! way, and leave it to the client to assemble tool call ids and arguments.

use std::borrow::Cow;
use std::fmt::Display;

use serde::Serialize;

use super::{ContentBlock, LlmError, Request, Role, ToolCall, ToolResult, ToolSpec};

/// A Chat Completions-style message as it goes on the wire. System and user messages are the
/// same on every such wire; assistant (`A`) and tool (`T`) messages are each wire's own.
#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub(crate) enum ChatMessage<'a, A, T> {
    System { content: &'a str },
    User { content: String },
    Assistant(A),
    Tool(T),
}

/// The conversation as Chat Completions-style messages: system first; the text blocks of a
/// message joined; tool results as messages of their own, right after the assistant message
/// that called them; and no user message for a user turn that only carried tool results.
/// `assistant` writes an assistant message from its text and calls, `tool` a tool result.
pub(crate) fn chat_messages<'a, A, T>(
    request: &'a Request,
    mut assistant: impl FnMut(String, Vec<&'a ToolCall>) -> A,
    mut tool: impl FnMut(&'a ToolResult) -> T,
) -> Vec<ChatMessage<'a, A, T>> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(ChatMessage::System {
            content: &request.system,
        });
    }
    for message in &request.messages {
        let mut texts = Vec::new();
        let mut calls = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::Text { text } => texts.push(text.as_str()),
                ContentBlock::ToolUse(call) => calls.push(call),
                ContentBlock::ToolResult(result) => messages.push(ChatMessage::Tool(tool(result))),
            }
        }
        let text = texts.join("\n\n");
        match message.role {
            Role::User => {
                if !text.is_empty() || message.content.is_empty() {
                    messages.push(ChatMessage::User { content: text });
                }
            }
            Role::Assistant => messages.push(ChatMessage::Assistant(assistant(text, calls))),
        }
    }
    messages
}

/// The tools as `{"type": "function", "function": {…}}` objects.
pub(crate) fn wire_tools(tools: &[ToolSpec]) -> Vec<WireTool<'_>> {
    tools
        .iter()
        .map(|tool| WireTool {
            kind: "function",
            function: WireFunction {
                name: &tool.name,
                description: &tool.description,
                parameters: &tool.parameters,
            },
        })
        .collect()
}

#[derive(Serialize)]
pub(crate) struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

/// Chat Completions has no error flag on tool results, so the model learns of a failure from
/// the text.
pub(crate) fn tool_result_content(result: &ToolResult) -> Cow<'_, str> {
    if result.is_error {
        Cow::Owned(format!("Error: {}", result.content))
    } else {
        Cow::Borrowed(&result.content)
    }
}

/// Parse the assembled `arguments` string of a tool call into a JSON object.
pub(crate) fn parse_arguments(tool: &str, arguments: &str) -> Result<serde_json::Value, LlmError> {
    let trimmed = arguments.trim();
    // A call of a tool without parameters often comes with empty arguments.
    if trimmed.is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    let invalid = |error: &dyn Display| {
        LlmError::Decode(format!(
            "the arguments the model sent for tool `{tool}` are not valid JSON ({error}): {}",
            crate::redact::redact(&trimmed.chars().take(300).collect::<String>())
        ))
    };
    let value: serde_json::Value =
        serde_json::from_str(trimmed).map_err(|error| invalid(&error))?;
    match value {
        serde_json::Value::Object(_) => Ok(value),
        serde_json::Value::Null => Ok(serde_json::Value::Object(serde_json::Map::new())),
        // Some models encode the object twice.
        serde_json::Value::String(inner) => match serde_json::from_str(&inner) {
            Ok(object @ serde_json::Value::Object(_)) => Ok(object),
            _ => Err(invalid(&"a string, not an object")),
        },
        _ => Err(invalid(&"not an object")),
    }
}

/// A deterministic id for a tool call whose wire format gave it none: the same call in the same
/// position gets the same id, so transcripts and tests are reproducible.
pub(crate) fn synthesised_id(position: usize, name: &str, arguments: &str) -> String {
    // FNV-1a: tiny, and stable across Rust versions (unlike `DefaultHasher`).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes().chain([0]).chain(arguments.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("call_{position}_{:08x}", hash as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments_leniently_but_only_into_objects() {
        assert_eq!(parse_arguments("t", "").ok(), Some(serde_json::json!({})));
        assert_eq!(
            parse_arguments("t", r#""{\"a\":1}""#).ok(),
            Some(serde_json::json!({"a": 1}))
        );
        let error = parse_arguments("read_file", "{\"path\": ").unwrap_err();
        assert!(error.to_string().contains("`read_file`"), "{error}");
        assert!(parse_arguments("t", "[1]").is_err());
    }

    #[test]
    fn missing_ids_are_synthesised_deterministically() {
        assert_eq!(synthesised_id(1, "a", "{}"), synthesised_id(1, "a", "{}"));
        assert_ne!(synthesised_id(0, "a", "{}"), synthesised_id(1, "a", "{}"));
        assert_ne!(synthesised_id(0, "a", "{}"), synthesised_id(0, "b", "{}"));
    }
}
