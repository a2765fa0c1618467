//! Placeholders: each names a declared parameter or one skillet fills itself, and none can let
//! a value choose the program, its directory, or run as inline code.

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::interpreter::{family_of, inline_code_args};
use crate::json_source::escape_pointer_segment;
use crate::model::SkillSpec;
use crate::template::{PARAMS_JSON_PLACEHOLDER, SKILL_DIR_PLACEHOLDER, Template};

use super::{ENV_NAME, Findings};

pub(super) fn check_templates(spec: &SkillSpec, declared: &[String], f: &mut Findings) {
    for (i, p) in spec.parameters.iter().enumerate() {
        let meaning = match p.name.as_str() {
            SKILL_DIR_PLACEHOLDER => "`{skill_dir}` is the skill's own folder",
            PARAMS_JSON_PLACEHOLDER => "`{params_json}` is every parameter as one JSON object",
            _ => continue,
        };
        f.value(
            format!("/parameters/{i}/name"),
            Diagnostic::error(format!("`{}` is reserved: {meaning}", p.name))
                .with_hint("rename the parameter"),
        );
    }
    // `{params_json}` is data: an argument or environment value of its own, never text inside
    // one, where its quotes and braces would mix with what surrounds them.
    let mut params_json_alone = |pointer: &str, text: &str| {
        let t = Template::parse(text);
        if t.placeholders().any(|p| p == PARAMS_JSON_PLACEHOLDER)
            && t.sole_placeholder() != Some(PARAMS_JSON_PLACEHOLDER)
        {
            f.value(
                pointer.to_owned(),
                Diagnostic::error("`{params_json}` must be a whole argument")
                    .with_hint("write \"{params_json}\" as an argument of its own"),
            );
        }
    };
    for (i, arg) in spec.args.iter().enumerate() {
        params_json_alone(&format!("/args/{i}"), arg);
    }
    for (k, v) in &spec.env {
        params_json_alone(&format!("/env/{}", escape_pointer_segment(k)), v);
    }
    // `{skill_dir}` is an absolute path: it may start a value that names a file, never stand in
    // the middle of one, where it could be read as part of something else.
    let mut skill_dir_leads = |pointer: &str, text: &str| {
        let t = Template::parse(text);
        if t.placeholder_offsets()
            .any(|(name, at)| name == SKILL_DIR_PLACEHOLDER && at != 0)
        {
            f.value(
                pointer.to_owned(),
                Diagnostic::error("`{skill_dir}` may only start a value, as in \"{skill_dir}/tool.py\"")
                    .with_hint("put the path in an argument of its own, or read $SKILLET_SKILL_DIR in the program"),
            );
        }
    };
    for (i, arg) in spec.args.iter().enumerate() {
        skill_dir_leads(&format!("/args/{i}"), arg);
    }
    for (k, v) in &spec.env {
        skill_dir_leads(&format!("/env/{}", escape_pointer_segment(k)), v);
    }
    for (field, text) in [
        ("/command", spec.command.as_deref()),
        ("/working_dir", spec.working_dir.as_deref()),
    ] {
        skill_dir_leads(field, text.unwrap_or_default());
    }
    let mut check = |pointer: String, text: &str, reserved: &[&str]| {
        for name in Template::parse(text).placeholders() {
            if !reserved.contains(&name) && !declared.iter().any(|d| d == name) {
                let mut hint = match did_you_mean(name, declared.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{{{close}}}`? "),
                    None => String::new(),
                };
                hint.push_str(&format!(
                    "declare it under \"parameters\", or write `{{{{{name}}}}}` for literal braces"
                ));
                f.value(
                    pointer.clone(),
                    Diagnostic::error(format!(
                        "placeholder `{{{name}}}` names no declared parameter"
                    ))
                    .with_hint(hint),
                );
            }
        }
    };
    const RESERVED: &[&str] = &[SKILL_DIR_PLACEHOLDER, PARAMS_JSON_PLACEHOLDER];
    for (i, arg) in spec.args.iter().enumerate() {
        check(format!("/args/{i}"), arg, RESERVED);
    }
    for (k, v) in &spec.env {
        check(format!("/env/{}", escape_pointer_segment(k)), v, RESERVED);
    }
    if let Some(prompt) = spec.prompt_text() {
        let field = if spec.prompt.is_some() {
            "/prompt"
        } else {
            "/prompt_template"
        };
        check(field.to_owned(), prompt, &[SKILL_DIR_PLACEHOLDER]);
    }
    for (field, text) in [
        ("/command", spec.command.as_deref()),
        ("/working_dir", spec.working_dir.as_deref()),
    ] {
        if text.is_some_and(|t| {
            Template::parse(t)
                .placeholders()
                .any(|p| p != SKILL_DIR_PLACEHOLDER)
        }) {
            f.value(field, Diagnostic::error(format!("`{}` cannot contain placeholders", &field[1..])).with_hint("a parameter may not choose the program or its directory; pass it as an argument"));
        }
    }
    if let Some(command) = spec.command.as_deref()
        && let Some((family, _)) = family_of(command, &spec.args)
    {
        for i in inline_code_args(command, &spec.args) {
            let Some(code) = spec.args.get(i) else {
                continue;
            };
            if let Some(name) = Template::parse(code).placeholders().next() {
                f.value(
                    format!("/args/{i}"),
                    Diagnostic::error(format!(
                        "placeholder `{{{name}}}` inside inline code would let a value run as code"
                    ))
                    .with_hint(if name == SKILL_DIR_PLACEHOLDER {
                        "read the skill's folder from the environment instead: $SKILLET_SKILL_DIR"
                            .to_owned()
                    } else {
                        format!(
                            "read the value from the environment instead: {}",
                            family.env_hint(name)
                        )
                    }),
                );
            }
        }
    }
    for key in spec.env.keys() {
        let at = format!("/env/{}", escape_pointer_segment(key));
        if !ENV_NAME.is_match(key) {
            f.key(
                at,
                Diagnostic::error(format!("invalid environment variable name {key:?}"))
                    .with_hint("use letters, digits and `_`, not starting with a digit"),
            );
        } else if key.starts_with(crate::PARAM_ENV_PREFIX) {
            f.key(
                at,
                Diagnostic::error(format!("`{key}` is reserved for parameters"))
                    .with_hint("skillet sets SKILL_PARAM_<NAME> itself; pick another name"),
            );
        }
    }
    for (i, test) in spec.tests.iter().enumerate() {
        for name in test.params.keys() {
            if !declared.contains(name) {
                f.key(
                    format!("/tests/{i}/params/{}", escape_pointer_segment(name)),
                    Diagnostic::error(format!("test gives undeclared parameter `{name}`"))
                        .with_hint("declare it under \"parameters\" or remove it"),
                );
            }
        }
        check_expectation(i, &test.expect, f);
    }
}

/// A test's patterns and paths are checked here, so a typo is an error at `validate`, not a
/// failure on every `skillet test`.
fn check_expectation(i: usize, expect: &crate::TestExpectation, f: &mut Findings) {
    let patterns = [
        ("stdout_regex", &expect.stdout_regex),
        ("stderr_regex", &expect.stderr_regex),
    ];
    for (field, pattern) in patterns {
        if let Some(Err(e)) = pattern.as_deref().map(regex::Regex::new) {
            f.value(
                format!("/tests/{i}/expect/{field}"),
                Diagnostic::error(format!("invalid regular expression: {e}"))
                    .with_hint("fix the pattern (Rust regex syntax; escape `\\.` and `\\(`)"),
            );
        }
    }
    for path in expect.json_path_equals.keys() {
        if crate::json_pointer_of(path).is_none() {
            f.key(
                format!(
                    "/tests/{i}/expect/json_path_equals/{}",
                    escape_pointer_segment(path)
                ),
                Diagnostic::error(format!("`{path}` is not a JSON path"))
                    .with_hint("write a JSON pointer (`/items/0/name`) or `$.items[0].name`"),
            );
        }
    }
}
