//! `skillet history`: past executions, streamed from the store to stdout one row at a time, so
//! `--limit 0` over a million rows takes as little memory as the last twenty.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use skillet_store::{ExecutionQuery, ExecutionRecord, now_ms};

use crate::cli::{HistoryArgs, HistoryCommand};
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &HistoryArgs) -> Result<ExitCode> {
    match &args.show {
        Some(HistoryCommand::Show { id, json }) => return show(ctx, id, *json),
        Some(HistoryCommand::Prune(prune)) => return super::history_prune::run(ctx, prune),
        None => {}
    }
    let since_ms = match &args.since {
        Some(text) => Some(now_ms() - parse_duration_ms(text)?),
        None => None,
    };
    let store = ctx.store()?;
    let query = ExecutionQuery {
        skill: args.skill.clone(),
        status: args.status.clone(),
        since_ms,
        limit: args.limit,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut sink: Box<dyn RowSink + '_> = if args.json {
        Box::new(JsonArray::default())
    } else {
        Box::new(Table::new(now_ms()))
    };
    // The store hands rows over one at a time; a write error (stdout closed) stops the scan and
    // is reported after it.
    let mut failed: Option<anyhow::Error> = None;
    store.scan(&query, &mut |record| match sink.row(&mut out, &record) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let filtered = args.skill.is_some() || args.status.is_some() || args.since.is_some();
    sink.finish(&mut out, filtered)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Context, id: &str, json: bool) -> Result<ExitCode> {
    let store = ctx.store()?;
    let Some(record) = store.get(id)? else {
        return Err(output::failure(
            output::EXIT_FAILURE,
            format!("no execution with id `{}`", output::field(id)),
            Some("`skillet history` lists them".into()),
        ));
    };
    if json {
        output::json(&with_times(&record)?)?;
    } else {
        print_record(&record);
    }
    Ok(ExitCode::SUCCESS)
}

/// Where listed rows go, as they come.
trait RowSink {
    fn row(&mut self, out: &mut dyn Write, record: &ExecutionRecord) -> Result<()>;
    /// After the last row; `filtered` says whether options narrowed the listing.
    fn finish(&mut self, out: &mut dyn Write, filtered: bool) -> Result<()>;
}

/// `--json`: the same pretty array `output::json` prints, written element by element.
#[derive(Default)]
struct JsonArray {
    written: usize,
}

impl RowSink for JsonArray {
    fn row(&mut self, out: &mut dyn Write, record: &ExecutionRecord) -> Result<()> {
        let pretty = serde_json::to_string_pretty(&with_times(record)?)?;
        out.write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
        for (i, line) in pretty.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(b"  ")?;
            out.write_all(line.as_bytes())?;
        }
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, _filtered: bool) -> Result<()> {
        out.write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        Ok(())
    }
}

/// Rows whose cells set the column widths; later rows use those widths (a longer cell pushes
/// only its own line), so the table needs no more memory at a million rows than at this many.
const TABLE_SAMPLE_ROWS: usize = 500;

const HEADER: [&str; 7] = [
    "STARTED", "SKILL", "STATUS", "EXIT", "DURATION", "CACHED", "ID",
];

/// The table, laid out from its first [`TABLE_SAMPLE_ROWS`] rows.
struct Table {
    now: i64,
    sample: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
}

impl Table {
    fn new(now: i64) -> Table {
        Table {
            now,
            sample: Vec::new(),
            widths: None,
        }
    }

    /// A record's cells, each made safe by `output::cell`: skill names and statuses come from
    /// the store, which any process of the user's can write.
    fn cells(&self, r: &ExecutionRecord) -> Vec<String> {
        [
            output::ago(self.now - r.started_at_ms),
            r.skill.clone(),
            r.status.clone(),
            r.exit_code.map_or("-".into(), |c| c.to_string()),
            format!("{} ms", r.duration_ms),
            if r.cached { "yes" } else { "-" }.to_owned(),
            r.id.clone(),
        ]
        .iter()
        .map(|c| output::cell(c).into_owned())
        .collect()
    }

