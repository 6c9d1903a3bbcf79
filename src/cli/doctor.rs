//! `agentci doctor`: what agentci detected — provider, model, base URL and why, the key variable
//! (never its value), the GitHub context and the config file — as text or, with `--json`, JSON.
//! It always exits 0: its job is to explain, including how to configure what is missing.

use std::io::Write;

use clap::Args;
use serde_json::json;

use super::GlobalOptions;
use crate::config::Settings;
use crate::exit::Exit;
use crate::llm::detect::{self, Detection, Overrides};
use crate::llm::pricing::PriceTable;

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Also send one minimal request to the detected provider and report the answer
    #[arg(long)]
    pub ping: bool,
}

/// The GitHub variables reported, in order.
const GITHUB_VARIABLES: [&str; 4] = [
    "GITHUB_API_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
];

pub async fn run(global: &GlobalOptions, args: &DoctorArgs) -> anyhow::Result<Exit> {
    let working_dir = std::env::current_dir().map_err(|error| {
        crate::exit::usage(format!("cannot read the working directory: {error}"))
    })?;
    let settings = Settings::load(global, &working_dir)?;
    let report = report(global, &settings);
    let mut stdout = std::io::stdout().lock();
    if global.json {
        let text = serde_json::to_string_pretty(&crate::redact::redact_json(&report))?;
        writeln!(stdout, "{text}")?;
    } else {
        let text = render(&report);
        write!(stdout, "{}", crate::redact::redact(&text))?;
    }
    drop(stdout);
    if args.ping {
        return ping(global, &settings).await;
    }
    Ok(Exit::Done)
}

/// One minimal request to the detected provider: proves the key, base URL and model work
/// together. A failure exits 3 like any provider failure, with the classified reason.
async fn ping(global: &GlobalOptions, settings: &Settings) -> anyhow::Result<Exit> {
    let (provider_settings, _reason) = detect::require_provider_for(global, settings)?;
    let description = format!(
        "{} `{}` at {}",
        provider_settings.kind, provider_settings.model, provider_settings.base_url
    );
    let provider = crate::llm::build_provider(provider_settings)?;
    let request = crate::llm::Request {
        messages: vec![crate::llm::Message::user(
            "Reply with the single word: pong",
        )],
        max_output_tokens: 16,
        ..crate::llm::Request::default()
    };
    let started = std::time::Instant::now();
    let response = provider.complete(&request).await.map_err(|error| {
        anyhow::Error::from(error).context(format!("ping to {description} failed"))
    })?;
    let answer: String = response.text.trim().chars().take(60).collect();
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "ping:       ok in {:.1}s from {description}: {:?} ({} input, {} output tokens)",
        started.elapsed().as_secs_f64(),
        crate::redact::redact(&answer),
        response.usage.input_tokens,
        response.usage.output_tokens
    )?;
    Ok(Exit::Done)
}

/// Everything doctor knows, as JSON (the human text is rendered from it, so both say the same).
pub fn report(global: &GlobalOptions, settings: &Settings) -> serde_json::Value {
    let environment = &settings.environment;
    let (provider, problem) = match detect::detect(
        &Overrides::from_options(global),
        &settings.config,
        environment,
    ) {
        Ok(Some(detection)) => (Some(provider_json(&detection, settings)), None),
        Ok(None) => (None, Some(detect::nothing_detected_help())),
        Err(error) => (None, Some(format!("{error:#}"))),
    };
    let problem = problem.or_else(|| {
        provider
            .as_ref()
            .and_then(|provider| provider["problem"].as_str().map(str::to_owned))
    });
    let keys_present: Vec<&str> = detect::key_order()
        .iter()
        .filter_map(|kind| kind.key_variable())
        .filter(|variable| environment.is_set(variable))
        .collect();
    let mut github = serde_json::Map::new();
    github.insert(
        "GITHUB_TOKEN".into(),
        json!(if environment.is_set("GITHUB_TOKEN") {
            "set"
        } else {
            "not set"
        }),
    );
    for variable in GITHUB_VARIABLES {
        github.insert(variable.into(), json!(environment.get(variable)));
    }
    json!({
        "provider": provider,
        "problem": problem,
        "keys_present": keys_present,
        "config": settings.config_path.as_ref().map(|path| path.display().to_string()),
        "dotenv": environment.dotenv_path().map(|path| path.display().to_string()),
        "mcp_servers": settings.config.mcp.keys().collect::<Vec<_>>(),
        "github": github,
    })
}

