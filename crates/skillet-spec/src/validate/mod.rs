//! Rules a well-typed skill must still follow: names, placeholders, safe substitution, field
//! combinations. Every problem is collected; none stops the others from being found.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostic::Diagnostic;
use crate::model::{ParamKind, SkillKind, SkillSpec};

mod cache;
mod channels;
mod policies;
mod state;
mod templates;

pub use cache::check_key_glob;

use cache::{check_cache, check_concurrency};
use channels::check_channels;
use policies::check_policies;
use state::check_state;
use templates::check_templates;

static SKILL_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9_-]{0,63}$").expect("static regex"));
static PARAM_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$").expect("static regex"));
static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").expect("static regex"));

/// Whether `name` is a valid skill name (also used for aliases).
pub fn is_valid_skill_name(name: &str) -> bool {
    SKILL_NAME.is_match(name)
}

/// A problem and the JSON pointer it belongs to.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Where the problem is.
    pub pointer: String,
    /// Point at the field's key rather than its value (for "this field does not belong here").
    pub at_key: bool,
    /// The problem.
    pub diagnostic: Diagnostic,
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn value(&mut self, pointer: impl Into<String>, d: Diagnostic) {
        self.0.push(Finding {
            pointer: pointer.into(),
            at_key: false,
            diagnostic: d,
        });
    }
    fn key(&mut self, pointer: impl Into<String>, d: Diagnostic) {
        self.0.push(Finding {
            pointer: pointer.into(),
            at_key: true,
            diagnostic: d,
        });
    }
}

/// Checks every rule of the skill format that types alone cannot express.
pub fn validate(spec: &SkillSpec) -> Vec<Finding> {
    let mut f = Findings::default();
    check_identity(spec, &mut f);
    check_kind_fields(spec, &mut f);
    let declared = check_parameters(spec, &mut f);
    check_templates(spec, &declared, &mut f);
    check_policies(spec, &mut f);
    check_cache(spec, &mut f);
    check_concurrency(spec, &mut f);
    check_state(spec, &mut f);
    check_channels(spec, &mut f);
    f.0
}

fn check_identity(spec: &SkillSpec, f: &mut Findings) {
    if !is_valid_skill_name(&spec.name) {
        f.value(
            "/name",
            Diagnostic::error(format!("invalid skill name {:?}", spec.name)).with_hint(
                "use 1-64 lowercase letters, digits, `-` or `_`, starting with a letter or digit",
            ),
        );
    }
    if spec
        .description
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        f.value(
            "",
            Diagnostic::warning("no description").with_hint(
                "add \"description\": a one-line summary that `skillet list` and agents show",
            ),
        );
    }
    if semver::Version::parse(&spec.version).is_err() {
        f.value(
            "/version",
            Diagnostic::error(format!(
                "version {:?} is not a semantic version",
                spec.version
            ))
            .with_hint("write MAJOR.MINOR.PATCH, e.g. \"1.0.0\""),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, alias) in spec.aliases.iter().enumerate() {
        let at = format!("/aliases/{i}");
        if !is_valid_skill_name(alias) {
            f.value(
                at,
                Diagnostic::error(format!("invalid alias {alias:?}"))
                    .with_hint("aliases follow the rules of skill names"),
            );
        } else if alias == &spec.name {
            f.value(
                at,
                Diagnostic::error(format!("alias {alias:?} is the skill's own name"))
                    .with_hint("remove it"),
            );
        } else if !seen.insert(alias) {
            f.value(
                at,
                Diagnostic::error(format!("alias {alias:?} is listed twice"))
                    .with_hint("remove the repeat"),
            );
        }
    }
}

