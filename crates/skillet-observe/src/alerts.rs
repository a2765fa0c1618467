//! Alert rules (`[[alerts]]` of the global `skillet.toml`): what a rule watches, whether it
//! holds now, and when it fires and resolves. The daemon runs the evaluation and sends the
//! notifications; this decides, so the decisions can be tested without a clock.
//!
//! A rule fires the first time its condition holds and stays firing until the condition has
//! been false for `resolve_after` without a break: a flickering condition fires once and
//! resolves once, never a storm.

use serde::Serialize;
use skillet_registry::AlertRule;
use skillet_store::{Store, StoreError};

use crate::stats::{SkillStats, StatsQuery, skill_stats};
use crate::window::parse_window;

/// The window a rule without one looks at.
pub const DEFAULT_WINDOW_MS: i64 = 15 * 60_000;
/// The shortest window: a few evaluations long, so no run falls between two of them.
pub const MIN_WINDOW_MS: i64 = 10_000;
/// How long a condition stays false before its alert resolves, unless the rule says.
pub const DEFAULT_RESOLVE_AFTER_MS: i64 = 60_000;

/// A figure of [`SkillStats`] a rule can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// Runs that did not end `ok` over all runs.
    FailureRate,
    /// Runs that ended `ok` over all runs.
    SuccessRate,
    /// Runs.
    Runs,
    /// Runs that did not end `ok`.
    Failures,
    /// Median duration, ms.
    P50Ms,
    /// 95th percentile duration, ms.
    P95Ms,
    /// 99th percentile duration, ms.
    P99Ms,
    /// 95th percentile queue wait, ms.
    QueueWaitP95Ms,
    /// Cache hits over all runs.
    CacheHitRate,
}

const FIGURES: [(&str, Figure); 9] = [
    ("failure_rate", Figure::FailureRate),
    ("success_rate", Figure::SuccessRate),
    ("runs", Figure::Runs),
    ("failures", Figure::Failures),
    ("p50_ms", Figure::P50Ms),
    ("p95_ms", Figure::P95Ms),
    ("p99_ms", Figure::P99Ms),
    ("queue_wait_p95_ms", Figure::QueueWaitP95Ms),
    ("cache_hit_rate", Figure::CacheHitRate),
];

impl Figure {
    /// Its value for `s`; `None` when there is nothing to take it over (no durations).
    pub fn of(self, s: &SkillStats) -> Option<f64> {
        let ok = s.statuses.get("ok").copied().unwrap_or(0);
        let ms = |v: Option<i64>| v.map(|v| v as f64);
        match self {
            Figure::FailureRate => s.success_rate.map(|r| 1.0 - r),
            Figure::SuccessRate => s.success_rate,
            Figure::Runs => Some(s.runs as f64),
            Figure::Failures => Some((s.runs - ok) as f64),
            Figure::P50Ms => ms(s.duration_ms.p50),
            Figure::P95Ms => ms(s.duration_ms.p95),
            Figure::P99Ms => ms(s.duration_ms.p99),
            Figure::QueueWaitP95Ms => ms(s.queue_wait_ms.p95),
            Figure::CacheHitRate => s.cache_hit_rate,
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    /// `>`
    Above,
    /// `>=`
    AtLeast,
    /// `<`
    Below,
    /// `<=`
    AtMost,
}

impl Comparison {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
        }
    }
}

