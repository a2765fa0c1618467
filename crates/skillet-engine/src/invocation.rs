//! Building the exact argv, environment and directory of a code skill's process, and the text of
//! a prompt skill. Values go into single argv elements and environment variables, never through
//! a shell.

use std::path::{Path, PathBuf};

use skillet_spec::{SkillSpec, Template, param_env_var};

use crate::params::ParamValues;

/// What will be executed for one call of a code skill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invocation {
    /// The program: as written when it is looked up on `PATH`, else absolute.
    pub program: String,
    /// One entry per argv element after the program.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Variables set for the process: the skill's `env`, then `SKILL_PARAM_<NAME>` for each value.
    pub env: Vec<(String, String)>,
}

/// Builds the invocation of a code skill whose parameters are already checked.
///
/// An argument that is exactly one placeholder of a parameter with no value is left out; any
/// other placeholder with no value renders as an empty string. A value that starts with `-` and
/// stands at the start of an argument is refused unless its parameter sets `allow_flag_like`,
/// so a value can never turn into an option of the program.
pub fn build_invocation(
    spec: &SkillSpec,
    skill_dir: &Path,
    values: &ParamValues,
) -> Result<Invocation, Vec<String>> {
    let texts: std::collections::BTreeMap<&str, String> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_text()))
        .collect();
    let lookup = |name: &str| Some(texts.get(name).map_or("", String::as_str));
    let mut problems = Vec::new();
    let command = spec.command.as_deref().unwrap_or_default();
    let mut args = Vec::with_capacity(spec.args.len());
    for arg in &spec.args {
        let template = Template::parse(arg);
        if template
            .sole_placeholder()
            .is_some_and(|p| !values.contains_key(p))
        {
            continue;
        }
        if let Some(name) = template.leading_placeholder() {
            let flag_like = texts.get(name).is_some_and(|t| t.starts_with('-'));
            let allowed = spec
                .parameters
                .iter()
                .any(|p| p.name == name && p.allow_flag_like);
            if flag_like && !allowed {
                problems.push(format!(
                    "parameter `{name}`: value {:?} starts with `-` and would be read as an option of `{command}`; \
                     the skill must set \"allow_flag_like\": true to accept it",
                    texts[name]
                ));
                continue;
            }
        }
        // Every placeholder names a declared parameter (checked at load), so lookup never misses.
        args.push(template.render(lookup).unwrap_or_default());
    }
    let mut env: Vec<(String, String)> = spec
        .env
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Template::parse(v).render(lookup).unwrap_or_default(),
            )
        })
        .collect();
    env.extend(
        values
            .iter()
            .map(|(name, v)| (param_env_var(name), v.to_text())),
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    let program = program_path(spec, skill_dir);
    let cwd = spec
        .working_dir
        .as_deref()
        .map_or_else(|| skill_dir.to_path_buf(), |d| skill_dir.join(d));
    Ok(Invocation {
        program,
        args,
        cwd,
        env,
    })
}

/// The program a code skill runs: as written when it is a name looked up on `PATH`, absolute
/// when it is a path (relative paths start at the skill's directory).
pub fn program_path(spec: &SkillSpec, skill_dir: &Path) -> String {
    let command = spec.command.as_deref().unwrap_or_default();
    if command.contains('/') && !Path::new(command).is_absolute() {
        skill_dir.join(command).to_string_lossy().into_owned()
    } else {
        command.to_owned()
    }
}

/// Renders the prompt of a prompt skill. A placeholder with no value renders as empty text.
pub fn render_prompt(spec: &SkillSpec, values: &ParamValues) -> String {
    let texts: std::collections::BTreeMap<&str, String> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_text()))
        .collect();
    Template::parse(spec.prompt_text().unwrap_or_default())
        .render(|name| Some(texts.get(name).map_or("", String::as_str)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skillet_spec::ParamValue;

    fn spec(v: serde_json::Value) -> SkillSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn hostile_values_stay_inside_one_argument() {
        let s = spec(
            json!({"name": "s", "type": "code_inline", "command": "echo", "args": ["x={v}", "{v}"],
            "parameters": [{"name": "v", "type": "string"}]}),
        );
        for hostile in ["; rm -rf ~", "$(id)", "`id`", "a\nb", "{v}", "' \" \\"] {
            let values = ParamValues::from([("v".to_string(), ParamValue::Text(hostile.into()))]);
            let inv = build_invocation(&s, Path::new("/skills"), &values).unwrap();
            assert_eq!(inv.args, [format!("x={hostile}"), hostile.to_string()]);
            assert!(inv.env.contains(&("SKILL_PARAM_V".into(), hostile.into())));
        }
    }

    #[test]
    fn flag_like_values_are_refused_unless_allowed() {
        let mut s = spec(
            json!({"name": "s", "type": "code_inline", "command": "grep", "args": ["{pat}", "--label={pat}"],
            "parameters": [{"name": "pat", "type": "string"}]}),
        );
        let values = ParamValues::from([(
            "pat".to_string(),
            ParamValue::Text("--include=/etc/shadow".into()),
        )]);
        let err = build_invocation(&s, Path::new("/"), &values).unwrap_err();
        assert_eq!(err.len(), 1, "only the positional use is refused: {err:?}");
        s.parameters[0].allow_flag_like = true;
        assert!(build_invocation(&s, Path::new("/"), &values).is_ok());
    }

    #[test]
    fn absent_optional_arguments_are_left_out() {
        let s = spec(
            json!({"name": "s", "type": "code_inline", "command": "./run.sh", "args": ["{opt}", "a{opt}b"],
            "working_dir": "sub", "parameters": [{"name": "opt", "type": "string"}]}),
        );
        let inv = build_invocation(&s, Path::new("/skills/s"), &ParamValues::new()).unwrap();
        assert_eq!(inv.args, ["ab"]);
        assert_eq!(inv.program, "/skills/s/./run.sh");
        assert_eq!(inv.cwd, Path::new("/skills/s/sub"));
    }
}
