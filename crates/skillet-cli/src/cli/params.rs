//! `--param` and `--params`: parameter values of a run or a session, from the command line, a
//! file or stdin, checked against what the kernel can pass to a program.

use clap::Args;

// Parameter values of a run or a session.
#[derive(Debug, Args)]
pub struct ParamArgs {
    /// A parameter value, as NAME=VALUE. NAME=@FILE reads the value from FILE, NAME=@- from
    /// stdin; NAME=@@TEXT is the literal value @TEXT. Repeat for more.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Parameter values as a JSON object; --param values win over these.
    #[arg(long = "params", value_name = "JSON")]
    pub params_json: Option<String>,
}

/// The kernel's limit on one argument or environment string (`MAX_ARG_STRLEN`), which the
/// engine enforces for every caller; checked here too, so that a `--param` too long is refused
/// with the command line's exit code and a hint before anything else happens.
pub use skillet_engine::MAX_ARG_STRLEN;

impl ParamArgs {
    /// Merges `--params` (a JSON object) and `--param NAME=VALUE` (which win), reading
    /// `@FILE` and `@-` values, and refuses a value the kernel could not pass to the skill.
    pub fn values(&self) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        use crate::output::{EXIT_INVALID_PARAMS, failure};
        use serde_json::Value;
        let mut params = match &self.params_json {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(failure(
                        EXIT_INVALID_PARAMS,
                        "--params must be a JSON object",
                        Some(r#"write --params '{"file": "x.txt"}'"#.into()),
                    ));
                }
                Err(e) => {
                    return Err(failure(
                        EXIT_INVALID_PARAMS,
                        format!("--params is not valid JSON: {e}"),
                        Some(r#"write --params '{"file": "x.txt"}'"#.into()),
                    ));
                }
            },
        };
        for pair in &self.params {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(failure(
                    EXIT_INVALID_PARAMS,
                    format!("--param {pair:?} has no `=`"),
                    Some(format!(
                        "write --param NAME=VALUE, e.g. --param {pair}=VALUE (`skillet info SKILL` lists the parameters)"
                    )),
                ));
            };
            if name.is_empty() {
                return Err(failure(
                    EXIT_INVALID_PARAMS,
                    format!("--param {pair:?} has no name before `=`"),
                    Some("write --param NAME=VALUE".into()),
                ));
            }
            params.insert(name.to_owned(), Value::String(param_value(name, value)?));
        }
        for (name, value) in &params {
            let length = match value {
                Value::String(text) => text.len(),
                other => other.to_string().len(),
            };
            // `SKILL_PARAM_` + NAME + `=` + VALUE + NUL: the environment string is the longest
            // form a value takes.
            let needed = "SKILL_PARAM_".len() + name.len() + 1 + length + 1;
            if needed > MAX_ARG_STRLEN {
                return Err(failure(
                    EXIT_INVALID_PARAMS,
                    format!(
                        "parameter `{name}` is {length} bytes; the kernel refuses to start a program with an argument or environment string over {MAX_ARG_STRLEN} bytes (MAX_ARG_STRLEN), and every parameter is passed as SKILL_PARAM_{}",
                        name.to_uppercase()
                    ),
                    Some(
                        "pass large data on the skill's stdin (pipe it, or --stdin) or as a path to a file, not as a parameter value".into(),
                    ),
                ));
            }
        }
        Ok(params)
    }
}

/// The value of `--param NAME=VALUE`: `@FILE` is the file's text, `@-` stdin's, and `@@…` the
/// literal value `@…`.
fn param_value(name: &str, value: &str) -> anyhow::Result<String> {
    use crate::output::{EXIT_INVALID_PARAMS, failure};
    use std::io::Read;
    let Some(source) = value.strip_prefix('@') else {
        return Ok(value.to_owned());
    };
    if source.starts_with('@') {
        return Ok(source.to_owned());
    }
    let mut bytes = Vec::new();
    let read = if source == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(drop)
    } else {
        std::fs::File::open(source).and_then(|mut f| f.read_to_end(&mut bytes).map(drop))
    };
    let from = if source == "-" { "stdin" } else { source };
    if let Err(e) = read {
        return Err(failure(
            EXIT_INVALID_PARAMS,
            format!("--param {name}=@{source}: cannot read {from}: {e}"),
            Some(format!(
                "NAME=@FILE reads the value from FILE; write --param {name}=@@{source} for a value that starts with @"
            )),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        failure(
            EXIT_INVALID_PARAMS,
            format!("--param {name}=@{source}: {from} is not UTF-8 text"),
            Some("parameter values are text; pass binary data on the skill's stdin".into()),
        )
    })
}