/// A rule as written that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `when` is not `FIGURE OP NUMBER`.
    #[error(
        "alert {name:?}: when = {when:?} is not `FIGURE OP NUMBER`; FIGURE is one of {figures}, OP one of > >= < <=, e.g. \"failure_rate > 0.2\""
    )]
    Condition {
        /// The rule.
        name: String,
        /// What it said.
        when: String,
        /// The figures there are.
        figures: String,
    },
    /// A span that does not read.
    #[error("alert {name:?}: {field} {source}")]
    Span {
        /// The rule.
        name: String,
        /// `window` or `resolve_after`.
        field: &'static str,
        /// Why.
        source: crate::window::WindowError,
    },
    /// Nobody would be told.
    #[error(
        "alert {0:?}: notify names neither a command (a program first) nor a webhook; add notify = {{ command = [\"…\"] }} or {{ webhook = \"https://…\" }}"
    )]
    NoNotify(String),
    /// A webhook that is not http(s) with a host (not quoted: a webhook's URL may hold its
    /// secret).
    #[error("alert {0:?}: the webhook is not an http:// or https:// URL with a host")]
    Webhook(String),
    /// Two rules with one name would be one alert.
    #[error("alert {0:?} is defined twice; give each [[alerts]] its own name")]
    Duplicate(String),
}

/// A rule ready to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Its name.
    pub name: String,
    /// The skill watched, or every skill.
    pub skill: Option<String>,
    /// The figure compared.
    pub figure: Figure,
    /// How.
    pub comparison: Comparison,
    /// With what.
    pub threshold: f64,
    /// The condition as written.
    pub when: String,
    /// Over the runs of this long, in ms.
    pub window_ms: i64,
    /// Fewer runs never fire.
    pub min_runs: u64,
    /// False this long before it resolves, in ms.
    pub resolve_after_ms: i64,
    /// The rule as configured (its notify targets).
    #[serde(skip)]
    pub rule: AlertRule,
}

impl Alert {
    /// Reads `rule`.
    pub fn parse(rule: &AlertRule) -> Result<Alert, RuleError> {
        let name = rule.name.clone();
        let condition = || RuleError::Condition {
            name: name.clone(),
            when: rule.when.clone(),
            figures: FIGURES.map(|(f, _)| f).join(", "),
        };
        let words: Vec<&str> = rule.when.split_whitespace().collect();
        let [figure, op, number] = words.as_slice() else {
            return Err(condition());
        };
        let figure = FIGURES
            .iter()
            .find(|(f, _)| f == figure)
            .map(|(_, f)| *f)
            .ok_or_else(condition)?;
        let comparison = match *op {
            ">" => Comparison::Above,
            ">=" => Comparison::AtLeast,
            "<" => Comparison::Below,
            "<=" => Comparison::AtMost,
            _ => return Err(condition()),
        };
        let threshold = number
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(condition)?;
        let span = |field, text: &Option<String>, default| match text {
            None => Ok(default),
            Some(text) => parse_window(text).map_err(|source| RuleError::Span {
                name: name.clone(),
                field,
                source,
            }),
        };
        let notify = &rule.notify;
        let command = notify.command.as_ref().filter(|c| !c.is_empty());
        if command.is_none() && notify.webhook.is_none() {
            return Err(RuleError::NoNotify(name));
        }
        if command.is_some_and(|c| c[0].trim().is_empty()) {
            return Err(RuleError::NoNotify(name));
        }
        if let Some(url) = &notify.webhook
            && !webhook_has_host(url)
        {
            return Err(RuleError::Webhook(name));
        }
        Ok(Alert {
            skill: rule.skill.clone(),
            figure,
            comparison,
            threshold,
            when: rule.when.clone(),
            window_ms: span("window", &rule.window, DEFAULT_WINDOW_MS)?.max(MIN_WINDOW_MS),
            min_runs: rule.min_runs.unwrap_or(1).max(1),
            resolve_after_ms: span(
                "resolve_after",
                &rule.resolve_after,
                DEFAULT_RESOLVE_AFTER_MS,
            )?,
            rule: rule.clone(),
            name,
        })
    }

