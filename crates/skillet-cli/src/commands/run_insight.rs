//! `skillet run --debug` and `--profile` as text, and the plan `--dry-run` shows: one renderer of
//! the engine's [`PlanView`], so a dry run and a debugged run describe a process alike, and
//! `skillet info` describes the policy with the same lines.
//!
//! Everything here quotes skill files, parameters and paths: it goes through `output`'s
//! terminal-safe functions. Values from the user's environment never reach it (the engine's
//! view holds only their length).

use std::io::Write;

use skillet_engine::session::Reply;
use skillet_engine::{DebugReport, EnvOrigin, PlanView, PolicyView, Profile};

use crate::output;

/// Writes the process and policy of `plan`, one `label: value` line each.
pub fn write_plan(out: &mut dyn Write, plan: &PlanView) -> std::io::Result<()> {
    let p = &plan.process;
    writeln!(out, "program: {}", output::field(&p.program))?;
    for (i, a) in p.argv.iter().enumerate() {
        writeln!(out, "argv[{}]: {}", i + 1, output::field(&format!("{a:?}")))?;
    }
    writeln!(out, "cwd:     {}", output::path(&p.cwd))?;
    let mut unset = Vec::new();
    for var in &p.env {
        if var.from == EnvOrigin::YourEnvironment && var.shown.starts_with("<not set") {
            unset.push(output::field(&var.name).into_owned());
            continue;
        }
        let shown = match &var.value {
            Some(v) => format!("{v:?}"),
            None => var.shown.clone(),
        };
        writeln!(
            out,
            "env:     {}={}",
            output::field(&var.name),
            output::field(&shown)
        )?;
    }
    if !unset.is_empty() {
        writeln!(
            out,
            "env:     (not set in your environment, so not passed: {})",
            unset.join(" ")
        )?;
    }
    let pol = &plan.policy;
    write_policy(out, pol, 8)?;
    if !pol.namespaces.is_empty() {
        writeln!(out, "namespaces: {}", pol.namespaces.join(", "))?;
    }
    for m in &pol.mounts {
        writeln!(out, "mount:   {}  {}", output::field(&m.path), m.how)?;
    }
    for rule in &pol.landlock {
        writeln!(out, "landlock: {}", output::field(rule))?;
    }
    for rule in &pol.seccomp {
        writeln!(out, "seccomp: {rule}")?;
    }
    for w in &plan.warnings {
        writeln!(out, "note:    {}", output::field(w))?;
    }
    Ok(())
}

/// Writes what a run of `pol` may reach and use: the sandbox, reads, writes, network and
/// limits, one `label: value` line each, values starting after the label padded to `width`.
/// `skillet info` and the plan of a run print the same lines, so they cannot drift apart.
pub fn write_policy(out: &mut dyn Write, pol: &PolicyView, width: usize) -> std::io::Result<()> {
    let list = |v: &[std::path::PathBuf]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.iter()
                .map(|p| output::path(p))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut line =
        |label: &str, value: String| writeln!(out, "{:<width$} {value}", format!("{label}:"));
    line(
        "sandbox",
        format!(
            "{} (`skillet doctor` shows the layers this machine has)",
            pol.isolation
        ),
    )?;
    line("reads", format!("system directories, {}", list(&pol.read)))?;
    line(
        "writes",
        format!(
            "its scratch directory (HOME, TMPDIR){}",
            if pol.write.is_empty() {
                String::new()
            } else {
                format!(", {}", list(&pol.write))
            }
        ),
    )?;
    line("network", pol.network.clone())?;
    let l = &pol.limits;
    line(
        "limits",
        format!(
            "{} s, {} MiB memory, {} processes, {} MiB files, {} KiB output per stream, {} MiB scratch{}",
            l.timeout_s,
            l.memory_mb.unwrap_or(0),
            l.max_processes.unwrap_or(0),
            l.max_file_size_mb.unwrap_or(0),
            l.max_output_kb,
            l.scratch_mb,
            l.max_cpu_percent
                .map(|c| format!(", {c}% of a core"))
                .unwrap_or_default()
        ),
    )
}

