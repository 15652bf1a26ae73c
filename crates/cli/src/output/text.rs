//! `-o text`: a report for people. Per object the verdict, the policy and where it came from,
//! each violation with its check and what to set to fix it; errors on standard error; a
//! summary line. Colour only when asked for or on a terminal.

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::Sink;
use super::fixes::fix_for;
use crate::report::{Decision, ErrorReport, EvaluationReport, ObjectReport, Summary};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

pub struct TextSink<W: Write, E: Write> {
    out: W,
    err: E,
    colored: bool,
}

impl<W: Write, E: Write> TextSink<W, E> {
    pub fn new(out: W, err: E, colored: bool) -> Self {
        TextSink { out, err, colored }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.colored {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    fn evaluation(
        &mut self,
        report: &ObjectReport,
        e: &EvaluationReport,
        earlier: &[&EvaluationReport],
        fixed: &mut BTreeSet<&'static str>,
    ) -> io::Result<()> {
        let policy = format!("{}:{}", e.level, e.version);
        if e.level == "privileged" {
            // Nothing is checked at privileged; the policy line already says it applies.
            return Ok(());
        }
        if e.allowed {
            let line = format!("{:<8}{policy}: passes", e.mode);
            return writeln!(self.out, "    {}", self.paint(DIM, &line));
        }
        if let Some(same) = earlier
            .iter()
            .find(|o| o.level == e.level && o.version == e.version)
        {
            let line = format!("{:<8}{policy}: same violations as {}", e.mode, same.mode);
            return writeln!(self.out, "    {line}");
        }
        let count = e.violations.len();
        let header = format!(
            "{:<8}{policy}: {count} {}",
            e.mode,
            if count == 1 {
                "violation"
            } else {
                "violations"
            }
        );
        let style = if e.mode == "enforce" { RED } else { YELLOW };
        writeln!(self.out, "    {}", self.paint(style, &header))?;
        for v in &e.violations {
            writeln!(
                self.out,
                "      {}: {}",
                self.paint(BOLD, &v.reason),
                v.detail
            )?;
            if fixed.insert(v.check)
                && let Some(fix) = fix_for(v.check)
            {
                let at = report
                    .template_path
                    .map(|p| format!(" (in {p}.spec)"))
                    .unwrap_or_default();
                let line = format!("fix [{}]: {fix}{at}", v.check);
                writeln!(self.out, "        {}", self.paint(DIM, &line))?;
            }
        }
        Ok(())
    }
}

impl<W: Write, E: Write> Sink for TextSink<W, E> {
    fn object(&mut self, report: &ObjectReport) -> io::Result<()> {
        let (mark, word, style) = match report.decision {
            Decision::Allowed => ("✓", "ALLOWED", GREEN),
            Decision::Denied => ("✗", "DENIED", RED),
            Decision::Exempt => ("○", "EXEMPT", DIM),
            Decision::Skipped => ("-", "SKIPPED", DIM),
        };
        let mut place = format!("{}, document {}", report.source, report.document);
        if let Some(item) = report.item {
            place.push_str(&format!(", item {item}"));
        }
        let verdict = self.paint(style, &format!("{mark} {word:<7}"));
        writeln!(
            self.out,
            "{verdict} {}  {}",
            self.paint(BOLD, &report.display_name()),
            self.paint(DIM, &format!("({place})"))
        )?;
        match report.decision {
            Decision::Skipped => {
                let why = report.reason.as_deref().unwrap_or("nothing to judge");
                return writeln!(self.out, "    {why}");
            }
            Decision::Exempt => {
                let why = report.reason.as_deref().unwrap_or("exempt");
                writeln!(self.out, "    exempt by {why} (--config exemptions)")?;
            }
            Decision::Allowed | Decision::Denied => {}
        }
        if let Some(policy) = &report.policy {
            writeln!(
                self.out,
                "    policy  enforce={} audit={} warn={} ({})",
                policy.enforce,
                policy.audit,
                policy.warn,
                policy.source.describe()
            )?;
            for error in &policy.errors {
                writeln!(
                    self.out,
                    "    {}",
                    self.paint(YELLOW, &format!("invalid label: {error}"))
                )?;
            }
        }
        let mut fixed = BTreeSet::new();
        for (i, e) in report.evaluations.iter().enumerate() {
            let earlier: Vec<&EvaluationReport> = report.evaluations[..i].iter().collect();
            self.evaluation(report, e, &earlier, &mut fixed)?;
        }
        Ok(())
    }

    fn error(&mut self, error: &ErrorReport) -> io::Result<()> {
        self.out.flush()?;
        let place = match error.document {
            Some(d) => format!("{}: document {d}", error.source),
            None => error.source.clone(),
        };
        let label = self.paint(RED, "error");
        writeln!(self.err, "{label}: {place}: {}", error.message)
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let objects = s.objects();
        let mut line = format!(
            "{objects} {}: {} allowed, {} denied",
            if objects == 1 { "object" } else { "objects" },
            s.allowed,
            s.denied
        );
        if s.exempt > 0 {
            line.push_str(&format!(", {} exempt", s.exempt));
        }
        if s.skipped > 0 {
            line.push_str(&format!(", {} skipped", s.skipped));
        }
        if s.errors > 0 {
            line.push_str(&format!(
                "; {} {}",
                s.errors,
                if s.errors == 1 {
                    "input error"
                } else {
                    "input errors"
                }
            ));
        }
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}