fn check_kind_fields(spec: &SkillSpec, f: &mut Findings) {
    let kind = spec.kind;
    if spec.prompt_template.is_some() && spec.prompt.is_some() {
        f.key(
            "/prompt",
            Diagnostic::error("both `prompt` and `prompt_template` are set")
                .with_hint("`prompt` is an alias: keep only `prompt_template`"),
        );
    }
    let prompt_field = if spec.prompt.is_some() {
        "/prompt"
    } else {
        "/prompt_template"
    };
    if kind.is_code() {
        match spec.command.as_deref() {
            None => f.value(
                "",
                Diagnostic::error(format!("a {kind} skill needs a `command`"))
                    .with_hint("add \"command\": the program to run, e.g. \"python3\""),
            ),
            Some(c) if c.trim().is_empty() => f.value(
                "/command",
                Diagnostic::error("`command` is empty").with_hint("name the program to run"),
            ),
            Some(_) => {}
        }
        if spec.prompt_text().is_some() {
            f.key(
                prompt_field,
                misplaced(prompt_field, kind, "prompt_inline and conversation"),
            );
        }
        check_process_strings(spec, f);
    } else {
        if spec.prompt_text().is_none() {
            f.value(
                "",
                Diagnostic::error(format!("a {kind} skill needs a `prompt_template`")).with_hint(
                    "add \"prompt_template\": the prompt text, with {param} placeholders",
                ),
            );
        }
        for (field, set) in [
            ("/command", spec.command.is_some()),
            ("/args", !spec.args.is_empty()),
            ("/working_dir", spec.working_dir.is_some()),
            ("/env", !spec.env.is_empty()),
        ] {
            if set {
                f.key(
                    field,
                    misplaced(field, kind, "code_inline and code_session"),
                );
            }
        }
    }
    if spec.session_config.is_some()
        && !matches!(kind, SkillKind::CodeSession | SkillKind::Conversation)
    {
        f.key(
            "/session_config",
            misplaced("/session_config", kind, "code_session and conversation"),
        );
    }
    if let Some(cfg) = &spec.session_config {
        check_session_config(cfg, kind, f);
    }
    if kind != SkillKind::Conversation {
        for (field, set) in [
            ("/context_files", spec.context_files.is_some()),
            ("/guided_questions", !spec.guided_questions.is_empty()),
            ("/max_turns", spec.max_turns.is_some()),
            ("/completion", spec.completion.is_some()),
            ("/model", spec.model.is_some()),
        ] {
            if set {
                f.key(field, misplaced(field, kind, "conversation"));
            }
        }
    }
    if kind == SkillKind::Conversation && spec.fallback.is_some() {
        f.key(
            "/fallback",
            Diagnostic::warning("`fallback` is not used by conversation skills yet")
                .with_hint("a failed conversation is kept; `skillet session resume ID` retries it"),
        );
    }
    if spec.timeout == Some(0) {
        f.value(
            "/timeout",
            Diagnostic::error("`timeout` is 0")
                .with_hint("give the wall-clock limit in seconds, at least 1"),
        );
    }
}

/// What the kernel cannot carry into a process: a NUL ends an argument or variable early, and
/// `=` in a variable's name splits it elsewhere. Found here, `validate` names the field; left to
/// the spawn, every run would fail with no field named.
fn check_process_strings(spec: &SkillSpec, f: &mut Findings) {
    let nul = |what: &str| {
        Diagnostic::error(format!(
            "{what} holds a NUL byte, which no program argument or environment variable can carry"
        ))
        .with_hint("remove the \\u0000 from the file")
    };
    if spec.command.as_deref().is_some_and(|c| c.contains('\0')) {
        f.value("/command", nul("`command`"));
    }
    for (i, arg) in spec.args.iter().enumerate() {
        if arg.contains('\0') {
            f.value(format!("/args/{i}"), nul(&format!("`args[{i}]`")));
        }
    }
    if spec
        .working_dir
        .as_deref()
        .is_some_and(|d| d.contains('\0'))
    {
        f.value("/working_dir", nul("`working_dir`"));
    }
    for (name, value) in &spec.env {
        let at = format!("/env/{}", crate::json_source::escape_pointer_segment(name));
        if name.contains('\0') || name.contains('=') || name.is_empty() {
            f.key(
                at,
                Diagnostic::error(format!(
                    "environment variable name {name:?} is empty or holds `=` or a NUL byte"
                ))
                .with_hint("use letters, digits and `_`"),
            );
        } else if value.contains('\0') {
            f.value(at, nul(&format!("`env.{name}`")));
        }
    }
}

fn misplaced(pointer: &str, kind: SkillKind, applies_to: &str) -> Diagnostic {
    let field = pointer.trim_start_matches('/');
    Diagnostic::error(format!("`{field}` does not apply to a {kind} skill")).with_hint(format!(
        "`{field}` is for {applies_to} skills; remove it or change `type`"
    ))
}

