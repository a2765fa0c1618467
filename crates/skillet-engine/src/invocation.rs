//! Building the exact argv, environment and directory of a code skill's process, and the text of
//! a prompt skill. Values go into single argv elements and environment variables, never through
//! a shell.

use std::path::{Path, PathBuf};

use skillet_spec::interpreter::{family_of, inline_code_args};
use skillet_spec::{
    PARAMS_JSON_PLACEHOLDER, SKILL_DIR_PLACEHOLDER, SkillSpec, Template, param_env_var,
};

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

/// Where a code skill's call happens: the skill's own folder (its shipped files) and the
/// directory it runs in (relative values start there).
#[derive(Debug, Clone, Copy)]
pub struct Dirs<'a> {
    /// The skill's folder, in its real form: `{skill_dir}` and `$SKILLET_SKILL_DIR`.
    pub skill: &'a Path,
    /// Where the process starts unless the skill names a `working_dir`, and where that and
    /// relative values start: the caller's directory inside the workspace, else the root.
    pub run: &'a Path,
}

/// Builds the invocation of a code skill whose parameters are already checked.
///
/// An argument that is exactly one placeholder of a parameter with no value is left out; any
/// other placeholder with no value renders as an empty string. A value that starts with `-` and
/// stands at the start of an argument is refused unless its parameter sets `allow_flag_like`,
/// so a value can never turn into an option of the program. `{skill_dir}` renders as the
/// skill's folder, and the script an interpreter runs (`python3 tool.py`) is looked up there
/// first, so a skill finds the files it ships wherever it runs.
pub fn build_invocation(
    spec: &SkillSpec,
    dirs: Dirs<'_>,
    values: &ParamValues,
) -> Result<Invocation, Vec<String>> {
    let skill_dir = dirs.skill.to_string_lossy();
    let texts: std::collections::BTreeMap<&str, String> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_text()))
        .collect();
    // `{params_json}`: the given values, typed, as the v1 design passed them in `argv[1]`.
    let params_json = serde_json::Value::Object(
        values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    )
    .to_string();
    let lookup = |name: &str| {
        Some(if name == SKILL_DIR_PLACEHOLDER {
            &*skill_dir
        } else if name == PARAMS_JSON_PLACEHOLDER {
            params_json.as_str()
        } else {
            texts.get(name).map_or("", String::as_str)
        })
    };
    let mut problems = Vec::new();
    let command = spec.command.as_deref().unwrap_or_default();
    let mut args = Vec::with_capacity(spec.args.len());
    let script = shipped_script(spec, dirs.skill);
    for (i, arg) in spec.args.iter().enumerate() {
        if script == Some(i) {
            args.push(dirs.skill.join(arg).to_string_lossy().into_owned());
            continue;
        }
        let template = Template::parse(arg);
        if template.sole_placeholder().is_some_and(|p| {
            p != SKILL_DIR_PLACEHOLDER && p != PARAMS_JSON_PLACEHOLDER && !values.contains_key(p)
        }) {
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
    problems.extend(oversized(values, &args, &env));
    if !problems.is_empty() {
        return Err(problems);
    }
    let program = program_path(spec, dirs.skill);
    let cwd = match &spec.working_dir {
        // A `{skill_dir}` can only lead (checked at load), so the result is absolute.
        Some(d) => dirs
            .run
            .join(Template::parse(d).render(lookup).unwrap_or_default()),
        None => dirs.run.to_path_buf(),
    };
    Ok(Invocation {
        program,
        args,
        cwd,
        env,
    })
}

/// The longest string the kernel copies into a new process's arguments or environment
/// (`MAX_ARG_STRLEN`, 32 pages), its terminating NUL included. A longer argv element or
/// `NAME=VALUE` environment string makes the spawn fail with E2BIG, so it is refused before
/// anything runs, whoever called (command line, MCP, daemon).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// What the kernel would refuse to pass: a parameter value too long for its
/// `SKILL_PARAM_<NAME>` variable, then any other argument or variable too long once rendered.
fn oversized(values: &ParamValues, args: &[String], env: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut reported = std::collections::BTreeSet::new();
    for (name, value) in values {
        let var = param_env_var(name);
        let length = value.to_text().len();
        // `NAME=VALUE` and its NUL: the longest form a value takes.
        if var.len() + 1 + length + 1 > MAX_ARG_STRLEN {
            problems.push(format!(
                "parameter `{name}` is {length} bytes; the kernel refuses to start a program with an \
                 argument or environment string over {MAX_ARG_STRLEN} bytes (MAX_ARG_STRLEN), and every \
                 parameter is passed as {var}; pass large data on the skill's stdin or as a path to a \
                 file, not as a parameter value"
            ));
            reported.insert(var);
        }
    }
    if !problems.is_empty() {
        // Every argument that holds such a value is too long for the same reason.
        return problems;
    }
    for (i, arg) in args.iter().enumerate() {
        if arg.len() + 1 > MAX_ARG_STRLEN {
            problems.push(format!(
                "argument {} is {} bytes once its placeholders are filled in, over the kernel's \
                 limit of {MAX_ARG_STRLEN} bytes for one argument (MAX_ARG_STRLEN); pass large data \
                 on the skill's stdin or as a path to a file",
                i + 1,
                arg.len()
            ));
        }
    }
    for (key, value) in env.iter().filter(|(k, _)| !reported.contains(k)) {
        let length = key.len() + 1 + value.len() + 1;
        if length > MAX_ARG_STRLEN {
            problems.push(format!(
                "environment variable {key} is {length} bytes once its placeholders are filled in, \
                 over the kernel's limit of {MAX_ARG_STRLEN} bytes (MAX_ARG_STRLEN)"
            ));
        }
    }
    problems
}

/// The index in `args` of the script an interpreter runs, when it is written relative and
/// the skill's folder holds it: `python3 tool.py`, `bash scripts/run.sh`. Arguments as written
/// in the skill, before rendering; one that holds a placeholder is never a shipped script.
fn shipped_script(spec: &SkillSpec, skill_dir: &Path) -> Option<usize> {
    let command = spec.command.as_deref()?;
    let (_, start) = family_of(command, &spec.args)?;
    if !inline_code_args(command, &spec.args).is_empty() {
        return None;
    }
    let mut i = start;
    while let Some(arg) = spec.args.get(i) {
        // `python -m module` runs a module, not a file; other options come before the script.
        if arg == "-m" || arg == "--" {
            return None;
        }
        if !arg.starts_with('-') {
            break;
        }
        i += 1;
    }
    let arg = spec.args.get(i)?;
    let relative = !arg.is_empty() && !Path::new(arg).is_absolute();
    (relative && !Template::parse(arg).has_placeholders() && skill_dir.join(arg).is_file())
        .then_some(i)
}

/// The program a code skill runs: as written when it is a name looked up on `PATH`, absolute
/// when it is a path (relative paths and `{skill_dir}/…` start at the skill's directory).
pub fn program_path(spec: &SkillSpec, skill_dir: &Path) -> String {
    let command = spec.command.as_deref().unwrap_or_default();
    let skill_dir_text = skill_dir.to_string_lossy();
    let command = Template::parse(command)
        .render(|name| (name == SKILL_DIR_PLACEHOLDER).then_some(&*skill_dir_text))
        .unwrap_or_else(|_| command.to_owned());
    if command.contains('/') && !Path::new(&command).is_absolute() {
        skill_dir.join(command).to_string_lossy().into_owned()
    } else {
        command
    }
}

/// Renders the prompt of a prompt skill. A placeholder with no value renders as empty text;
/// `{skill_dir}` as the skill's folder.
pub fn render_prompt(spec: &SkillSpec, skill_dir: &Path, values: &ParamValues) -> String {
    let skill_dir = skill_dir.to_string_lossy();
    let texts: std::collections::BTreeMap<&str, String> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_text()))
        .collect();
    Template::parse(spec.prompt_text().unwrap_or_default())
        .render(|name| {
            Some(if name == SKILL_DIR_PLACEHOLDER {
                &*skill_dir
            } else {
                texts.get(name).map_or("", String::as_str)
            })
        })
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

    fn dirs(skill: &str) -> Dirs<'_> {
        Dirs {
            skill: Path::new(skill),
            run: Path::new("/ws/here"),
        }
    }

    #[test]
    fn hostile_values_stay_inside_one_argument() {
        let s = spec(
            json!({"name": "s", "type": "code_inline", "command": "echo", "args": ["x={v}", "{v}"],
            "parameters": [{"name": "v", "type": "string"}]}),
        );
        for hostile in ["; rm -rf ~", "$(id)", "`id`", "a\nb", "{v}", "' \" \\"] {
            let values = ParamValues::from([("v".to_string(), ParamValue::Text(hostile.into()))]);
            let inv = build_invocation(&s, dirs("/skills"), &values).unwrap();
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
        let err = build_invocation(&s, dirs("/"), &values).unwrap_err();
        assert_eq!(err.len(), 1, "only the positional use is refused: {err:?}");
        s.parameters[0].allow_flag_like = true;
        assert!(build_invocation(&s, dirs("/"), &values).is_ok());
    }

    #[test]
    fn absent_optional_arguments_are_left_out() {
        let s = spec(
            json!({"name": "s", "type": "code_inline", "command": "./run.sh", "args": ["{opt}", "a{opt}b"],
            "working_dir": "sub", "parameters": [{"name": "opt", "type": "string"}]}),
        );
        let inv = build_invocation(&s, dirs("/skills/s"), &ParamValues::new()).unwrap();
        assert_eq!(inv.args, ["ab"]);
        assert_eq!(inv.program, "/skills/s/./run.sh");
        assert_eq!(inv.cwd, Path::new("/ws/here/sub"));
    }

    #[test]
    fn the_skill_folder_is_a_placeholder_and_holds_shipped_scripts() {
        let t = tempfile::tempdir().unwrap();
        let skill = t.path();
        std::fs::create_dir(skill.join("scripts")).unwrap();
        std::fs::write(skill.join("scripts/tool.py"), "").unwrap();
        let run = Path::new("/ws/here");
        let at = |v: serde_json::Value| {
            build_invocation(&spec(v), Dirs { skill, run }, &ParamValues::new()).unwrap()
        };
        let shown = skill.display();
        let inv = at(
            json!({"name": "s", "type": "code_inline", "command": "python3", "args": ["-u", "scripts/tool.py", "scripts/tool.py", "{skill_dir}/x", "{skill_dir}"],
            "env": {"TOOLS": "{skill_dir}/bin"}, "working_dir": "{skill_dir}/scripts"}),
        );
        assert_eq!(
            inv.args,
            [
                "-u".to_owned(),
                format!("{shown}/scripts/tool.py"),
                "scripts/tool.py".to_owned(),
                format!("{shown}/x"),
                shown.to_string()
            ],
            "only the script the interpreter runs is the skill's"
        );
        assert!(inv.env.contains(&("TOOLS".into(), format!("{shown}/bin"))));
        assert_eq!(inv.cwd, skill.join("scripts"));
        // A file the skill does not ship, a module and inline code stay as written.
        for args in [
            json!(["data.py"]),
            json!(["-m", "scripts/tool.py"]),
            json!(["-c", "print(1)", "scripts/tool.py"]),
        ] {
            let inv = at(
                json!({"name": "s", "type": "code_inline", "command": "python3", "args": args.clone()}),
            );
            assert_eq!(json!(inv.args), args);
            assert_eq!(inv.cwd, run);
        }
        let inv = at(
            json!({"name": "s", "type": "code_inline", "command": "{skill_dir}/scripts/tool.py"}),
        );
        assert_eq!(inv.program, format!("{shown}/scripts/tool.py"));
    }

    #[test]
    fn values_the_kernel_cannot_pass_are_refused_before_spawning() {
        let s = spec(
            json!({"name": "s", "type": "code_inline", "command": "cat", "args": ["--", "x{body}"],
            "parameters": [{"name": "body", "type": "string"}]}),
        );
        let at = |len: usize| {
            let values =
                ParamValues::from([("body".to_string(), ParamValue::Text("a".repeat(len)))]);
            build_invocation(&s, dirs("/"), &values)
        };
        // `SKILL_PARAM_BODY=` + value + NUL fits exactly; the argument `x…` is one byte shorter.
        let fits = MAX_ARG_STRLEN - "SKILL_PARAM_BODY=".len() - 1;
        assert!(at(fits).is_ok());
        let err = at(fits + 1).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].starts_with(&format!("parameter `body` is {} bytes", fits + 1)),
            "{err:?}"
        );
        assert!(err[0].contains("131072 bytes"), "{err:?}");
    }
}