    /// Every rule of `rules` that reads, and the errors of those that do not (a name given
    /// twice keeps its first rule).
    pub fn parse_all(rules: &[AlertRule]) -> (Vec<Alert>, Vec<RuleError>) {
        let (mut alerts, mut errors) = (Vec::<Alert>::new(), Vec::new());
        for rule in rules {
            if alerts.iter().any(|a| a.name == rule.name) {
                errors.push(RuleError::Duplicate(rule.name.clone()));
                continue;
            }
            match Alert::parse(rule) {
                Ok(alert) => alerts.push(alert),
                Err(e) => errors.push(e),
            }
        }
        (alerts, errors)
    }

    /// The condition for every skill it watches, from `stats` (its window's, [`Alert::query`]):
    /// (skill, holds, value). A watched skill without runs in the window is there, not
    /// holding.
    pub fn check_stats(&self, stats: &[SkillStats]) -> Vec<(String, bool, Option<f64>)> {
        let mut out: Vec<_> = stats
            .iter()
            .filter(|s| self.skill.as_ref().is_none_or(|k| *k == s.skill))
            .map(|s| {
                let (holds, value) = self.check(s);
                (s.skill.clone(), holds, value)
            })
            .collect();
        if let Some(skill) = &self.skill
            && out.is_empty()
        {
            out.push((skill.clone(), false, None));
        }
        out
    }

    /// The figures this rule is judged on at `now_ms`: its skill (or every skill) over its
    /// window. Rules with the same query share one read of the history.
    pub fn query(&self, now_ms: i64) -> StatsQuery {
        StatsQuery {
            skill: self.skill.clone(),
            since_ms: Some(now_ms.saturating_sub(self.window_ms)),
        }
    }

    /// Whether the condition holds for `s`, and the figure's value.
    pub fn check(&self, s: &SkillStats) -> (bool, Option<f64>) {
        let value = self.figure.of(s);
        let holds = s.runs >= self.min_runs
            && value.is_some_and(|v| self.comparison.holds(v, self.threshold));
        (holds, value)
    }

    /// The condition for every skill it watches, over the window ending at `now_ms`: (skill,
    /// holds, value). A watched skill without runs in the window is there, not holding.
    pub fn evaluate(
        &self,
        store: &dyn Store,
        now_ms: i64,
    ) -> Result<Vec<(String, bool, Option<f64>)>, StoreError> {
        Ok(self.check_stats(&skill_stats(store, &self.query(now_ms))?))
    }
}

/// Whether `url` is `http://` or `https://` (any case) with a host.
fn webhook_has_host(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = ["http://", "https://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    !host.is_empty() && !host.starts_with(':')
}

/// One alert of one skill: firing or not, and since when its condition has been false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertState {
    /// Fired and not yet resolved.
    pub firing: bool,
    /// While firing: when the condition was last seen false after holding (ms), if it has
    /// stayed false since.
    pub clear_since_ms: Option<i64>,
}

/// What an evaluation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// The condition started to hold.
    Fired,
    /// The condition stopped holding for long enough.
    Resolved,
}

impl Transition {
    /// `firing` or `resolved`, as notifications and the store say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Fired => "firing",
            Transition::Resolved => "resolved",
        }
    }
}

impl AlertState {
    /// The state after seeing the condition `holds` at `now_ms`, and the transition, if any.
    pub fn step(
        self,
        holds: bool,
        now_ms: i64,
        resolve_after_ms: i64,
    ) -> (AlertState, Option<Transition>) {
        match (self.firing, holds) {
            (false, true) => (
                AlertState {
                    firing: true,
                    clear_since_ms: None,
                },
                Some(Transition::Fired),
            ),
            (false, false) => (self, None),
            (true, true) => (
                AlertState {
                    firing: true,
                    clear_since_ms: None,
                },
                None,
            ),
            (true, false) => {
                let since = self.clear_since_ms.unwrap_or(now_ms);
                if now_ms - since >= resolve_after_ms {
                    (AlertState::default(), Some(Transition::Resolved))
                } else {
                    (
                        AlertState {
                            firing: true,
                            clear_since_ms: Some(since),
                        },
                        None,
                    )
                }
            }
        }
    }
}
