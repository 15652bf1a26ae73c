//! The formatting primitives every check message is built from. Upstream's messages are an
//! interface (people grep for them), so these reproduce its quirks exactly: `quote_join` does no
//! escaping at all, while `go_quote` escapes like Go's `%q`.

use std::fmt::Write;

/// `"a", "b"`: items wrapped in double quotes and joined by `, `, inserted raw (no escaping,
/// so an item containing quotes yields nested quotes, as upstream).
pub fn quote_join<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    push_quoted(&mut out, items);
    out
}

fn push_quoted<I, S>(out: &mut String, items: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for (i, item) in items.into_iter().enumerate() {
        // Fixed-size pieces, so that only the item's own copy is a call to memcpy.
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(item.as_ref());
        out.push('"');
    }
}

/// The singular form only when `n == 1`, the plural for every other count (including 0).
pub fn plural<'a>(singular: &'a str, plural: &'a str, n: usize) -> &'a str {
    if n == 1 { singular } else { plural }
}

/// Builds one check detail in a single allocation: the detail strings are made on the
/// evaluation hot path, where `format!` and intermediate strings would dominate.
pub(crate) struct Message(String);

impl Message {
    pub fn new() -> Self {
        Message(String::with_capacity(128))
    }

    pub fn text(mut self, text: &str) -> Self {
        self.0.push_str(text);
        self
    }

    /// [`quote_join`] without the intermediate string.
    pub fn quoted<'a>(mut self, items: impl IntoIterator<Item = &'a str>) -> Self {
        push_quoted(&mut self.0, items);
        self
    }

    /// Items joined by `separator`, unquoted.
    pub fn joined<'a>(mut self, items: impl IntoIterator<Item = &'a str>, separator: &str) -> Self {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.0.push_str(separator);
            }
            self.0.push_str(item);
        }
        self
    }

    /// `singular` when `n == 1`, else `plural`.
    pub fn noun(self, singular: &str, plural_form: &str, n: usize) -> Self {
        self.text(plural(singular, plural_form, n))
    }

    /// `container "a"` or `containers "a", "b"`.
    pub fn containers(self, names: &[&str]) -> Self {
        self.noun("container ", "containers ", names.len())
            .quoted(names.iter().copied())
    }

    /// The setter phrase: `pod`, then the containers, joined by ` and `.
    pub fn setters(mut self, pod: bool, containers: &[&str]) -> Self {
        if pod {
            self = self.text("pod");
            if !containers.is_empty() {
                self = self.text(" and ");
            }
        }
        if containers.is_empty() {
            self
        } else {
            self.containers(containers)
        }
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// Sorts byte-wise and removes duplicates: upstream's sorted string sets.
pub(crate) fn sorted_set(mut items: Names<'_>) -> Names<'_> {
    items.sort_unstable();
    match &mut items.heap {
        Some(heap) => heap.dedup(),
        None => {
            let mut kept = 0;
            for i in 0..items.len {
                if kept == 0 || items.inline[i] != items.inline[kept - 1] {
                    items.inline[kept] = items.inline[i];
                    kept += 1;
                }
            }
            items.len = kept;
        }
    }
    items
}

/// What a check collects to name in its message (containers, volumes, offending values): a
/// list of borrowed strings that stays on the stack while it is short. Findings usually name
/// one or two things, and a heap list per finding was a large part of evaluating a pod.
#[derive(Debug, Clone)]
pub(crate) struct Names<'a> {
    /// Items in `inline[..len]` until there are more than [`Names::INLINE`]; then all in `heap`.
    inline: [&'a str; Names::INLINE],
    len: usize,
    heap: Option<Vec<&'a str>>,
}

impl<'a> Names<'a> {
    const INLINE: usize = 4;

    pub fn new() -> Self {
        Names {
            inline: [""; Names::INLINE],
            len: 0,
            heap: None,
        }
    }

    pub fn push(&mut self, item: &'a str) {
        match &mut self.heap {
            Some(heap) => heap.push(item),
            None if self.len < Names::INLINE => {
                self.inline[self.len] = item;
                self.len += 1;
            }
            None => {
                let mut heap = Vec::with_capacity(Names::INLINE * 2);
                heap.extend_from_slice(&self.inline);
                heap.push(item);
                self.heap = Some(heap);
            }
        }
    }
}

impl Default for Names<'_> {
    fn default() -> Self {
        Names::new()
    }
}

impl<'a> std::ops::Deref for Names<'a> {
    type Target = [&'a str];

    fn deref(&self) -> &[&'a str] {
        match &self.heap {
            Some(heap) => heap,
            None => &self.inline[..self.len],
        }
    }
}

impl std::ops::DerefMut for Names<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.heap {
            Some(heap) => heap,
            None => &mut self.inline[..self.len],
        }
    }
}