    fn lay_out(&mut self, out: &mut dyn Write) -> Result<()> {
        let mut widths: Vec<usize> = HEADER.iter().map(|h| h.chars().count()).collect();
        for row in &self.sample {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header: Vec<String> = HEADER.iter().map(|h| (*h).to_owned()).collect();
        write_line(out, &widths, &header)?;
        for row in std::mem::take(&mut self.sample) {
            write_line(out, &widths, &row)?;
        }
        self.widths = Some(widths);
        Ok(())
    }
}

impl RowSink for Table {
    fn row(&mut self, out: &mut dyn Write, record: &ExecutionRecord) -> Result<()> {
        let cells = self.cells(record);
        match &self.widths {
            Some(widths) => write_line(out, widths, &cells),
            None => {
                self.sample.push(cells);
                if self.sample.len() >= TABLE_SAMPLE_ROWS {
                    self.lay_out(out)?;
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self, out: &mut dyn Write, filtered: bool) -> Result<()> {
        if self.widths.is_none() && self.sample.is_empty() {
            writeln!(
                out,
                "No executions recorded{}.",
                if filtered { " that match" } else { " yet" }
            )?;
            return Ok(());
        }
        if self.widths.is_none() {
            self.lay_out(out)?;
        }
        Ok(())
    }
}

/// One line of left-aligned columns, two spaces apart; the last column is not padded.
fn write_line(out: &mut dyn Write, widths: &[usize], cells: &[String]) -> Result<()> {
    let last = cells.len().saturating_sub(1);
    for (i, cell) in cells.iter().enumerate() {
        out.write_all(cell.as_bytes())?;
        if i != last {
            let pad = widths
                .get(i)
                .map_or(0, |w| w.saturating_sub(cell.chars().count()))
                + 2;
            for _ in 0..pad {
                out.write_all(b" ")?;
            }
        }
    }
    out.write_all(b"\n")?;
    Ok(())
}

/// A record for `--json`: as stored, plus `started_at` and `finished_at` in RFC 3339.
fn with_times(r: &ExecutionRecord) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(r)?;
    if let Some(fields) = value.as_object_mut() {
        fields.insert("started_at".into(), output::rfc3339(r.started_at_ms).into());
        fields.insert(
            "finished_at".into(),
            output::rfc3339(r.finished_at_ms).into(),
        );
    }
    Ok(value)
}

/// Every text of a record comes from the store, which any process of the user's can write, and
/// much of it from skills and clients: each goes through `output::field`.
fn print_record(r: &ExecutionRecord) {
    let opt = |v: &Option<String>| output::field(v.as_deref().unwrap_or("-")).into_owned();
    let num = |v: Option<i64>| v.map_or("-".into(), |n| n.to_string());
    println!("id:          {}", output::field(&r.id));
    println!(
        "skill:       {} {} ({})",
        output::field(&r.skill),
        opt(&r.version),
        opt(&r.scope)
    );
    println!(
        "status:      {}{}",
        output::field(&r.status),
        r.limit_hit
            .as_ref()
            .map(|l| format!(" (limit: {})", output::field(l)))
            .unwrap_or_default()
    );
    println!("exit code:   {}", num(r.exit_code));
    println!(
        "started:     {} ({})",
        output::timestamp(r.started_at_ms),
        output::ago(now_ms() - r.started_at_ms)
    );
    println!("duration:    {} ms", r.duration_ms);
    if let Some(waited) = r.queue_wait_ms {
        println!("queue wait:  {waited} ms");
    }
    println!("cpu time:    {} ms", num(r.cpu_time_ms));
    println!("peak memory: {} KiB", num(r.peak_memory_kb));
    println!("processes:   {} at most at once", num(r.peak_processes));
    println!(
        "written:     {}",
        r.bytes_written
            .map_or("-".into(), |b| output::bytes(u64::try_from(b).unwrap_or(0)))
    );
    println!(
        "attempt:     {} (correlation {})",
        r.attempt,
        output::field(&r.correlation_id)
    );
    println!(
        "params:      {}",
        opt(&r.params.clone().or_else(|| r.params_hash.clone()))
    );
    println!("truncated:   {}", r.truncated);
    println!("cached:      {}", r.cached);
    if let Some(origin) = &r.origin {
        println!(
            "asked by:    {} request {}",
            output::field(origin),
            opt(&r.request_id)
        );
    }
    if let Some(e) = &r.error {
        println!("error:       {}", output::field(e));
    }
}

/// `90s`, `15m`, `1h`, `2d`, `1w` in milliseconds (skillet-observe's reading), or a usage error.
pub(super) fn parse_duration_ms(text: &str) -> Result<i64> {
    skillet_observe::parse_window(text).map_err(|e| {
        output::failure(
            output::EXIT_INVALID_PARAMS,
            format!("--since {e}"),
            Some("write a number and a unit, like 90s, 15m, 1h, 2d or 1w".into()),
        )
    })
}
