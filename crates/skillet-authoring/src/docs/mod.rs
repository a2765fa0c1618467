//! `skillet docs`: a catalog of every skill, as Markdown or as one static HTML page.
//!
//! The catalog is built once from the registry ([`Catalog::from_registry`]) into plain values,
//! then rendered ([`Catalog::to_markdown`], [`Catalog::to_html`]). Everything in it a skill's
//! author wrote is untrusted text: the renderers escape it for their format, and control
//! characters are dropped here so that not even a terminal reading the Markdown sees them.
//!
//! The output is deterministic: the same skills give the same bytes (entries in the
//! registry's name order, fields in a fixed order, no timestamps, paths shown relative to the
//! workspace or the home directory).

mod example;
mod html;
mod markdown;

use std::path::Path;

use serde_json::Value;
use skillet_registry::{Registry, SkillEntry};
use skillet_spec::{NetworkAccess, ParameterSpec, SkillSpec, SkillTest};

pub use example::run_command;

/// Every skill found, valid or broken, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// One entry per skill file, sorted by name.
    pub skills: Vec<SkillDoc>,
}

/// One skill file in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillDoc {
    /// The skill's name (the file's name when it is too broken to declare one).
    pub name: String,
    /// `workspace`, `global`, or `package NAME`.
    pub scope: String,
    /// The file, relative to the workspace or `~` when it is under one of them.
    pub location: String,
    /// When another file of the same name answers to it instead: that file's location.
    pub hidden_by: Option<String>,
    /// The skill's type (`code_inline`, …); `None` when it is broken.
    pub kind: Option<&'static str>,
    /// Its version.
    pub version: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// Its parameters, in declaration order.
    pub parameters: Vec<ParamDoc>,
    /// The limits it declares, as (what, value) pairs.
    pub limits: Vec<(String, String)>,
    /// The permissions it asks for, as (what, value) pairs.
    pub permissions: Vec<(String, String)>,
    /// Its tests, as examples of use.
    pub examples: Vec<Example>,
    /// Why it is broken; empty when it loads.
    pub errors: Vec<String>,
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDoc {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: &'static str,
    /// Whether a value must be given.
    pub required: bool,
    /// Its default value, as JSON text.
    pub default: Option<String>,
    /// The allowed values of an `enum`.
    pub values: Vec<String>,
    /// Further constraints: pattern, min, max.
    pub constraints: Vec<String>,
    /// What it means.
    pub description: Option<String>,
}

/// One test of a skill, shown as an example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The test's name, or `test N`.
    pub title: String,
    /// The shell command that makes the same call (`skillet run NAME --param …`).
    pub command: String,
    /// What the call must produce, as (what, value) pairs, in a fixed order.
    pub expect: Vec<(String, String)>,
    /// The whole expected standard output, when the test states it (`stdout_equals`, or a
    /// stored snapshot).
    pub output: Option<String>,
}

impl Catalog {
    /// The catalog of every skill `registry` found. Paths are shown relative to `base` (the
    /// workspace root, or the working directory) or to `home` when under one of them.
    pub fn from_registry(registry: &Registry, base: &Path, home: Option<&Path>) -> Catalog {
        let shown = |path: &Path| shown_path(path, base, home);
        let mut skills: Vec<SkillDoc> = registry
            .entries()
            .iter()
            .map(|e| skill_doc(registry, e, &shown))
            .collect();
        // Stable: files of one name keep the registry's precedence order.
        skills.sort_by(|a, b| a.name.cmp(&b.name));
        Catalog { skills }
    }

    /// The catalog as Markdown.
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }

    /// The catalog as one self-contained HTML page (no scripts, no external resources).
    pub fn to_html(&self) -> String {
        html::render(self)
    }
}

fn shown_path(path: &Path, base: &Path, home: Option<&Path>) -> String {
    if let Ok(rel) = path.strip_prefix(base) {
        return rel.display().to_string();
    }
    if let Some(rel) = home.and_then(|h| path.strip_prefix(h).ok()) {
        return format!("~/{}", rel.display());
    }
    path.display().to_string()
}

fn skill_doc(registry: &Registry, e: &SkillEntry, shown: &dyn Fn(&Path) -> String) -> SkillDoc {
    let scope = match &e.package {
        Some(p) => format!("package {}", clean(&p.name)),
        None => e.scope.as_str().to_owned(),
    };
    let hidden_by = match (&e.used_instead, registry.resolve(&e.name)) {
        (Some(other), _) => Some(shown(other)),
        (None, Some(winner)) if winner.path != e.path => Some(shown(&winner.path)),
        _ => None,
    };
    let mut doc = SkillDoc {
        name: clean(&e.name),
        scope,
        location: clean(&shown(&e.path)),
        hidden_by: hidden_by.map(|h| clean(&h)),
        kind: None,
        version: None,
        description: None,
        aliases: Vec::new(),
        parameters: Vec::new(),
        limits: Vec::new(),
        permissions: Vec::new(),
        examples: Vec::new(),
        errors: Vec::new(),
    };
    match e.spec.as_ref().filter(|_| e.is_valid()) {
        Some(spec) => fill_from_spec(&mut doc, spec, e.skill_dir()),
        None => {
            doc.errors = e
                .errors()
                .map(|d| {
                    let at = d
                        .position
                        .map(|p| format!("line {}, column {}: ", p.line, p.column))
                        .unwrap_or_default();
                    let hint = d
                        .hint
                        .as_deref()
                        .map(|h| format!(" (hint: {h})"))
                        .unwrap_or_default();
                    clean(&format!("{at}{}{hint}", d.message))
                })
                .collect();
        }
    }
    doc
}

