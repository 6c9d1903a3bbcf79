//! Server-sent events, once for every wire format that streams them (Anthropic Messages, Gemini
//! `alt=sse`, OpenAI Chat Completions): bytes → SSE events → the wire's [`WireDecoder`] →
//! neutral events, ending where the wire's end marker says, or with an error where the bytes
//! stop before it.

use std::collections::VecDeque;
use std::pin::Pin;

pub use eventsource_stream::Event;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};

use super::wire::BodyBytes;
use super::{EventStream, LlmError, StreamEvent};

/// What one wire format does with its SSE events.
pub trait WireDecoder: Send + 'static {
    /// Decode one event into neutral events (pushed onto `out`). An error ends the stream.
    fn event(&mut self, event: &Event, out: &mut Vec<StreamEvent>) -> Result<(), LlmError>;
    /// Whether the wire's end marker has been seen; nothing after it is read.
    fn finished(&self) -> bool;
    /// The bytes ended before [`WireDecoder::finished`]: the last events, or the error of a
    /// stream cut short.
    fn end(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), LlmError>;
}

type SseStream = Pin<Box<dyn Stream<Item = Result<Event, LlmError>> + Send>>;

struct State<D> {
    events: SseStream,
    decoder: D,
    pending: VecDeque<Result<StreamEvent, LlmError>>,
    done: bool,
}

/// Decode the bytes of an SSE answer with `decoder`. A transport failure (or an idle timeout of
/// [`super::retry::idle_guard`]) ends the stream with [`LlmError::Stream`].
pub fn decode<D: WireDecoder>(bytes: impl BodyBytes, decoder: D) -> EventStream {
    let events = bytes.eventsource().map(|event| {
        event.map_err(|error| {
            LlmError::Stream(format!(
                "the response stream broke: {}",
                crate::redact::redact(&error.to_string())
            ))
        })
    });
    let state = State {
        events: Box::pin(events),
        decoder,
        pending: VecDeque::new(),
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, state));
            }
            if state.done {
                return None;
            }
            let mut out = Vec::new();
            let outcome = match state.events.next().await {
                Some(Ok(event)) => state.decoder.event(&event, &mut out),
                Some(Err(error)) => Err(error),
                None => {
                    state.done = true;
                    state.decoder.end(&mut out)
                }
            };
            state.pending.extend(out.into_iter().map(Ok));
            if let Err(error) = outcome {
                state.pending.push_back(Err(error));
                state.done = true;
            }
            if state.decoder.finished() {
                state.done = true;
            }
        }
    })
    .boxed()
}

/// At most 200 characters of `text`, for error messages that quote the wire.
pub fn shorten(text: &str) -> String {
    const LIMIT: usize = 200;
    if text.chars().count() <= LIMIT {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(LIMIT).collect();
    short.push('…');
    short
}
