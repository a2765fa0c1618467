//! Parameter rendering: a skill (JSON, any format) and the parameters a caller gives (a JSON
//! object, as MCP and the daemon pass them), checked by `resolve_params` and rendered into the
//! argv, environment and working directory of a code skill, or the text of a prompt skill.
//! Input: the skill, `%%`, the parameters. A value is always one argv element: never split,
//! never expanded again, and no NUL byte reaches argv or the environment.

use std::path::Path;

use skillet_engine::{Dirs, build_invocation, render_prompt, resolve_params};

pub fn run(data: &[u8]) {
    let parts = crate::input::parts(data, 2);
    let loaded = skillet_spec::load_json(&parts[0], None);
    let Some(spec) = loaded.spec else {
        return;
    };
    let given = match serde_json::from_str::<serde_json::Value>(&parts[1]) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let caller = Path::new("/nonexistent/ws/sub");
    let values = match resolve_params(&spec, &given, caller) {
        Ok(values) => values,
        Err(problems) => {
            assert!(!problems.is_empty(), "a refusal says why");
            return;
        }
    };
    let skill_dir = Path::new("/nonexistent/skills/s");
    let _ = render_prompt(&spec, skill_dir, &values);
    let dirs = Dirs {
        skill: skill_dir,
        run: caller,
    };
    if let Ok(invocation) = build_invocation(&spec, dirs, &values) {
        assert!(
            invocation.args.len() <= spec.args.len(),
            "an argument was split: {:?} from {:?}",
            invocation.args,
            spec.args
        );
        // A skill's own NUL is refused when it loads; a value's when it is checked.
        for arg in &invocation.args {
            assert!(!arg.contains('\0'), "a NUL byte reached argv: {arg:?}");
        }
        for (name, value) in &invocation.env {
            assert!(
                !name.contains(['\0', '=']) && !value.contains('\0'),
                "an environment entry the kernel refuses: {name:?}={value:?}"
            );
        }
    }
}