/// Writes `--debug`'s report, section by section.
pub fn write_debug(out: &mut dyn Write, d: &DebugReport) -> std::io::Result<()> {
    if let Some(s) = &d.skill {
        writeln!(out, "skillet debug: skill")?;
        if s.asked != s.name {
            writeln!(out, "  asked as: {} (an alias)", output::field(&s.asked))?;
        }
        writeln!(out, "  name:     {}", output::field(&s.name))?;
        let scope = match &s.package {
            Some(p) => format!("{} {}", s.scope, output::field(p)),
            None => s.scope.to_owned(),
        };
        writeln!(out, "  file:     {} ({scope})", output::path(&s.file))?;
        for hidden in &s.shadows {
            writeln!(out, "  shadows:  {}", output::path(hidden))?;
        }
    }
    if !d.params.is_empty() {
        writeln!(out, "skillet debug: parameters after checking")?;
        for p in &d.params {
            let value = p
                .value
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), ToString::to_string);
            let typed = p
                .typed
                .as_ref()
                .map(|t| format!(", typed as {t}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} ({}) = {}  [{}{typed}]",
                output::field(&p.name),
                p.kind,
                output::field(&value),
                p.from
            )?;
        }
    }
    if let Some(plan) = &d.plan {
        writeln!(out, "skillet debug: process and sandbox")?;
        let mut text = Vec::new();
        write_plan(&mut text, plan)?;
        for line in String::from_utf8_lossy(&text).lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if let Some(layers) = &d.layers {
        writeln!(
            out,
            "  layers:  active: {}{}",
            if layers.active.is_empty() {
                "none".to_owned()
            } else {
                layers.active.join(", ")
            },
            if layers.missing.is_empty() {
                String::new()
            } else {
                format!("; missing: {}", output::field(&layers.missing.join("; ")))
            }
        )?;
    }
    if let Some(c) = &d.conversation {
        writeln!(out, "skillet debug: conversation")?;
        writeln!(
            out,
            "  model:    {} at {} ({}), at most {} tokens an answer, {} answer{}",
            output::field(&c.model),
            output::field(&c.endpoint),
            c.provider,
            c.max_tokens,
            c.max_turns,
            if c.max_turns == 1 { "" } else { "s" }
        )?;
        writeln!(
            out,
            "  sent:     a system prompt of {} characters, a first message of {}",
            c.system_chars, c.first_message_chars
        )?;
        if c.context_files.is_empty() {
            writeln!(out, "  context:  no files")?;
        }
        for file in &c.context_files {
            writeln!(out, "  context:  {}", output::field(file))?;
        }
    }
    if !d.attempts.is_empty() {
        writeln!(out, "skillet debug: attempts")?;
        for a in &d.attempts {
            let code = a
                .exit_code
                .map(|c| format!(" (exit code {c})"))
                .unwrap_or_default();
            writeln!(
                out,
                "  #{} {}: {}{code} after {} ms, execution {}",
                a.attempt,
                output::field(&a.skill),
                a.status,
                a.duration_ms,
                a.execution_id
            )?;
            if let Some(e) = &a.error {
                writeln!(out, "     error: {}", output::field(e))?;
            }
            match (a.retry_after_ms, &a.note) {
                (Some(ms), Some(why)) => {
                    writeln!(out, "     retried after {ms} ms: {}", output::field(why))?
                }
                (None, Some(why)) => writeln!(out, "     {}", output::field(why))?,
                _ => {}
            }
        }
    }
    if let Some(socket) = &d.daemon {
        writeln!(out, "skillet debug: served by the daemon")?;
        writeln!(out, "  daemon:   {}", output::path(socket))?;
        writeln!(
            out,
            "  by:       a warm interpreter of the skill's pool, in a fresh namespace for this call"
        )?;
    }
    writeln!(out, "skillet debug: phases")?;
    write_phases(out, &d.phases_us, d.connect_us, d.wall_us)
}

/// Writes `--profile`'s report.
pub fn write_profile(out: &mut dyn Write, p: &Profile) -> std::io::Result<()> {
    let cpu = p
        .cpu_us
        .map_or_else(|| "-".to_owned(), |us| format!("{} ms", ms(us)));
    let memory = p.peak_memory_kb.map_or_else(
        || "-".to_owned(),
        |kb| format!("{:.1} MiB", kb as f64 / 1024.0),
    );
    writeln!(
        out,
        "skillet profile: wall {} ms, CPU {cpu} (user+sys of the skill's processes), peak memory {memory}, {} attempt{}",
        ms(p.wall_us),
        p.attempts,
        if p.attempts == 1 { "" } else { "s" }
    )?;
    if p.connect_us.is_some() && p.cpu_us.is_none() {
        writeln!(
            out,
            "  (a pooled interpreter outlives the call, so its CPU and memory are not the call's)"
        )?;
    }
    write_phases(out, &p.phases_us, p.connect_us, p.wall_us)?;
    writeln!(
        out,
        "  skillet's own phases: {} ms; the skill: {} ms",
        ms(p.skillet_us),
        ms(p.phases_us.process)
    )
}