impl<'a> FromIterator<&'a str> for Names<'a> {
    fn from_iter<I: IntoIterator<Item = &'a str>>(items: I) -> Self {
        let mut names = Names::new();
        // Internal iteration: the checks' lists are chains of the pod's container lists, which
        // `for_each` walks one after the other instead of asking the chain at every item.
        items.into_iter().for_each(|item| names.push(item));
        names
    }
}

impl<'n, 'a> IntoIterator for &'n Names<'a> {
    type Item = &'a str;
    type IntoIter = std::iter::Copied<std::slice::Iter<'n, &'a str>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter().copied()
    }
}

/// Go's `strconv.Quote` (`%q`) for valid UTF-8: used for annotation values, label values and
/// names in messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Outside ASCII this approximates the Unicode categories with what Rust's standard library
/// exposes: control, separator, private-use, unassigned-looking and format code points are not
/// printable.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let cp = c as u32;
    let format_or_private = matches!(cp,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD
        | 0xFFFE | 0xFFFF | 0xD800..=0xDFFF);
    !format_or_private
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_join_never_escapes() {
        assert_eq!(quote_join(Vec::<String>::new()), "");
        assert_eq!(quote_join(["a", "b"]), r#""a", "b""#);
        assert_eq!(quote_join([r#"x="y""#]), r#""x="y"""#);
        assert_eq!(quote_join(["", ""]), r#""", """#);
    }

    #[test]
    fn names_keep_order_and_sort_into_sets_on_the_stack_and_beyond() {
        for count in 0..12 {
            let items: Vec<String> = (0..count).map(|i| format!("n{}", (i * 7) % 5)).collect();
            let names: Names<'_> = items.iter().map(String::as_str).collect();
            let expected: Vec<&str> = items.iter().map(String::as_str).collect();
            assert_eq!(&*names, expected.as_slice());
            let mut set = expected.clone();
            set.sort_unstable();
            set.dedup();
            assert_eq!(&*sorted_set(names), set.as_slice(), "{count} items");
        }
    }

    #[test]
    fn plural_is_singular_only_for_one() {
        assert_eq!(plural("container", "containers", 0), "containers");
        assert_eq!(plural("container", "containers", 1), "container");
        assert_eq!(plural("container", "containers", 2), "containers");
    }

    #[test]
    fn go_quote_matches_strconv_quote() {
        for (input, want) in [
            ("", r#""""#),
            ("unconfined", r#""unconfined""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("\u{7}\u{8}\u{c}\n\r\t\u{b}", r#""\a\b\f\n\r\t\v""#),
            ("\u{0}\u{1f}\u{7f}", r#""\x00\x1f\x7f""#),
            ("é ünïcode", "\"é ünïcode\""),
            ("\u{200b}", r#""\u200b""#),
            // A right-to-left override cannot disguise a message either.
            ("/x\u{202e}", r#""/x\u202e""#),
            ("\u{a0}", r#""\u00a0""#),
            ("\u{e0001}", r#""\U000e0001""#),
            ("😀", "\"😀\""),
        ] {
            assert_eq!(go_quote(input), want, "{input:?}");
        }
    }
}
