//! The catalog as one static, self-contained HTML page: inline CSS, no scripts, nothing
//! loaded from elsewhere. Every piece of author text goes through [`escape`].

use std::fmt::Write;

use super::{Catalog, Example, SkillDoc};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1b1b1b}\
table{border-collapse:collapse;margin:.5rem 0 1rem}\
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
code,pre{font-family:ui-monospace,monospace;background:#f4f4f4}\
pre{padding:.5rem;overflow-x:auto;white-space:pre-wrap}\
section{border-top:1px solid #ddd;margin-top:2rem}\
.broken{color:#a00000}.meta{color:#555}";

pub(super) fn render(catalog: &Catalog) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing on the page may run or load anything, whatever a skill's text says.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>Skills</title>\n<style>{STYLE}</style>\n</head>\n<body>"
    );
    out.push_str("<h1>Skills</h1>\n");
    if catalog.skills.is_empty() {
        out.push_str(
            "<p>No skills found. <code>skillet create NAME</code> starts one.</p>\n</body>\n</html>\n",
        );
        return out;
    }
    let broken = catalog.skills.iter().filter(|s| s.kind.is_none()).count();
    let _ = writeln!(
        out,
        "<p>{} skill file{}{}. Written by <code>skillet docs</code>.</p>",
        catalog.skills.len(),
        if catalog.skills.len() == 1 { "" } else { "s" },
        if broken > 0 {
            format!(", {broken} broken")
        } else {
            String::new()
        }
    );
    out.push_str(
        "<table>\n<tr><th>Name</th><th>Type</th><th>Scope</th><th>Description</th></tr>\n",
    );
    for (i, s) in catalog.skills.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            anchor(i, s),
            escape(&s.name),
            s.kind
                .map_or_else(|| "<span class=\"broken\">broken</span>".to_owned(), escape),
            escape(&s.scope),
            escape(s.description.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
    for (i, s) in catalog.skills.iter().enumerate() {
        skill(&mut out, i, s);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The element id of entry `i`: the name when it is a valid skill name (stable links), made
/// unique by its position otherwise or when two files share a name.
fn anchor(i: usize, s: &SkillDoc) -> String {
    if skillet_spec::is_valid_skill_name(&s.name) && s.hidden_by.is_none() {
        format!("skill-{}", s.name)
    } else {
        format!("entry-{i}")
    }
}

fn skill(out: &mut String, i: usize, s: &SkillDoc) {
    let _ = writeln!(
        out,
        "<section id=\"{}\">\n<h2>{}</h2>",
        anchor(i, s),
        escape(&s.name)
    );
    if let Some(d) = &s.description {
        let _ = writeln!(out, "<p>{}</p>", escape(d));
    }
    let mut facts = Vec::new();
    if let Some(kind) = s.kind {
        facts.push(format!("type <code>{kind}</code>"));
    }
    if let Some(v) = &s.version {
        facts.push(format!("version <code>{}</code>", escape(v)));
    }
    facts.push(format!("{} scope", escape(&s.scope)));
    facts.push(format!("file <code>{}</code>", escape(&s.location)));
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", facts.join(" · "));
    if !s.aliases.is_empty() {
        let aliases: Vec<String> = s
            .aliases
            .iter()
            .map(|a| format!("<code>{}</code>", escape(a)))
            .collect();
        let _ = writeln!(out, "<p>Aliases: {}</p>", aliases.join(", "));
    }
    if let Some(other) = &s.hidden_by {
        let _ = writeln!(
            out,
            "<p>Not used: <code>{}</code> answers to this name.</p>",
            escape(other)
        );
    }
    if s.kind.is_none() {
        let _ = writeln!(
            out,
            "<p class=\"broken\">Broken: it cannot be used until fixed (<code>skillet validate {}</code>).</p>\n<ul>",
            escape(&s.location)
        );
        for e in &s.errors {
            let _ = writeln!(out, "<li>{}</li>", escape(e));
        }
        out.push_str("</ul>\n</section>\n");
        return;
    }
    parameters(out, s);
    pairs(
        out,
        "Limits",
        &s.limits,
        "None declared: skillet's defaults apply.",
    );
    pairs(out, "Permissions asked", &s.permissions, "None.");
    if !s.examples.is_empty() {
        out.push_str("<h3>Examples</h3>\n");
        for e in &s.examples {
            example(out, e);
        }
    }
    out.push_str("</section>\n");
}

fn parameters(out: &mut String, s: &SkillDoc) {
    out.push_str("<h3>Parameters</h3>\n");
    if s.parameters.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str(
        "<table>\n<tr><th>Name</th><th>Type</th><th>Required</th><th>Default</th><th>Description</th></tr>\n",
    );
    for p in &s.parameters {
        let mut describe = escape(p.description.as_deref().unwrap_or(""));
        if !p.values.is_empty() {
            let values: Vec<String> = p
                .values
                .iter()
                .map(|v| format!("<code>{}</code>", escape(v)))
                .collect();
            let _ = write!(describe, " One of: {}.", values.join(", "));
        }
        if !p.constraints.is_empty() {
            let _ = write!(describe, " ({})", escape(&p.constraints.join("; ")));
        }
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            p.kind,
            if p.required { "yes" } else { "no" },
            p.default
                .as_deref()
                .map_or_else(|| "-".to_owned(), |d| format!("<code>{}</code>", escape(d))),
            describe.trim()
        );
    }
    out.push_str("</table>\n");
}

fn pairs(out: &mut String, title: &str, items: &[(String, String)], none: &str) {
    let _ = writeln!(out, "<h3>{title}</h3>");
    if items.is_empty() {
        let _ = writeln!(out, "<p>{none}</p>");
        return;
    }
    out.push_str("<ul>\n");
    for (what, value) in items {
        let _ = writeln!(
            out,
            "<li>{}: <code>{}</code></li>",
            escape(what),
            escape(value)
        );
    }
    out.push_str("</ul>\n");
}

fn example(out: &mut String, e: &Example) {
    let _ = writeln!(
        out,
        "<h4>{}</h4>\n<pre><code>{}</code></pre>",
        escape(&e.title),
        escape(&e.command)
    );
    if !e.expect.is_empty() {
        let expect: Vec<String> = e
            .expect
            .iter()
            .map(|(what, value)| format!("{} <code>{}</code>", escape(what), escape(value)))
            .collect();
        let _ = writeln!(out, "<p>Expected: {}.</p>", expect.join("; "));
    }
    if let Some(output) = &e.output {
        let _ = writeln!(
            out,
            "<p>Output:</p>\n<pre><code>{}</code></pre>",
            escape(output)
        );
    }
}

/// Text as HTML character data or a quoted attribute value: every character that could start
/// markup, end an attribute or begin an entity is replaced by its entity.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
