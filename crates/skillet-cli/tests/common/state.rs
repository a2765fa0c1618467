//! Skill state as a test reads it.

use serde_json::Value;

use super::World;

/// The state document of `skill`, as `skillet state export` prints it.
pub fn export(w: &World, skill: &str) -> Value {
    let (code, out, err) = w.run(&["state", "export", skill]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}