fn fill_from_spec(doc: &mut SkillDoc, spec: &SkillSpec, skill_dir: &Path) {
    doc.kind = Some(spec.kind.as_str());
    doc.version = Some(clean(&spec.version));
    doc.description = spec.description.as_deref().map(clean);
    doc.aliases = spec.aliases.iter().map(|a| clean(a)).collect();
    doc.parameters = spec.parameters.iter().map(param_doc).collect();
    doc.limits = limits(spec);
    doc.permissions = permissions(spec);
    doc.examples = spec
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| example(spec, t, i + 1, skill_dir))
        .collect();
}

fn param_doc(p: &ParameterSpec) -> ParamDoc {
    let mut constraints = Vec::new();
    if let Some(pattern) = &p.pattern {
        constraints.push(format!("matches {}", clean(pattern)));
    }
    if let Some(min) = p.min {
        constraints.push(format!("min {min}"));
    }
    if let Some(max) = p.max {
        constraints.push(format!("max {max}"));
    }
    if p.allow_flag_like {
        constraints.push("may start with -".to_owned());
    }
    ParamDoc {
        name: clean(&p.name),
        kind: p.kind.as_str(),
        required: p.required,
        default: p.default.as_ref().map(|v| clean(&value_text(v))),
        values: p.values.iter().map(|v| clean(v)).collect(),
        constraints,
        description: p.description.as_deref().map(clean),
    }
}

fn limits(spec: &SkillSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(t) = spec.timeout {
        out.push(("timeout".into(), format!("{t} s")));
    }
    let Some(l) = spec
        .security
        .as_ref()
        .and_then(|s| s.resource_limits.as_ref())
    else {
        return out;
    };
    let mut push = |what: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push((what.to_owned(), v));
        }
    };
    push("memory", l.max_memory_mb.map(|v| format!("{v} MB")));
    push(
        "execution time",
        l.max_execution_time.map(|v| format!("{v} s")),
    );
    push("CPU", l.max_cpu_percent.map(|v| format!("{v} %")));
    push("processes", l.max_processes.map(|v| v.to_string()));
    push("output", l.max_output_kb.map(|v| format!("{v} KB")));
    push("file size", l.max_file_size_mb.map(|v| format!("{v} MB")));
    out
}

fn permissions(spec: &SkillSpec) -> Vec<(String, String)> {
    let Some(p) = spec.security.as_ref().and_then(|s| s.permissions.as_ref()) else {
        return Vec::new();
    };
    let list = |items: &[String]| {
        items
            .iter()
            .map(|i| clean(i))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    if !p.file_read.is_empty() {
        out.push(("read".into(), list(&p.file_read)));
    }
    if !p.file_write.is_empty() {
        out.push(("write".into(), list(&p.file_write)));
    }
    match &p.network_access {
        Some(NetworkAccess::Enabled(true)) => out.push(("network".into(), "any".into())),
        Some(NetworkAccess::Destinations(d)) if !d.is_empty() => {
            out.push(("network".into(), list(d)));
        }
        _ => {}
    }
    if let Some(spawn) = p.allow_spawn {
        out.push((
            "start processes".into(),
            if spawn { "yes" } else { "no" }.into(),
        ));
    }
    if !p.env_passthrough.is_empty() {
        out.push(("environment".into(), list(&p.env_passthrough)));
    }
    out
}

fn example(spec: &SkillSpec, test: &SkillTest, index: usize, skill_dir: &Path) -> Example {
    let x = &test.expect;
    let mut expect = Vec::new();
    let mut push = |what: &str, value: Option<String>| {
        if let Some(v) = value {
            expect.push((what.to_owned(), clean(&v)));
        }
    };
    push("exit code", x.exit_code.map(|c| c.to_string()));
    push("status", x.status.clone());
    if x.exit_code.is_none() && x.status.is_none() {
        push("status", Some("ok".into()));
    }
    push("stdout contains", x.stdout_contains.clone());
    push("stdout matches", x.stdout_regex.clone());
    push("stderr contains", x.stderr_contains.clone());
    push("stderr equals", x.stderr_equals.clone());
    push("stderr matches", x.stderr_regex.clone());
    for (path, value) in &x.json_path_equals {
        push(&format!("JSON {path}"), Some(value_text(value)));
    }
    let snapshot = x
        .snapshot
        .then(|| {
            crate::snapshot::read(skill_dir, &spec.name, index)
                .ok()
                .flatten()
        })
        .flatten();
    if x.snapshot && snapshot.is_none() {
        push(
            "stdout",
            Some("equals its snapshot (not recorded yet)".into()),
        );
    }
    Example {
        title: test
            .name
            .as_deref()
            .map_or_else(|| format!("test {index}"), clean),
        command: clean(&run_command(
            &spec.name,
            &test.params,
            test.stdin.as_deref(),
        )),
        expect,
        output: x.stdout_equals.clone().or(snapshot).map(|s| clean(&s)),
    }
}

/// A JSON value as a person would type it: strings bare, everything else as JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` without control characters other than line breaks and tabs: an author's escape
/// sequence must not reach a terminal that shows the catalog.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests;