/// Returns the declared parameter names.
fn check_parameters(spec: &SkillSpec, f: &mut Findings) -> Vec<String> {
    let mut names = Vec::new();
    let mut env_names: BTreeMap<String, &str> = BTreeMap::new();
    for (i, p) in spec.parameters.iter().enumerate() {
        let at = |field: &str| format!("/parameters/{i}{field}");
        if !PARAM_NAME.is_match(&p.name) {
            f.value(at("/name"), Diagnostic::error(format!("invalid parameter name {:?}", p.name)).with_hint("use letters, digits and `_`, starting with a letter or `_` (it becomes an environment variable name)"));
        } else if names.contains(&p.name) {
            f.value(
                at("/name"),
                Diagnostic::error(format!("parameter `{}` is declared twice", p.name))
                    .with_hint("remove or rename one"),
            );
        } else if let Some(other) = env_names.insert(crate::param_env_var(&p.name), &p.name) {
            f.value(
                at("/name"),
                Diagnostic::error(format!(
                    "parameters `{other}` and `{}` both become {}",
                    p.name,
                    crate::param_env_var(&p.name)
                ))
                .with_hint("names must differ in more than letter case"),
            );
        }
        names.push(p.name.clone());
        match p.kind {
            ParamKind::Enum if p.values.is_empty() => f.value(
                at(""),
                Diagnostic::error(format!("enum parameter `{}` has no `values`", p.name))
                    .with_hint("add \"values\": [\"a\", \"b\"]"),
            ),
            ParamKind::Enum => {}
            _ if !p.values.is_empty() => f.key(
                at("/values"),
                Diagnostic::error(format!(
                    "`values` given for a {} parameter",
                    p.kind.as_str()
                ))
                .with_hint("set \"type\": \"enum\" or remove `values`"),
            ),
            _ => {}
        }
        if let Some(pattern) = &p.pattern {
            if matches!(
                p.kind,
                ParamKind::Boolean | ParamKind::Integer | ParamKind::Number
            ) {
                f.key(
                    at("/pattern"),
                    Diagnostic::error(format!(
                        "`pattern` given for a {} parameter",
                        p.kind.as_str()
                    ))
                    .with_hint(
                        "use `min`/`max` for numbers; `pattern` is for string, path and enum",
                    ),
                );
            } else if let Err(e) = check_pattern_syntax(pattern) {
                let first_line = e.lines().last().unwrap_or_default().to_owned();
                f.value(
                    at("/pattern"),
                    Diagnostic::error(format!("invalid regular expression: {first_line}"))
                        .with_hint(
                            "patterns use Rust regex syntax (no look-around or back-references)",
                        ),
                );
            }
        }
        if matches!(p.kind, ParamKind::Boolean | ParamKind::Enum) {
            for (field, set) in [("/min", p.min.is_some()), ("/max", p.max.is_some())] {
                if set {
                    f.key(at(field), Diagnostic::error(format!("`{}` given for a {} parameter", &field[1..], p.kind.as_str())).with_hint("`min` and `max` apply to numbers and to the length of strings and paths"));
                }
            }
        }
        if let (Some(min), Some(max)) = (p.min, p.max)
            && min > max
        {
            f.value(
                at("/min"),
                Diagnostic::error(format!("`min` ({min}) is greater than `max` ({max})"))
                    .with_hint("swap them"),
            );
        }
        if let Some(default) = &p.default
            && let Err(e) = p.check(default)
        {
            f.value(
                at("/default"),
                Diagnostic::error(format!("default does not fit the parameter: {}", e.reason))
                    .with_hint("change the default or the declaration"),
            );
        }
    }
    names
}

