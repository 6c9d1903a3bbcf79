//! What every model-driven run of one command shares, resolved once from the command line and
//! the settings: the provider (a test's, or the one detected), the budget, the event stream, the
//! price of a call and whether to show progress.

use std::sync::{Arc, Mutex};

use crate::config::{GlobalOptions, Settings};
use crate::llm::pricing::PriceTable;
use crate::llm::{Provider, Usage};

use super::budget::Budget;
use super::events::EventSink;
use super::run::Agent;

/// The US dollar cost of one call's usage.
pub type Pricing = Arc<dyn Fn(&Usage) -> f64 + Send + Sync>;

#[derive(Clone)]
pub struct RunServices {
    pub provider: Arc<dyn Provider>,
    pub budget: Budget,
    pub events: EventSink,
    pub pricing: Pricing,
    /// A line per turn on stderr.
    pub progress: bool,
}

impl RunServices {
    /// A run with the default budget, no events, no cost and no progress lines (tests).
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        Self {
            provider,
            budget: Budget::default(),
            events: EventSink::none(),
            pricing: Arc::new(|_: &Usage| 0.0),
            progress: false,
        }
    }

    /// The services of one command: `injected` as the provider if given (tests), else the one
    /// detected from `settings` (none configured is a usage error naming the variables); the
    /// budget of `[budget]` and the flags; the `--events` stream; the price table of `[pricing]`
    /// for the provider's model.
    pub fn resolve(
        global: &GlobalOptions,
        settings: &Settings,
        injected: Option<Arc<dyn Provider>>,
    ) -> anyhow::Result<Self> {
        let provider = provider(injected.as_ref(), global, settings)?;
        Self::with_provider(provider, global, settings)
    }

    /// The services of one command around a provider already chosen.
    pub fn with_provider(
        provider: Arc<dyn Provider>,
        global: &GlobalOptions,
        settings: &Settings,
    ) -> anyhow::Result<Self> {
        let prices = PriceTable::new(&settings.config.pricing);
        let model = provider.model().to_owned();
        Ok(Self {
            provider,
            budget: Budget::from_config(&settings.config.budget_with(global)),
            events: EventSink::from_flag(global.events.as_deref())?,
            pricing: Arc::new(move |usage| prices.cost_usd(&model, usage)),
            progress: !global.quiet,
        })
    }

    /// `agent` with this command's budget, events, pricing and progress.
    pub fn equip(&self, agent: Agent) -> Agent {
        let pricing = Arc::clone(&self.pricing);
        agent
            .budget(self.budget.clone())
            .events(self.events.clone())
            .pricing(move |usage| pricing(usage))
            .progress(self.progress)
    }
}

/// A command's [`RunServices`], resolved on first use and then shared by every run of the
/// command: one provider, one `--events` stream. A verb that needs no model never detects a
/// provider, so it works with none configured.
pub struct LazyServices {
    global: GlobalOptions,
    settings: Settings,
    injected: Option<Arc<dyn Provider>>,
    resolved: Mutex<Option<RunServices>>,
}

impl LazyServices {
    pub fn new(
        global: GlobalOptions,
        settings: Settings,
        injected: Option<Arc<dyn Provider>>,
    ) -> Self {
        Self {
            global,
            settings,
            injected,
            resolved: Mutex::new(None),
        }
    }

    /// The services, resolving them the first time ([`RunServices::resolve`]).
    pub fn get(&self) -> anyhow::Result<RunServices> {
        let mut resolved = self
            .resolved
            .lock()
            .map_err(|_| anyhow::anyhow!("the command's model services were poisoned"))?;
        if let Some(services) = resolved.as_ref() {
            return Ok(services.clone());
        }
        let services = RunServices::resolve(&self.global, &self.settings, self.injected.clone())?;
        *resolved = Some(services.clone());
        Ok(services)
    }
}

/// The provider of a command: `injected` if given (tests), else the one detected from the
/// command line and the settings (CONTRACTS §2's order); none configured is a usage error naming
/// the variables.
pub fn provider(
    injected: Option<&Arc<dyn Provider>>,
    global: &GlobalOptions,
    settings: &Settings,
) -> anyhow::Result<Arc<dyn Provider>> {
    if let Some(provider) = injected {
        return Ok(Arc::clone(provider));
    }
    let (provider_settings, _reason) = crate::llm::detect::require_provider_for(global, settings)?;
    Ok(crate::llm::build_provider(provider_settings)?)
}
