//! Turning the values a caller gave into checked parameter values.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};
use skillet_spec::{ParamKind, ParamValue, SkillSpec, did_you_mean};

/// The checked values of one call, by parameter name. Optional parameters with no value and no
/// default are absent.
pub type ParamValues = BTreeMap<String, ParamValue>;

/// Checks `given` against the skill's declarations: applies defaults, refuses unknown names,
/// missing required values and values of the wrong type, and makes relative `path` values
/// absolute against `caller_dir` (the skill may run elsewhere). Every problem is reported at once.
pub fn resolve_params(
    spec: &SkillSpec,
    given: &Map<String, Value>,
    caller_dir: &Path,
) -> Result<ParamValues, Vec<String>> {
    let mut problems = Vec::new();
    for name in given.keys() {
        if !spec.parameters.iter().any(|p| &p.name == name) {
            let mut msg = format!("unknown parameter `{name}`");
            match did_you_mean(name, spec.parameters.iter().map(|p| p.name.as_str())) {
                Some(close) => msg.push_str(&format!(" (did you mean `{close}`?)")),
                None if spec.parameters.is_empty() => {
                    msg.push_str(&format!(" (skill `{}` takes no parameters)", spec.name))
                }
                None => {
                    let names: Vec<_> = spec.parameters.iter().map(|p| p.name.as_str()).collect();
                    msg.push_str(&format!(" (expected: {})", names.join(", ")));
                }
            }
            problems.push(msg);
        }
    }
    let mut values = ParamValues::new();
    for p in &spec.parameters {
        let raw = given
            .get(&p.name)
            .filter(|v| !v.is_null())
            .or(p.default.as_ref());
        match raw {
            Some(raw) => match p.check(raw) {
                Ok(ParamValue::Path(path)) => {
                    values.insert(
                        p.name.clone(),
                        ParamValue::Path(absolute(caller_dir, &path)),
                    );
                }
                Ok(v) => {
                    values.insert(p.name.clone(), v);
                }
                Err(e) => problems.push(e.to_string()),
            },
            None if p.required => {
                let mut msg = format!(
                    "missing required parameter `{}` ({}",
                    p.name,
                    p.kind.as_str()
                );
                if p.kind == ParamKind::Enum {
                    msg.push_str(&format!(": one of {}", p.values.join(", ")));
                }
                msg.push(')');
                if let Some(d) = &p.description {
                    msg.push_str(&format!(": {d}"));
                }
                problems.push(msg);
            }
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// Replaces each `path` value of a code skill's call by its real path, resolved by the kernel
/// beneath `workspace`: a value inside the workspace that reaches out of it through a symlink or
/// `..`, and a relative value that leaves it, are refused. A value the caller gave as an absolute
/// path outside the workspace is theirs to give; it is resolved too. The program then gets the
/// very path that was checked.
pub fn confine_paths(
    spec: &SkillSpec,
    given: &Map<String, Value>,
    values: &mut ParamValues,
    workspace: &Path,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (name, value) in values.iter_mut() {
        let ParamValue::Path(path) = value else {
            continue;
        };
        let typed_absolute = given
            .get(name)
            .or_else(|| {
                spec.parameters
                    .iter()
                    .find(|p| &p.name == name)
                    .and_then(|p| p.default.as_ref())
            })
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with('/'));
        let lexical = PathBuf::from(&*path);
        let outcome = match lexical.strip_prefix(workspace) {
            Ok(rel) => crate::policy::resolve_beneath(workspace, rel),
            Err(_) if typed_absolute => {
                Ok(crate::policy::Boundaries::new(None, None, &[]).real(&lexical))
            }
            Err(_) => {
                problems.push(format!(
                    "parameter `{name}`: {} is outside the workspace {}; give an absolute path \
                     if you mean it",
                    lexical.display(),
                    workspace.display()
                ));
                continue;
            }
        };
        match outcome {
            Ok(real) => *path = real.to_string_lossy().into_owned(),
            Err(e) if crate::policy::is_escape(&e) => problems.push(format!(
                "parameter `{name}`: {} leaves the workspace {} through a symlink or `..`; \
                 give the real path if you mean it",
                lexical.display(),
                workspace.display()
            )),
            Err(e) => problems.push(format!(
                "parameter `{name}`: cannot resolve {}: {e}",
                lexical.display()
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `base/rel`, with `.` and `..` folded lexically (the path need not exist yet).
fn absolute(base: &Path, path: &str) -> String {
    let joined = base.join(path);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(params: Value) -> SkillSpec {
        serde_json::from_value(json!({"name": "s", "type": "prompt_inline", "prompt_template": "x", "parameters": params})).unwrap()
    }

    fn given(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_apply_and_all_problems_are_reported() {
        let s = spec(json!([
            {"name": "n", "type": "integer", "default": 3},
            {"name": "req", "type": "string", "required": true, "description": "the thing"},
            {"name": "color", "type": "enum", "values": ["red"]}
        ]));
        let v = resolve_params(&s, &given(json!({"color": "red"})), Path::new("/")).unwrap_err();
        assert_eq!(v, ["missing required parameter `req` (string): the thing"]);
        let v = resolve_params(
            &s,
            &given(json!({"req": "x", "colour": "red", "n": "x"})),
            Path::new("/"),
        )
        .unwrap_err();
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].contains("did you mean `color`"));
        let ok = resolve_params(&s, &given(json!({"req": "x"})), Path::new("/")).unwrap();
        assert_eq!(ok["n"], ParamValue::Integer(3));
        assert!(!ok.contains_key("color"));
    }

    #[test]
    fn path_values_are_resolved_beneath_the_workspace() {
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap();
        let ws = root.join("ws");
        std::fs::create_dir_all(ws.join("real")).unwrap();
        std::os::unix::fs::symlink("real", ws.join("in")).unwrap();
        std::os::unix::fs::symlink("..", ws.join("up")).unwrap();
        std::os::unix::fs::symlink(&root, ws.join("abs")).unwrap();
        let s = spec(json!([{"name": "f", "type": "path"}]));
        let confined = |value: &str| {
            let given = given(json!({ "f": value }));
            let mut values = resolve_params(&s, &given, &ws).unwrap();
            confine_paths(&s, &given, &mut values, &ws).map(|()| values["f"].to_text())
        };
        let real = |p: &str| ws.join(p).to_string_lossy().into_owned();
        assert_eq!(confined("in/new.txt").unwrap(), real("real/new.txt"));
        assert_eq!(confined("./real/../in").unwrap(), real("real"));
        for escape in ["up/x", "abs", "in/../up/ws", "../x", "real/../../x"] {
            let e = confined(escape).unwrap_err();
            assert!(e[0].contains("workspace"), "{escape}: {e:?}");
        }
        let outside = root.to_string_lossy().into_owned();
        assert_eq!(
            confined(&outside).unwrap(),
            outside,
            "typed absolute: the caller's"
        );
    }

    #[test]
    fn relative_paths_are_made_absolute_against_the_caller() {
        let s = spec(json!([{"name": "f", "type": "path"}]));
        let ok = resolve_params(
            &s,
            &given(json!({"f": "../b/./c.txt"})),
            Path::new("/home/u/proj"),
        )
        .unwrap();
        assert_eq!(ok["f"], ParamValue::Path("/home/u/b/c.txt".into()));
        let ok = resolve_params(&s, &given(json!({"f": "-rf"})), Path::new("/w")).unwrap();
        assert_eq!(
            ok["f"],
            ParamValue::Path("/w/-rf".into()),
            "a path can never become a flag"
        );
    }
}
