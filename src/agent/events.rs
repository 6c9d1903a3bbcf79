//! The JSONL event stream of CONTRACTS §5 (`--events FILE|-`): one object per line with `type`
//! and `ts`, every string passed through the redactor.

use std::fs::File;
use std::io::{LineWriter, Write};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use serde_json::{Map, Value};

/// Where events go. Cloning shares the destination.
#[derive(Clone, Default)]
pub struct EventSink {
    writer: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
    /// Added to every event as `run_id`.
    run_id: Option<String>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EventSink")
            .field("enabled", &self.writer.is_some())
            .finish()
    }
}

impl EventSink {
    /// Events are dropped.
    pub fn none() -> Self {
        Self::default()
    }

    /// `None` → no events, `-` → stderr, anything else → that file, appended to (created when
    /// missing), so every run of a command — and of the commands of one job — lands in it.
    pub fn from_flag(flag: Option<&str>) -> anyhow::Result<Self> {
        let writer: Box<dyn Write + Send> = match flag {
            None => return Ok(Self::none()),
            Some("-") => Box::new(std::io::stderr()),
            Some(path) => Box::new(LineWriter::new(
                File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open the events file `{path}`"))?,
            )),
        };
        Ok(Self {
            writer: Some(Arc::new(Mutex::new(writer))),
            run_id: None,
        })
    }

    /// Events written into an in-memory buffer (for tests).
    pub fn to_writer(writer: Box<dyn Write + Send>) -> Self {
        Self {
            writer: Some(Arc::new(Mutex::new(writer))),
            run_id: None,
        }
    }

    /// The same destination, every event tagged with `run_id`.
    pub fn for_run(&self, run_id: &str) -> Self {
        Self {
            writer: self.writer.clone(),
            run_id: Some(run_id.to_owned()),
        }
    }

    /// Write one event: `fields` (an object) with `type` and `ts` added, redacted.
    pub fn emit(&self, kind: &str, fields: Value) {
        let Some(writer) = &self.writer else { return };
        let mut object = Map::new();
        object.insert("type".into(), Value::String(kind.to_owned()));
        object.insert(
            "ts".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        if let Some(run_id) = &self.run_id {
            object.insert("run_id".into(), Value::String(run_id.clone()));
        }
        if let Value::Object(extra) = fields {
            object.extend(extra);
        }
        let line = crate::redact::redact_json(&Value::Object(object)).to_string();
        if let Ok(mut writer) = writer.lock() {
            // An unwritable events file must not stop the run; the log says why.
            if let Err(error) = writeln!(writer, "{line}") {
                tracing::warn!("cannot write an event: {error}");
            }
        }
    }
}
