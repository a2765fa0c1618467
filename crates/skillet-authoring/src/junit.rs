//! JUnit XML, the report format CI systems read: one `<testsuite>` per skill, one
//! `<testcase>` per test, with `<failure>`, `<error>` or `<skipped>` when it did not pass.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::{Outcome, TestReport, TestResult};

/// The report as a JUnit XML document.
pub fn to_xml(report: &TestReport) -> String {
    let mut suites: BTreeMap<&str, Vec<&TestResult>> = BTreeMap::new();
    for t in &report.tests {
        suites.entry(t.skill.as_str()).or_default().push(t);
    }
    let s = &report.summary;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"skillet test\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        s.total,
        s.failed,
        s.errors,
        s.skipped,
        seconds(s.duration_ms)
    );
    for (skill, tests) in suites {
        let count = |what: &str| tests.iter().filter(|t| t.outcome.as_str() == what).count();
        let time: u64 = tests.iter().map(|t| t.duration_ms).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
            escape(skill),
            tests.len(),
            count("failed"),
            count("error"),
            count("skipped"),
            seconds(time)
        );
        for t in tests {
            let _ = write!(
                xml,
                "    <testcase classname=\"skillet.{}\" name=\"{}\" time=\"{}\"",
                escape(skill),
                escape(&format!("#{} {}", t.index, t.name)),
                seconds(t.duration_ms)
            );
            match &t.outcome {
                Outcome::Passed => xml.push_str("/>\n"),
                Outcome::Failed { mismatches } => {
                    let first = mismatches.first();
                    let message = first.map_or(String::new(), |m| m.message.clone());
                    let mut body = String::new();
                    for m in mismatches {
                        let _ = writeln!(body, "{}: {}", m.field, m.message);
                        if let Some(diff) = &m.diff {
                            body.push_str(diff);
                        }
                    }
                    if let Some(error) = t.observed.as_ref().and_then(|o| o.error.as_ref()) {
                        let _ = writeln!(body, "skillet: {error}");
                    }
                    let _ = write!(
                        xml,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                        escape(&message),
                        escape(first.map_or("", |m| m.field.as_str())),
                        escape(&body)
                    );
                }
                Outcome::Error { message } => {
                    let _ = write!(
                        xml,
                        ">\n      <error message=\"{}\"/>\n    </testcase>\n",
                        escape(message)
                    );
                }
                Outcome::Skipped { reason } => {
                    let _ = write!(
                        xml,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        escape(reason)
                    );
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `text` as XML character data or attribute value. Characters XML 1.0 cannot hold at all
/// (most control characters, which a skill's output may contain) become `\u{…}` text, so the
/// document always parses.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || matches!(c as u32, 0xFFFE | 0xFFFF) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::Mismatch;
    use crate::report::TestReport;

    fn result(skill: &str, outcome: Outcome) -> TestResult {
        TestResult {
            skill: skill.into(),
            index: 1,
            name: "a \"test\" <1>".into(),
            outcome,
            observed: None,
            execution_id: None,
            snapshot_written: None,
            cassette_written: None,
            duration_ms: 1234,
        }
    }

    #[test]
    fn hostile_text_is_escaped() {
        let report = TestReport::new(
            vec![
                result("a", Outcome::Passed),
                result(
                    "a",
                    Outcome::Failed {
                        mismatches: vec![Mismatch::new(
                            "stdout_equals",
                            "x\u{1b}[31m]]></failure>\0",
                        )],
                    },
                ),
            ],
            2000,
        );
        let xml = to_xml(&report);
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(!xml.contains('\u{1b}') && !xml.contains('\0'), "{xml}");
        assert!(xml.contains("]]&gt;&lt;/failure&gt;"), "{xml}");
        assert!(xml.contains("time=\"1.234\""), "{xml}");
    }
}