/// The engine's phases, after `connect` when the call was sent to the daemon.
fn write_phases(
    out: &mut dyn Write,
    phases: &skillet_engine::PhaseTimes,
    connect_us: Option<u64>,
    wall_us: u64,
) -> std::io::Result<()> {
    let table: Vec<(&'static str, u64)> = connect_us
        .map(|us| ("connect", us))
        .into_iter()
        .chain(phases.named())
        .collect();
    write_phase_table(out, &table, wall_us)
}

/// One line per phase with its share of `wall_us`, then `other`: the time no phase claims.
fn write_phase_table(
    out: &mut dyn Write,
    phases: &[(&'static str, u64)],
    wall_us: u64,
) -> std::io::Result<()> {
    for (name, us) in phases {
        let share = if wall_us == 0 {
            0.0
        } else {
            *us as f64 * 100.0 / wall_us as f64
        };
        writeln!(out, "  {name:<14} {:>10} ms {share:>5.1}%", ms(*us))?;
    }
    let counted = phases.iter().map(|(_, us)| *us).sum::<u64>();
    writeln!(
        out,
        "  {:<14} {:>10} ms",
        "other",
        ms(wall_us.saturating_sub(counted))
    )
}

/// `--debug` and `--profile` of a call, as asked for, on stderr: stdout is the skill's output.
pub fn write_reports(debug: Option<&DebugReport>, profile: Option<&Profile>) {
    let mut err = std::io::stderr().lock();
    if let Some(debug) = debug {
        let _ = write_debug(&mut err, debug);
    }
    if let Some(profile) = profile {
        let _ = write_profile(&mut err, profile);
    }
}

fn ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// `skillet run --session ID --debug/--profile`: one exchange with a session in the daemon.
/// The daemon measures its phases; the rest of the command's time (starting, the socket) is
/// the command's own.
pub struct ExchangeInsight {
    /// From before connecting to the answer read.
    pub wall: std::time::Duration,
    /// Connecting to the daemon (starting it, when none ran).
    pub connect: std::time::Duration,
    /// The daemon's socket.
    pub socket: std::path::PathBuf,
    /// `--debug`.
    pub debug: bool,
    /// `--profile`.
    pub profile: bool,
}

impl ExchangeInsight {
    fn phases(&self, reply: &Reply) -> [(&'static str, u64); 5] {
        let p = &reply.phases_us;
        [
            ("connect", micros(self.connect)),
            ("resolve", p.resolve),
            ("queue", p.queue),
            ("process", p.process),
            ("store", p.store),
        ]
    }

    fn other_us(&self, reply: &Reply) -> u64 {
        let counted = self.phases(reply).iter().map(|(_, us)| *us).sum::<u64>();
        micros(self.wall).saturating_sub(counted)
    }

    /// What `--json` adds beside the reply's fields: `debug` and `profile`, as asked.
    pub fn json(&self, reply: &Reply) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        let phases: serde_json::Map<String, serde_json::Value> = self
            .phases(reply)
            .iter()
            .map(|(name, us)| ((*name).to_owned(), (*us).into()))
            .collect();
        if self.debug {
            fields.insert(
                "debug".into(),
                serde_json::json!({
                    "session_id": reply.session_id,
                    "seq": reply.seq,
                    "socket": self.socket,
                    "phases_us": phases,
                }),
            );
        }
        if self.profile {
            fields.insert(
                "profile".into(),
                serde_json::json!({
                    "wall_us": micros(self.wall),
                    "phases_us": phases,
                    "skillet_us": micros(self.wall).saturating_sub(reply.phases_us.process),
                    "other_us": self.other_us(reply),
                }),
            );
        }
        fields
    }

    /// The same as text, on `out` (stderr: stdout is the session's answer).
    pub fn write(&self, out: &mut dyn Write, reply: &Reply) -> std::io::Result<()> {
        let wall = micros(self.wall);
        if self.debug {
            writeln!(out, "skillet debug: session")?;
            writeln!(
                out,
                "  session:  {}, input {}: {}",
                output::field(&reply.session_id),
                reply.seq,
                reply.outcome
            )?;
            writeln!(out, "  daemon:   {}", output::path(&self.socket))?;
        }
        if self.profile {
            writeln!(
                out,
                "skillet profile: wall {} ms, the interpreter {} ms, skillet {} ms",
                ms(wall),
                ms(reply.phases_us.process),
                ms(wall.saturating_sub(reply.phases_us.process))
            )?;
        } else {
            writeln!(out, "skillet debug: phases")?;
        }
        write_phase_table(out, &self.phases(reply), wall)
    }
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
