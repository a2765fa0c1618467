//! The catalog as Markdown (GitHub-flavoured: tables, fenced code).
//!
//! Author text goes through [`text`] (inline, escaped: no HTML, links or emphasis of its own)
//! or into a fenced block whose fence is longer than any backtick run inside it.

use std::fmt::Write;

use super::{Catalog, Example, SkillDoc};

pub(super) fn render(catalog: &Catalog) -> String {
    let mut out = String::from("# Skills\n\n");
    if catalog.skills.is_empty() {
        out.push_str("No skills found. `skillet create NAME` starts one.\n");
        return out;
    }
    let broken = catalog.skills.iter().filter(|s| s.kind.is_none()).count();
    let _ = writeln!(
        out,
        "{} skill file{}{}. Written by `skillet docs`.\n",
        catalog.skills.len(),
        plural(catalog.skills.len()),
        if broken > 0 {
            format!(", {broken} broken")
        } else {
            String::new()
        }
    );
    out.push_str("| Name | Type | Scope | Description |\n|---|---|---|---|\n");
    for s in &catalog.skills {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            if skillet_spec::is_valid_skill_name(&s.name) {
                format!("[{}](#{})", s.name, s.name)
            } else {
                text(&s.name)
            },
            s.kind.unwrap_or("**broken**"),
            text(&s.scope),
            text(s.description.as_deref().unwrap_or(""))
        );
    }
    for s in &catalog.skills {
        out.push('\n');
        skill(&mut out, s);
    }
    out
}

fn skill(out: &mut String, s: &SkillDoc) {
    let _ = writeln!(out, "## {}\n", text(&s.name));
    if let Some(d) = &s.description {
        let _ = writeln!(out, "{}\n", text(d));
    }
    let mut facts = Vec::new();
    if let Some(kind) = s.kind {
        facts.push(format!("type `{kind}`"));
    }
    if let Some(v) = &s.version {
        facts.push(format!("version {}", code(v)));
    }
    facts.push(format!("{} scope", text(&s.scope)));
    facts.push(format!("file {}", code(&s.location)));
    let _ = writeln!(out, "- {}", facts.join(" · "));
    if !s.aliases.is_empty() {
        let aliases: Vec<String> = s.aliases.iter().map(|a| code(a)).collect();
        let _ = writeln!(out, "- aliases: {}", aliases.join(", "));
    }
    if let Some(other) = &s.hidden_by {
        let _ = writeln!(out, "- not used: {} answers to this name", code(other));
    }
    out.push('\n');
    if s.kind.is_none() {
        let _ = writeln!(
            out,
            "**Broken**: it cannot be used until fixed ({}).\n",
            code(&format!("skillet validate {}", s.location))
        );
        for e in &s.errors {
            let _ = writeln!(out, "- {}", text(e));
        }
        out.push('\n');
        return;
    }
    parameters(out, s);
    pairs(
        out,
        "Limits",
        &s.limits,
        "none declared: skillet's defaults apply.",
    );
    pairs(out, "Permissions asked", &s.permissions, "none.");
    if !s.examples.is_empty() {
        out.push_str("### Examples\n\n");
        for e in &s.examples {
            example(out, e);
        }
    }
}

fn parameters(out: &mut String, s: &SkillDoc) {
    out.push_str("### Parameters\n\n");
    if s.parameters.is_empty() {
        out.push_str("None.\n\n");
        return;
    }
    out.push_str("| Name | Type | Required | Default | Description |\n|---|---|---|---|---|\n");
    for p in &s.parameters {
        let mut describe = text(p.description.as_deref().unwrap_or(""));
        if !p.values.is_empty() {
            let values: Vec<String> = p.values.iter().map(|v| cell_code(v)).collect();
            describe.push_str(&format!(" One of: {}.", values.join(", ")));
        }
        if !p.constraints.is_empty() {
            describe.push_str(&format!(" ({})", text(&p.constraints.join("; "))));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell_code(&p.name),
            p.kind,
            if p.required { "yes" } else { "no" },
            p.default
                .as_deref()
                .map_or_else(|| "-".to_owned(), cell_code),
            describe.trim()
        );
    }
    out.push('\n');
}

fn pairs(out: &mut String, title: &str, items: &[(String, String)], none: &str) {
    let _ = writeln!(out, "### {title}\n");
    if items.is_empty() {
        let _ = writeln!(out, "{}\n", capitalise(none));
        return;
    }
    for (what, value) in items {
        let _ = writeln!(out, "- {what}: {}", code(value));
    }
    out.push('\n');
}

fn example(out: &mut String, e: &Example) {
    let _ = writeln!(out, "**{}**\n", text(&e.title));
    fenced(out, "sh", &e.command);
    if !e.expect.is_empty() {
        let expect: Vec<String> = e
            .expect
            .iter()
            .map(|(what, value)| format!("{what} {}", code(value)))
            .collect();
        let _ = writeln!(out, "Expected: {}.\n", expect.join("; "));
    }
    if let Some(output) = &e.output {
        out.push_str("Output:\n\n");
        fenced(out, "text", output);
    }
}

fn fenced(out: &mut String, lang: &str, body: &str) {
    let fence = "`".repeat((longest_run(body, '`') + 1).max(3));
    let body = body.strip_suffix('\n').unwrap_or(body);
    let _ = writeln!(out, "{fence}{lang}\n{body}\n{fence}\n");
}

/// Author text as inline Markdown that shows exactly the characters written: characters that
/// would start emphasis, code, links or a table cell are backslash-escaped, `<`, `>` and `&`
/// become entities (no raw HTML), a leading `#`, `-` or `+` cannot start a heading or a list, and
/// line breaks become spaces so that a value cannot end a table row or start a heading.
pub(super) fn text(s: &str) -> String {
    let line = one_line(s);
    let mut out = String::with_capacity(line.len());
    if line.starts_with(['#', '-', '+']) {
        out.push('\\');
    }
    for c in line.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Author text as an inline code span, long enough a fence that no backtick inside ends it.
fn code(s: &str) -> String {
    let s = one_line(s);
    if s.is_empty() {
        return "\"\"".to_owned();
    }
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A code span inside a table cell, where a `|` would end the cell even in code.
fn cell_code(s: &str) -> String {
    code(s).replace('|', "\\|")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