fn check_session_config(cfg: &crate::SessionConfig, kind: SkillKind, f: &mut Findings) {
    use crate::SessionProtocol;
    if kind == SkillKind::Conversation {
        for (field, set) in [
            ("/session_config/protocol", cfg.protocol.is_some()),
            ("/session_config/prompt", cfg.prompt.is_some()),
            ("/session_config/pool", cfg.pool.is_some()),
        ] {
            if set {
                f.key(field, misplaced(field, kind, "code_session"));
            }
        }
    }
    if let Some(pool) = &cfg.pool {
        check_pool(pool, cfg, f);
    }
    if let Some(prompt) = &cfg.prompt {
        if cfg.protocol == Some(SessionProtocol::Jsonl) {
            f.key(
                "/session_config/prompt",
                Diagnostic::error("`prompt` is only used with `protocol: \"repl\"`")
                    .with_hint("a jsonl session's responses are framed by lines; remove `prompt`"),
            );
        } else if let Err(e) = check_pattern_syntax(prompt) {
            let first_line = e.lines().last().unwrap_or_default().to_owned();
            f.value(
                "/session_config/prompt",
                Diagnostic::error(format!("invalid regular expression: {first_line}"))
                    .with_hint("write a Rust regex matching the prompt, such as \"sqlite> $\""),
            );
        }
    }
}

/// The longest `session_config.pool.preload`: it is sent to every member as one input.
const MAX_PRELOAD_BYTES: usize = 64 * 1024;

/// A pool's sizes must make sense together, and its members must be resettable: skillet has a
/// fresh-namespace recipe only for the interpreters it drives itself (python, node, shells).
fn check_pool(pool: &crate::PoolConfig, cfg: &crate::SessionConfig, f: &mut Findings) {
    use crate::SessionProtocol;
    if pool.max == Some(0) {
        f.value(
            "/session_config/pool/max",
            Diagnostic::error("pool.max must be at least 1")
                .with_hint("write 1 or more, or leave the field out for the default"),
        );
    }
    // The fresh namespace and the end-of-output marks are made inside the interpreter, which the
    // previous caller controlled: a shell input can close its subshell, node code can reach the
    // main realm, python can replace the reset itself. So no interpreter serves two calls.
    if let Some(n) = pool.recycle_after.filter(|&n| n != 1) {
        f.value(
            "/session_config/pool/recycle_after",
            Diagnostic::error(format!(
                "pool.recycle_after is {n}, and must be 1: an interpreter that served one call \
                 could take over the next caller's input and output, whatever skillet resets \
                 between them"
            ))
            .with_hint("remove recycle_after: every call gets an interpreter of its own, started ahead of time"),
        );
    }
    if let (Some(min), Some(max)) = (pool.min_idle, pool.max)
        && min > max
    {
        f.value(
            "/session_config/pool/min_idle",
            Diagnostic::error(format!(
                "min_idle ({min}) is more than max ({max}): the pool can never keep that many warm"
            ))
            .with_hint("lower min_idle to max or less"),
        );
    }
    if let Some(code) = &pool.preload {
        if code.trim().is_empty() {
            f.value(
                "/session_config/pool/preload",
                Diagnostic::error("pool.preload is empty")
                    .with_hint("write the code every interpreter runs once before its call, such as \"import numpy\", or remove preload"),
            );
        } else if code.len() > MAX_PRELOAD_BYTES {
            f.value(
                "/session_config/pool/preload",
                Diagnostic::error(format!(
                    "pool.preload is {} bytes, more than {} KiB",
                    code.len(),
                    MAX_PRELOAD_BYTES / 1024
                ))
                .with_hint("keep preload to imports and setup; put longer code in a module beside the skill and import it"),
            );
        }
    }
    let unresettable = if cfg.protocol == Some(SessionProtocol::Jsonl) {
        Some("`protocol: \"jsonl\"`")
    } else if cfg.prompt.is_some() {
        Some("a `prompt`")
    } else {
        None
    };
    if let Some(what) = unresettable {
        f.key(
            "/session_config/pool",
            Diagnostic::error(format!(
                "a pool needs a fresh namespace for every call, and skillet has no reset recipe for an interpreter driven by {what}"
            ))
            .with_hint("pool only python, node or shell sessions driven by skillet's own recipes, or remove `pool`"),
        );
    }
}

/// Checks a pattern's syntax without compiling it: compiling every pattern of every skill would
/// dominate `skillet list`, and only a run needs the compiled form.
fn check_pattern_syntax(pattern: &str) -> Result<(), String> {
    regex_syntax::Parser::new()
        .parse(pattern)
        .map(drop)
        .map_err(|e| e.to_string())
}