fn provider_json(detection: &Detection, settings: &Settings) -> serde_json::Value {
    let price = PriceTable::new(&settings.config.pricing).lookup(&detection.model);
    let problem = detection
        .missing_key()
        .map(|variable| format!("{variable} is not set: agent commands will exit 2 until it is"));
    json!({
        "name": detection.kind.name(),
        "model": detection.model,
        "base_url": detection.base_url,
        "reason": detection.reason,
        "key_variable": detection.key_variable,
        "key_present": detection.api_key.is_some(),
        "azure_api_version": detection.azure_api_version,
        "pricing": {
            "input_per_million": price.price.input,
            "output_per_million": price.price.output,
            "note": price.note,
        },
        "problem": problem,
    })
}

fn render(report: &serde_json::Value) -> String {
    let mut lines = Vec::new();
    let text = |value: &serde_json::Value| value.as_str().unwrap_or("-").to_owned();
    match report["provider"].as_object() {
        Some(provider) => {
            lines.push(format!("provider:   {}", text(&provider["name"])));
            lines.push(format!("model:      {}", text(&provider["model"])));
            lines.push(format!("base URL:   {}", text(&provider["base_url"])));
            lines.push(format!("why:        {}", text(&provider["reason"])));
            let key = match provider["key_variable"].as_str() {
                Some(variable) if provider["key_present"] == json!(true) => {
                    format!("{variable} (set)")
                }
                Some(variable) if provider["problem"].is_null() => {
                    format!("{variable} (not set; optional for this server)")
                }
                Some(variable) => format!("{variable} (not set)"),
                None => "none needed".to_owned(),
            };
            lines.push(format!("key:        {key}"));
            if let Some(version) = provider["azure_api_version"].as_str() {
                lines.push(format!(
                    "azure:      api-version {version} (OPENAI_AZURE_VERSION)"
                ));
            }
            lines.push(format!(
                "pricing:    {}",
                text(&provider["pricing"]["note"])
            ));
        }
        None => lines.push("provider:   none detected".to_owned()),
    }
    if let Some(problem) = report["problem"].as_str() {
        lines.push(format!("problem:    {problem}"));
    }
    let keys: Vec<String> = report["keys_present"]
        .as_array()
        .map(|keys| keys.iter().map(text).collect())
        .unwrap_or_default();
    lines.push(format!(
        "keys set:   {}",
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    ));
    lines.push(format!(
        "config:     {}",
        report["config"]
            .as_str()
            .unwrap_or("none (no ./agentci.toml, no --config)")
    ));
    lines.push(format!(
        ".env:       {}",
        report["dotenv"].as_str().unwrap_or("none")
    ));
    let servers: Vec<String> = report["mcp_servers"]
        .as_array()
        .map(|servers| servers.iter().map(text).collect())
        .unwrap_or_default();
    if !servers.is_empty() {
        lines.push(format!("mcp:        {}", servers.join(", ")));
    }
    lines.push("github:".to_owned());
    if let Some(github) = report["github"].as_object() {
        for (variable, value) in github {
            let shown = match value.as_str() {
                Some(value) => value.to_owned(),
                None if variable == "GITHUB_API_URL" => {
                    "not set (https://api.github.com)".to_owned()
                }
                None => "not set".to_owned(),
            };
            lines.push(format!("  {variable:<18} {shown}"));
        }
    }
    let mut output = lines.join("\n");
    output.push('\n');
    output
}
