//! The `channels` block: a skill's opt-in to named message channels (see docs/state.md,
//! "Channels"). A run or session of such a skill is handed `$SKILLET_CHANNEL_FD`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Named channels in the skill's workspace: it writes and reads its own, and reads (never
/// writes) those of the skills that share theirs with it.
///
/// ```
/// let spec: skillet_spec::SkillSpec = serde_json::from_str(
///     r#"{"name": "x", "type": "code_inline", "command": "true",
///         "channels": {"share_with": ["reader"]}}"#,
/// ).unwrap();
/// assert_eq!(spec.channels.unwrap().share_with, ["reader"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelsSpec {
    /// Skills (of the same scope, and of the same package for a package skill) that may read
    /// this skill's channels, read-only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub share_with: Vec<String>,
}
