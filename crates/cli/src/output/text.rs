//! `-o text`: a report for people. Per object the verdict, the policy and where it came from,
//! each violation with its check and what to set to fix it; for PodSecurityPolicy the admitting
//! policy and the fields it defaults, or the plugin's errors; errors on standard error; a
//! summary line. Colour only when asked for or on a terminal.
//!
//! # Control characters
//! A terminal obeys control characters, so a manifest could otherwise move the cursor, recolour
//! or erase lines, and fake or hide a verdict. Every text that comes from the input (names,
//! namespaces, kinds, details, label values, policy messages, file names, `--as`) is written
//! through [`Shown`], which escapes every control character (C0, DEL and C1: U+0000–U+001F,
//! U+007F–U+009F) as Rust's `char::escape_default` writes it: `\t`, `\r`, `\n`, otherwise
//! `\u{…}` with the code in hex (ESC is `\u{1b}`). Parser messages are escaped the same way
//! before they get here (`input::decode`). Only the report's own line breaks and colours reach
//! the terminal as control characters. `-o json` writes the input's characters exactly.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Write};

use super::Sink;
use super::fixes::{Fix, Place, fix_for};
use crate::check::defaulted_fields;
use crate::report::{
    Decision, ErrorReport, EvaluationReport, ItemPath, ObjectReport, PspEvaluation, PssEvaluation,
    Summary,
};

