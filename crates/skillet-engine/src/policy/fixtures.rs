//! Test fixtures for the rules that settle a skill's limits: a skill with extra fields, and a
//! context with the user's and the workspace's defaults.

use serde_json::json;
use skillet_registry::{Defaults, Grant, LayeredDefaults};
use skillet_spec::SkillSpec;

use super::PolicyContext;

/// A `code_inline` skill named `s` with the fields of `extra` added.
pub(crate) fn spec(extra: serde_json::Value) -> SkillSpec {
    let mut s = json!({"name": "s", "type": "code_inline", "command": "x"});
    s.as_object_mut()
        .expect("an object")
        .extend(extra.as_object().expect("an object").clone());
    serde_json::from_value(s).expect("a valid skill")
}

/// A context with the user's `global` defaults, a workspace's `workspace` ones, and the
/// `raise_limits` grant when `raise`.
pub(crate) fn ctx(global: Defaults, workspace: Defaults, raise: bool) -> PolicyContext {
    PolicyContext {
        defaults: LayeredDefaults {
            global,
            workspace,
            workspace_file: Some("/ws/.skillet/skillet.toml".into()),
        },
        grant: Grant {
            raise_limits: raise,
            ..Grant::default()
        },
        ..PolicyContext::default()
    }
}
