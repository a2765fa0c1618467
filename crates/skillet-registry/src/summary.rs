//! What the registry itself needs of a skill, and all `skillet list` shows: a few hundred bytes
//! where a whole [`SkillSpec`] (parameters, prompts, policy) is kilobytes. A listing of 10,000
//! skills keeps only these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skillet_spec::{SkillKind, SkillSpec};

/// The parts of a valid skill that precedence, aliases, fallbacks, dependencies and listings
/// read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillSummary {
    /// How the skill runs.
    pub kind: SkillKind,
    /// Its one-line description.
    pub description: Option<String>,
    /// Its version, as declared.
    pub version: String,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// The skill run when this one fails.
    pub fallback: Option<String>,
    /// Other skills it needs, with semver requirements.
    pub dependencies: BTreeMap<String, String>,
}

impl SkillSummary {
    /// The summary of a loaded skill.
    pub fn of(spec: &SkillSpec) -> SkillSummary {
        SkillSummary {
            kind: spec.kind,
            description: spec.description.clone(),
            version: spec.version.clone(),
            aliases: spec.aliases.clone(),
            fallback: spec.fallback.clone(),
            dependencies: spec.dependencies.clone(),
        }
    }
}