/// The annotation PodSecurityPolicy admission records the policy in; the report says it already.
const PSP_ANNOTATION_FIELD: &str = "metadata.annotations[kubernetes.io/psp]=";

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Text from the input, with its control characters escaped (see the module documentation).
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = 0;
        for (at, c) in self.0.char_indices().filter(|(_, c)| c.is_control()) {
            f.write_str(&self.0[written..at])?;
            write!(f, "{}", c.escape_default())?;
            written = at + c.len_utf8();
        }
        f.write_str(&self.0[written..])
    }
}

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

    /// Writes `text` in `style` when colour is on: what [`paint`](Self::paint) returns, without
    /// building it first (the report of every object goes through here).
    fn painted(&mut self, style: &str, text: fmt::Arguments<'_>) -> io::Result<()> {
        if self.colored {
            write!(self.out, "{style}{text}{RESET}")
        } else {
            self.out.write_fmt(text)
        }
    }

    fn evaluation(
        &mut self,
        report: &ObjectReport,
        e: &PssEvaluation,
        earlier: &[&PssEvaluation],
        fixed: &mut BTreeSet<(&'static str, Fix)>,
    ) -> io::Result<()> {
        if e.level == "privileged" {
            // Nothing is checked at privileged; the policy line already says it applies.
            return Ok(());
        }
        if e.allowed {
            self.out.write_all(b"    ")?;
            self.painted(
                DIM,
                format_args!("{:<8}{}:{}: passes", e.mode, e.level, Shown(&e.version)),
            )?;
            return self.out.write_all(b"\n");
        }
        if let Some(same) = earlier
            .iter()
            .find(|o| o.level == e.level && o.version == e.version)
        {
            return writeln!(
                self.out,
                "    {:<8}{}:{}: same violations as {}",
                e.mode,
                e.level,
                Shown(&e.version),
                same.mode
            );
        }
        let count = e.violations.len();
        let noun = if count == 1 {
            "violation"
        } else {
            "violations"
        };
        let style = if e.mode == "enforce" { RED } else { YELLOW };
        self.out.write_all(b"    ")?;
        self.painted(
            style,
            format_args!(
                "{:<8}{}:{}: {count} {noun}",
                e.mode,
                e.level,
                Shown(&e.version)
            ),
        )?;
        self.out.write_all(b"\n")?;
        for v in &e.violations {
            self.out.write_all(b"      ")?;
            self.painted(BOLD, format_args!("{}", Shown(&v.reason)))?;
            writeln!(self.out, ": {}", Shown(&v.detail))?;
            // Once per check and fix: two modes may fail a check in ways fixed differently.
            if let Some(fix) = fix_for(v.check, &v.detail)
                && fixed.insert((v.check, fix))
            {
                self.out.write_all(b"        ")?;
                let text = fix.text;
                let within = match fix.place {
                    Place::Spec => ".spec",
                    Place::Annotations => ".metadata.annotations",
                    Place::Pod => "",
                };
                match report.template_path {
                    Some(p) => self.painted(
                        DIM,
                        format_args!("fix [{}]: {text} (in {p}{within})", v.check),
                    )?,
                    None => self.painted(DIM, format_args!("fix [{}]: {text}", v.check))?,
                }
                self.out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn psp(&mut self, e: &PspEvaluation) -> io::Result<()> {
        for unusable in &e.unusable_policies {
            let line = format!(
                "policy {} cannot be used: {}",
                Shown(&unusable.name),
                Shown(&unusable.reason)
            );
            writeln!(self.out, "    {:<8}{}", "psp", self.paint(YELLOW, &line))?;
        }
        if e.allowed {
            let policy = e.policy.as_deref().unwrap_or_default();
            writeln!(self.out, "    {:<8}admitted by {}", "psp", Shown(policy))?;
            let defaults: Vec<String> = defaulted_fields(&e.patch)
                .into_iter()
                .filter(|field| !field.starts_with(PSP_ANNOTATION_FIELD))
                .map(|field| Shown(&field).to_string())
                .collect();
            if !defaults.is_empty() {
                writeln!(self.out, "      defaults: {}", defaults.join(", "))?;
            }
            return Ok(());
        }
        let message = e.message.as_deref().unwrap_or("denied");
        if e.violations.is_empty() {
            let shown = Shown(message).to_string();
            writeln!(self.out, "    {:<8}{}", "psp", self.paint(RED, &shown))?;
            let hint = if e.policy.is_none() && message.ends_with(": []") {
                let user = e
                    .user
                    .as_deref()
                    .map_or("a requesting user (none: see --as)", |user| user);
                format!(
                    "neither {} nor {} may use a policy: grant the verb `use` on \
                     podsecuritypolicies with a Role or ClusterRole and a binding",
                    Shown(&e.service_account),
                    Shown(user)
                )
            } else {
                "the input has no usable PodSecurityPolicy".to_owned()
            };
            return writeln!(
                self.out,
                "      {}",
                self.paint(DIM, &format!("hint: {hint}"))
            );
        }
        let count = e.violations.len();
        let header = format!(
            "denied by the policies it may use: {count} {}",
            if count == 1 { "error" } else { "errors" },
        );
        writeln!(self.out, "    {:<8}{}", "psp", self.paint(RED, &header))?;
        for v in &e.violations {
            let check = Shown(&v.check).to_string();
            let mut line = format!("{}: {}", self.paint(BOLD, &check), Shown(&v.reason));
            if !v.detail.is_empty() {
                line.push_str(": ");
                line.push_str(&Shown(&v.detail).to_string());
            }
            writeln!(self.out, "      {line}")?;
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
        self.painted(style, format_args!("{mark} {word:<7}"))?;
        self.out.write_all(b" ")?;
        self.painted(BOLD, format_args!("{}", Shown(&report.display_name())))?;
        self.out.write_all(b"  ")?;
        let item = match (&report.item_path, report.item) {
            (Some(path), _) => Some(ItemPath(path).to_string()),
            (None, item) => item.map(|item| item.to_string()),
        };
        match item {
            Some(item) => self.painted(
                DIM,
                format_args!(
                    "({}, document {}, item {item})",
                    Shown(&report.source),
                    report.document
                ),
            )?,
            None => self.painted(
                DIM,
                format_args!("({}, document {})", Shown(&report.source), report.document),
            )?,
        }
        self.out.write_all(b"\n")?;
        match report.decision {
            Decision::Skipped => {
                let why = report.reason.as_deref().unwrap_or("nothing to judge");
                return writeln!(self.out, "    {}", Shown(why));
            }
            Decision::Exempt => {
                let why = report.reason.as_deref().unwrap_or("exempt");
                writeln!(
                    self.out,
                    "    exempt by {} (--config exemptions)",
                    Shown(why)
                )?;
            }
            // Judged with a reason: a controller whose pods are exempt while its warn and audit
            // are not, or the other way round; or exempt from the Pod Security Standards and
            // judged by PodSecurityPolicy.
            Decision::Allowed | Decision::Denied => {
                let judged_pods = report
                    .evaluations
                    .iter()
                    .any(|e| matches!(e, EvaluationReport::Pss(_)));
                match &report.reason {
                    Some(why) if why == "controller" => writeln!(
                        self.out,
                        "    pods exempt from the Pod Security Standards by user (--config \
                         exemptions): the controller's service account, which creates them, is \
                         exempt; warn and audit are judged"
                    )?,
                    Some(why) if judged_pods => writeln!(
                        self.out,
                        "    warn and audit exempt by {} (--config exemptions); the pods are \
                         created by the controller, which is not exempt",
                        Shown(why)
                    )?,
                    Some(why) => writeln!(
                        self.out,
                        "    exempt by {} (--config exemptions) from the Pod Security Standards",
                        Shown(why)
                    )?,
                    None => {}
                }
            }
        }
        if let Some(policy) = &report.policy {
            writeln!(
                self.out,
                "    policy  enforce={} audit={} warn={} ({})",
                Shown(&policy.enforce),
                Shown(&policy.audit),
                Shown(&policy.warn),
                policy.source.describe()
            )?;
            for error in &policy.errors {
                writeln!(
                    self.out,
                    "    {}",
                    self.paint(YELLOW, &format!("invalid label: {}", Shown(error)))
                )?;
            }
        }
        let mut fixed = BTreeSet::new();
        let mut earlier: Vec<&PssEvaluation> = Vec::new();
        for e in &report.evaluations {
            match e {
                EvaluationReport::Pss(e) => {
                    self.evaluation(report, e, &earlier, &mut fixed)?;
                    earlier.push(e);
                }
                EvaluationReport::Psp(e) => self.psp(e)?,
            }
        }
        Ok(())
    }

    fn error(&mut self, error: &ErrorReport) -> io::Result<()> {
        self.out.flush()?;
        let place = match error.document {
            Some(d) => format!("{}: document {d}", Shown(&error.source)),
            None => Shown(&error.source).to_string(),
        };
        let label = self.paint(RED, "error");
        writeln!(self.err, "{label}: {place}: {}", Shown(&error.message))
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

#[cfg(test)]
mod tests {
    use super::Shown;

    #[test]
    fn shown_escapes_exactly_the_control_characters() {
        let cases = [
            ("plain", "plain"),
            ("", ""),
            ("\u{1b}[31mred", r"\u{1b}[31mred"),
            ("a\nb\r\tc\0", r"a\nb\r\tc\u{0}"),
            ("\u{7f}\u{80}\u{9f}", r"\u{7f}\u{80}\u{9f}"),
            // Printable beyond ASCII stays as it is, next to an escape too.
            ("é\u{85}✓\u{a0}\u{200b}", "é\\u{85}✓\u{a0}\u{200b}"),
            // A backslash is not a control character.
            (r"a\u{1b}", r"a\u{1b}"),
        ];
        for (input, shown) in cases {
            assert_eq!(Shown(input).to_string(), shown, "{input:?}");
        }
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let escaped = Shown(c.encode_utf8(&mut [0; 4])).to_string() != c.to_string();
            let control = matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}');
            assert_eq!(escaped, control, "{c:?}");
        }
    }
}
