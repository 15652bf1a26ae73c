//! The fast path against serde-saphyr: on the shared corpus, on a table of
//! constructs and refusals, and on generated documents.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

use podsec_admission::Object;
use serde::Deserialize;
use serde_json::Value;

use super::{FastYamlError, Unsupported, from_str};
use crate::input::{Format, read_documents};

fn saphyr<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, serde_saphyr::Error> {
    crate::input::decode::saphyr_from_str(text)
}

/// Decodes `text` both ways; panics when the fast path accepts it and
/// serde-saphyr disagrees. Returns the fast path's refusal, if any.
fn compare<'de, T>(text: &'de str) -> Result<T, FastYamlError>
where
    T: Deserialize<'de> + PartialEq + Debug,
{
    let fast = from_str::<T>(text);
    if let Ok(value) = &fast {
        match saphyr::<T>(text) {
            Ok(expected) => assert_eq!(value, &expected, "different values for {text:?}"),
            Err(error) => panic!("accepted what serde-saphyr rejects ({error}): {text:?}"),
        }
    }
    fast
}

/// Every YAML document of the shared corpus and of the PSS conformance
/// pods, as `Value` and as `Object`: equal whenever the fast path accepts,
/// and accepted for the large majority.
#[test]
fn agrees_with_serde_saphyr_on_the_shared_corpus() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if !shared.is_dir() {
        println!("skipping: ../shared not found");
        return;
    }
    for folder in ["corpus", "conformance/pss"] {
        let paths = [shared.join(folder).to_string_lossy().into_owned()];
        let (mut documents, mut accepted, mut json_like) = (0, 0, 0);
        let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
        for document in read_documents(&paths).flatten() {
            // `decode` reads flow documents as JSON first; they are counted
            // apart, and still compared.
            let looks_like_json = matches!(
                document.text.bytes().find(|b| !b.is_ascii_whitespace()),
                Some(b'{' | b'[')
            );
            if document.format != Format::Yaml || looks_like_json {
                json_like += usize::from(document.format == Format::Yaml);
                let _ = compare::<Value>(&document.text);
                continue;
            }
            documents += 1;
            let as_value = compare::<Value>(&document.text);
            let as_object = compare::<Object>(&document.text);
            match (&as_value, &as_object) {
                (Ok(_), _) => accepted += 1,
                (Err(error), _) => *refusals.entry(error.to_string()).or_default() += 1,
            }
            // Whatever refuses a document as a `Value` refuses it as an object.
            if as_value.as_ref().is_err_and(FastYamlError::is_unsupported) {
                assert!(as_object.is_err(), "{}", document.source);
            }
        }
        let share = accepted as f64 / documents.max(1) as f64;
        println!(
            "{folder}: {accepted} of {documents} block-style YAML documents accepted ({:.1}%); \
             {json_like} flow-style documents left to JSON",
            share * 100.0
        );
        for (reason, count) in &refusals {
            println!("  {count:5}  {reason}");
        }
        assert!(documents > 1000 && share > 0.8, "{folder}: {share}");
    }
}

/// Constructs of the subset: accepted, and equal to serde-saphyr's values.
#[test]
fn reads_the_subset_like_serde_saphyr() {
    let accepted = [
        "a: 1\nb: two\n",
        "---\na: 1\n",
        "--- # the first\n# comment\na: 1\n...\n# after\n",
        "# licence\n\n---\n\na: 1\n",
        "a:\n  b:\n    c: d\n  e: f\ng: h\n",
        "a:\n- 1\n- 2\nb: 3\n",
        "a:\n  - 1\n  - 2\n",
        "- a: 1\n  b: 2\n- c: 3\n",
        "-   a: 1\n    b:\n    - x\n    c: y\n",
        "- a:\n  - x\n  b: 1\n",
        "-\n  a: 1\n-\n- x\n",
        "- # comment\n  a: 1\n",
        "a:\nb:\nc: ~\nd: null\ne: Null\nf: NULL\n",
        "a: 'it''s'\nb: \"say \\\"hi\\\"\\n\\t\\\\ \\x41\\u00e9\\U0001F600\"\nc: ''\nd: \"\"\n",
        "a: \"\\0\\a\\b\\v\\f\\r\\e\\ \\/\\N\\_\\L\\P\"\n",
        "'a b': 1\n\"c\\td\": 2\n",
        "a: b # comment\nc: d#e\nf: g  #h\n",
        "url: http://example.com:8080/x\ncmd: echo a:b\n",
        "a: [x, \"y\", 'z']\nb: []\nc: {}\nd: {k: v, \"q\": 'w'}\ne: [ ALL ]\n",
        "a: [1, 2.5, true, ~, 0644]\n",
        "a: |\n  line 1\n  line 2\nb: 1\n",
        "a: |-\n  line 1\n\n  line 3\n\nb: 1\n",
        "a: >\n  folded\n  text\n\n  para\nb: 1\n",
        "a: >-\n  folded\n  text\n",
        "a: | # comment\n    indented\n      more\n    back\n",
        "- |\n  x\n- >\n  y\n",
        "a: |\n  # not a comment\n  \ttab\n# a comment\n",
        "a: 0644\nb: 0x1F\nc: 0o17\nd: 0b101\ne: -12\nf: +7\ng: 1_000\nh: 09\ni: 1e3\nj: .5\nk: -1.5e-3\n",
        "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: N\ng: True\n",
        "a: 99999999999999999999\nb: -99999999999999999999\nc: 1:20\nd: 2001-12-14\n",
        "a: inf\nb: nan\nc: infinity\nd: 1.\ne: '.inf'\n",
        "a: -b\nb: --flag=1\nc: x-\n-d: e\n",
        "a: b \"c\" 'd'\ne: f[0]{1}\ng,h: i\n",
        "key with spaces: v\nkey  : spaced\n",
        "a: é ünïcödé 日本\n",
        "a: 1\r\nb:\r\n  - x\r\n  - 'y'\r\nc: |\r\n  z\r\n",
        "a: 1\nb: 2",
        "a: 1\na: 2\n",
        "  a: 1\n  b: 2\n",
        "a:\n\n\n  b: 1\n\n",
        "\"1\": a\n\"01\": b\n'true': c\n\"~\": d\n",
        "a: \"\\u0041\"\nb: \"a\\\\\"\n",
        "a: >\n  trailing  \n  spaces \nb: |\n  kept  \n",
        "\"a\" : 1\n'b'  : 2\n",
        "host: ::1\na: :x\nb:\n- :y\n:z: 1\n",
    ];
    let long_value = format!(
        "a: {}\nb: [{}]\n",
        "x".repeat(3000),
        "y, ".repeat(1000) + "z"
    );
    let comments = "# comment\n".repeat(100);
    let many_comments = format!(
        "a:\n{comments}  b: 1\n{comments}c:\n{comments}- x\n{comments}-\n{comments}  d: e\n{comments}"
    );
    for text in accepted
        .iter()
        .copied()
        .chain([long_value.as_str(), many_comments.as_str()])
    {
        let value = compare::<Value>(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"));
        assert_eq!(value, saphyr::<Value>(text).expect("saphyr"), "{text:?}");
    }
}

/// Constructs outside the subset, and input serde-saphyr rejects: refused.
#[test]
fn refuses_what_it_does_not_read() {
    let refused = [
        ("", Unsupported::DocumentShape),
        ("# only a comment\n", Unsupported::DocumentShape),
        ("just a scalar\n", Unsupported::Indicator),
        ("[a, b]\n", Unsupported::Indicator),
        ("%YAML 1.1\n---\na: 1\n", Unsupported::Indicator),
        ("---\n---\na: 1\n", Unsupported::DocumentShape),
        ("--- a: 1\n", Unsupported::TrailingContent),
        ("a: 1\n---\nb: 2\n", Unsupported::DocumentShape),
        ("a: 1\n...\nb: 2\n", Unsupported::DocumentShape),
        ("a: &x 1\nb: *x\n", Unsupported::Indicator),
        ("&x a: 1\n", Unsupported::Indicator),
        ("a: !!str 1\n", Unsupported::Indicator),
        ("a: !local x\n", Unsupported::Indicator),
        ("? a\n: 1\n", Unsupported::Indicator),
        ("<<: {a: 1}\n", Unsupported::MergeKey),
        ("'<<': 1\n", Unsupported::MergeKey),
        ("1: a\n", Unsupported::NonStringKey),
        ("true: a\n", Unsupported::NonStringKey),
        ("~: a\n", Unsupported::NonStringKey),
        (": a\n", Unsupported::Indicator),
        ("a: [:x]\n", Unsupported::FlowCollection),
        // A `-` followed by a flow indicator starts no plain scalar in a flow collection
        // (found by the fast_yaml fuzz target: serde-saphyr refuses it).
        ("a: [-,1]\n", Unsupported::FlowCollection),
        ("a: [x, -]\n", Unsupported::FlowCollection),
        ("a: b\n  c\n", Unsupported::Indentation),
        ("- a\n  b\n", Unsupported::Indentation),
        ("a:\n  multi\n  line\n", Unsupported::Indicator),
        ("a: 'multi\n  line'\n", Unsupported::MultiLineScalar),
        ("a: \"multi\\\n  line\"\n", Unsupported::MultiLineScalar),
        ("a: \"\\q\"\n", Unsupported::Escape),
        ("a: \"\\ud800\"\n", Unsupported::Escape),
        ("a:\n\tb: 1\n", Unsupported::Tab),
        ("a:\tb\n", Unsupported::Tab),
        ("a: b\tc\n", Unsupported::Tab),
        ("a: [x, [y]]\n", Unsupported::FlowCollection),
        ("a: {b: {c: d}}\n", Unsupported::FlowCollection),
        ("a: [x,\n  y]\n", Unsupported::FlowCollection),
        ("a: [x, ]\n", Unsupported::FlowCollection),
        ("a: [x: y]\n", Unsupported::FlowCollection),
        ("a: {b}\n", Unsupported::FlowCollection),
        ("a: [x] y\n", Unsupported::TrailingContent),
        ("a: \"x\" y\n", Unsupported::TrailingContent),
        ("a: |+\n  x\n", Unsupported::BlockScalarHeader),
        ("a: |2\n  x\n", Unsupported::BlockScalarHeader),
        ("a: |\n\n  x\n", Unsupported::BlockScalarShape),
        ("a: |\nb: 1\n", Unsupported::BlockScalarShape),
        ("a: >\n  x\n    more\n", Unsupported::BlockScalarShape),
        ("a: |\n  x", Unsupported::BlockScalarShape),
        ("a: |\n  x\n     \n  y\n", Unsupported::BlockScalarShape),
        ("a: b: c\n", Unsupported::Indicator),
        ("a: b:\n", Unsupported::Indicator),
        ("a: - b\n", Unsupported::Indicator),
        ("- - a\n", Unsupported::Indicator),
        ("a: .inf\n", Unsupported::NonFiniteFloat),
        ("a: -.Inf\n", Unsupported::NonFiniteFloat),
        ("a: .nan\n", Unsupported::NonFiniteFloat),
        ("a: 1e999\n", Unsupported::NonFiniteFloat),
        ("a: \u{feff}b\n", Unsupported::Character),
        ("a: b\u{85}c\n", Unsupported::Character),
        ("a: b\u{2028}c\n", Unsupported::Character),
        ("a: b\u{1}\n", Unsupported::Character),
        ("a: b\rc: d\n", Unsupported::Character),
        ("a: `b`\n", Unsupported::Indicator),
        ("a: @b\n", Unsupported::Indicator),
        ("a: %b\n", Unsupported::Indicator),
        ("a:\n  b: 1\n c: 2\n", Unsupported::Indentation),
    ];
    for (text, reason) in refused {
        match from_str::<Value>(text) {
            Err(FastYamlError::Unsupported(found)) => assert_eq!(found, reason, "{text:?}"),
            other => panic!("{text:?} not refused: {other:?}"),
        }
    }
    // Refused characters deep inside long lines, where the 32-byte fast scan runs.
    for bad in ["\u{1}", "\u{85}", "\u{2028}", "\u{feff}", "\r", "\u{7f}"] {
        let text = format!("a: {}{bad}{}\n", "x".repeat(45), "y".repeat(45));
        assert!(
            matches!(
                from_str::<Value>(&text),
                Err(FastYamlError::Unsupported(Unsupported::Character))
            ),
            "{bad:?} in a long line"
        );
    }
    let long_key = format!("{}: 1\n", "k".repeat(1001));
    assert!(matches!(
        from_str::<Value>(&long_key),
        Err(FastYamlError::Unsupported(Unsupported::LongKey))
    ));
    let deep: String = (0..101)
        .map(|level| format!("{}k:\n", "  ".repeat(level)))
        .collect();
    assert!(matches!(
        from_str::<Value>(&deep),
        Err(FastYamlError::Unsupported(Unsupported::TooDeep))
    ));
}

/// A struct like the pod view's: typed requests (strings, booleans,
/// integers, options, ignored values, enums) answer as serde-saphyr does.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Typed {
    name: Option<String>,
    flag: Option<bool>,
    port: Option<i32>,
    mode: Option<u32>,
    ratio: Option<f64>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    items: Vec<Option<String>>,
    policy: Option<Policy>,
    present: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, PartialEq, Deserialize)]
enum Policy {
    Always,
    Never,
}

impl PartialEq for Typed {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.name,
            self.flag,
            self.port,
            self.mode,
            self.ratio,
            &self.labels,
            &self.items,
        ) == (
            &other.name,
            other.flag,
            other.port,
            other.mode,
            other.ratio,
            &other.labels,
            &other.items,
        ) && self.policy == other.policy
            && self.present.is_some() == other.present.is_some()
    }
}

#[test]
fn answers_typed_requests_like_serde_saphyr() {
    let documents = [
        "name: web\nflag: yes\nport: 0x50\nmode: 0644\nratio: 1.5\n",
        "name: '80'\nflag: \"true\"\nport: \"8080\"\nmode: ' 0644 '\nratio: .inf\n",
        "name: 80\nflag: off\nport: -0_10\npolicy: Always\npresent: {}\n",
        "name: |\n  text\nflag: |\n  on\nport: |-\n  12\n",
        "name: ~\nflag:\nport: null\nmode:\npresent: ~\npolicy: 'Never'\n",
        "labels: {a: b, c: '1'}\nitems: [x, ~, 'y']\n",
        "labels:\n  a: 1\n  b: true\nitems:\n- x\n-\n- ~\n- 'z'\n",
        "unknown:\n  deep:\n  - [a, b]\n  - x: {y: z}\nname: n\n",
        "items:\n- a\n- [b]\n",
        "name: a\nname: b\n",
        "name: ''\n",
        "port: 99999999999\n",
        "mode: -1\n",
        "flag: maybe\n",
        "policy: Sometimes\n",
        "name:\n  a: 1\n",
        "labels: [a]\n",
        "labels:\n  a:\n",
        "ratio: 1e999\n",
        "present: .inf\n",
        "unknown: .nan\n",
    ];
    for text in documents {
        let _ = compare::<Typed>(text);
        let _ = compare::<Value>(text);
    }
    let typed: Typed = from_str("name: web\nport: 0644\nitems: [a]\n").expect("accepted");
    assert_eq!(typed.port, Some(420));
    // Strings are borrowed from the document when they need no decoding,
    // as serde-saphyr borrows them.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Borrowed<'a> {
        plain: &'a str,
        quoted: &'a str,
        double: &'a str,
    }
    let text = "plain: a b\nquoted: 'c d'\ndouble: \"e f\"\n";
    let borrowed: Borrowed = compare(text).expect("borrowed");
    assert_eq!(
        (borrowed.plain, borrowed.quoted, borrowed.double),
        ("a b", "c d", "e f")
    );
}

#[test]
fn decodes_objects_like_serde_saphyr() {
    let documents = [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: b}\nspec:\n  hostNetwork: yes\n  containers:\n  - name: c\n    image: nginx\n    ports:\n    - containerPort: 0x50\n    securityContext:\n      capabilities:\n        drop: [ALL]\n  volumes:\n  - name: v\n    emptyDir: {}\n  - name: w\n    emptyDir:\n",
        "spec:\n  template:\n    spec:\n      containers:\n      - name: c\nkind: Deployment\n",
        "kind: List\nitems:\n- kind: Pod\n  spec:\n    containers: []\n- kind: Namespace\n  metadata:\n    name: n\n",
        "kind: Pod\nkind: Deployment\nspec:\n  template: {}\n",
        "kind: Pod\nspec:\n  containers:\n  - name: a\n    name: b\n",
    ];
    for text in documents {
        let _ = compare::<Object>(text);
    }
}

/// Renders values in block style, making a choice of layout and quoting at
/// every turn from a seed. The rendering need not be faithful: what is
/// checked is that the fast path reads it as serde-saphyr does, or refuses.
struct Renderer {
    state: u64,
    out: String,
}

impl Renderer {
    fn choose(&mut self, n: u64) -> u64 {
        // xorshift64: deterministic choices from the seed.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % n
    }

    fn spaces(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    fn end_line(&mut self) {
        match self.choose(8) {
            0 => self.out.push_str(" # note"),
            1 => self.out.push_str("  "),
            _ => {}
        }
        self.out.push('\n');
        match self.choose(12) {
            0 => self.out.push('\n'),
            1 => self.out.push_str("# between\n"),
            2 => self.out.push_str("    # indented comment\n"),
            _ => {}
        }
    }

    fn scalar(&mut self, value: &Value, indent: usize) {
        match value {
            Value::String(text) => self.string(text, indent),
            Value::Null if self.choose(2) == 0 => {}
            other => self.out.push_str(&other.to_string()),
        }
    }

    fn string(&mut self, text: &str, indent: usize) {
        match self.choose(5) {
            0 | 1 => self.out.push_str(text),
            2 => {
                self.out.push('\'');
                self.out.push_str(&text.replace('\'', "''"));
                self.out.push('\'');
            }
            3 => self
                .out
                .push_str(&Value::String(text.to_owned()).to_string()),
            _ => {
                let header = ["|", "|-", ">", ">-"][self.choose(4) as usize];
                self.out.push_str(header);
                for line in text.split('\n') {
                    self.out.push('\n');
                    if !line.is_empty() {
                        self.spaces(indent + 2);
                        self.out.push_str(line);
                    }
                }
            }
        }
    }

    fn is_scalar(value: &Value) -> bool {
        !matches!(value, Value::Array(_) | Value::Object(_))
    }

    /// A value after `key:` or `- ` (already written), in a collection at
    /// column `indent`.
    fn value(&mut self, value: &Value, indent: usize, in_sequence: bool) {
        let step = 1 + self.choose(3) as usize;
        match value {
            Value::Array(items) if items.iter().all(Self::is_scalar) && self.choose(3) == 0 => {
                let items: Vec<String> = items.iter().map(|item| self.flow_item(item)).collect();
                self.out.push_str(&format!(" [{}]", items.join(", ")));
                self.end_line();
            }
            Value::Object(map) if map.values().all(Self::is_scalar) && self.choose(3) == 0 => {
                let entries: Vec<String> = map
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{}: {}",
                            self.flow_item(&Value::String(k.clone())),
                            self.flow_item(v)
                        )
                    })
                    .collect();
                self.out.push_str(&format!(" {{{}}}", entries.join(", ")));
                self.end_line();
            }
            Value::Array(items) if !items.is_empty() => {
                let column = if !in_sequence && self.choose(2) == 0 {
                    indent
                } else {
                    indent + step
                };
                self.end_line();
                self.sequence(items, column);
            }
            Value::Object(map) if !map.is_empty() => {
                if in_sequence && self.choose(2) == 0 {
                    // `- key: value`, the compact form.
                    self.mapping(map, indent + 2, true);
                } else {
                    self.end_line();
                    self.mapping(map, indent + step, false);
                }
            }
            Value::Array(_) => {
                self.out.push_str(" []");
                self.end_line();
            }
            Value::Object(_) => {
                self.out.push_str(" {}");
                self.end_line();
            }
            scalar => {
                self.out.push(' ');
                self.scalar(scalar, indent);
                self.end_line();
            }
        }
    }

    fn flow_item(&mut self, value: &Value) -> String {
        match value {
            Value::String(text) => match self.choose(3) {
                0 => text.clone(),
                1 => format!("'{}'", text.replace('\'', "''")),
                _ => value.to_string(),
            },
            other => other.to_string(),
        }
    }

    fn sequence(&mut self, items: &[Value], indent: usize) {
        for item in items {
            self.spaces(indent);
            self.out.push('-');
            self.value(item, indent, true);
        }
    }

    /// `first_inline`: the first key goes on the current line (after `- `).
    fn mapping(&mut self, map: &serde_json::Map<String, Value>, indent: usize, first_inline: bool) {
        for (i, (key, value)) in map.iter().enumerate() {
            if i == 0 && first_inline {
                self.out.push(' ');
            } else {
                self.spaces(indent);
            }
            match self.choose(4) {
                0 => self.out.push_str(&Value::String(key.clone()).to_string()),
                1 => self.out.push_str(&format!("'{}'", key.replace('\'', "''"))),
                _ => self.out.push_str(key),
            }
            self.out.push(':');
            self.value(value, indent, false);
        }
    }

    fn document(value: &Value, seed: u64) -> String {
        let mut renderer = Renderer {
            state: seed | 1,
            out: String::new(),
        };
        if renderer.choose(2) == 0 {
            renderer.out.push_str("---\n");
        }
        match value {
            Value::Object(map) => renderer.mapping(map, 0, false),
            Value::Array(items) => renderer.sequence(items, 0),
            scalar => {
                renderer.out.push_str("value:");
                renderer.value(scalar, 0, false);
            }
        }
        renderer.out
    }
}

/// Strings that probe scalar resolution, quoting and indicators.
fn tricky_string() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        proptest::sample::select(vec![
            "",
            "~",
            "null",
            "yes",
            "No",
            "on",
            "y",
            "0644",
            "09",
            "0x1F",
            "1_000",
            "1e3",
            ".5",
            "-1",
            "+1",
            "1.",
            ".inf",
            "-.nan",
            "1e999",
            "a: b",
            "a:b",
            "a #b",
            "a#b",
            "#x",
            "- x",
            "-x",
            "? x",
            ":x",
            "[x]",
            "{x}",
            "x]",
            "&a",
            "*a",
            "!t",
            "%d",
            "@x",
            "`x`",
            "'q'",
            "\"q\"",
            "it's",
            "back\\slash",
            "tab\there",
            "trail ",
            " lead",
            "multi\nline",
            "multi\n\nline\n",
            "é日本",
            "---",
            "...",
            "<<",
            "x,y",
            "a: [b]",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,8}",
        "[ -~]{0,12}",
    ]
}

fn arbitrary_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(tricky_string(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Generated block-style documents: the fast path agrees with
    /// serde-saphyr or refuses.
    #[test]
    fn generated_documents_read_like_serde_saphyr(value in arbitrary_value(), seed in proptest::prelude::any::<u64>()) {
        let text = Renderer::document(&value, seed);
        let _ = compare::<Value>(&text);
        let _ = compare::<Typed>(&text);
    }
}

/// The share of generated documents the fast path accepts, so that the
/// property above does not pass by refusing everything.
#[test]
fn accepts_most_generated_documents() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arbitrary_value();
    let (mut accepted, total) = (0, 500);
    for seed in 0..total {
        let value = strategy.new_tree(&mut runner).expect("value").current();
        let text = Renderer::document(&value, seed);
        if compare::<Value>(&text).is_ok() {
            accepted += 1;
        }
    }
    println!("{accepted} of {total} generated documents accepted");
    assert!(accepted > total / 5, "{accepted} of {total}");
}

/// Manifests to mutate: the shapes of real ones, with every construct of the
/// subset.
const MUTATION_SEEDS: [&str; 3] = [
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: web\n  annotations:\n    note: \"a b\"\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.2\n          args: [\"--port=80\", x]\n          ports:\n            - containerPort: 8080\n          resources:\n            limits: {cpu: 500m}\n      volumes:\n      - name: c\n        configMap:\n          defaultMode: 0644\n",
    "---\n# comment\nkind: Pod\nspec:\n  hostNetwork: yes\n  containers:\n  - name: c\n    command:\n    - sh\n    - -c\n    - |\n      echo hi\n      exit 0\n    securityContext:\n      privileged: false\n      capabilities:\n        drop:\n        - ALL\n...\n",
    "kind: ConfigMap\ndata:\n  a: >-\n    folded\n    text\n  'b': 'it''s'\n  c: ~\n  d:\n  e: \"\\t\\u00e9\"\n  f: ::1\n",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    /// Manifests with a few characters inserted, replaced or removed where
    /// YAML is most sensitive: the fast path agrees with serde-saphyr or
    /// refuses.
    #[test]
    fn mutated_manifests_read_like_serde_saphyr(
        seed in 0..MUTATION_SEEDS.len(),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), 0..3u8,
             proptest::sample::select(vec![' ', '\n', ':', '-', '#', '"', '\'', '|', '>', '[', ']',
                 '{', '}', ',', '\t', 'a', '0', '&', '*', '!', '?', '.', '~', '\\', '\r'])),
            1..4),
    ) {
        let mut text: Vec<char> = MUTATION_SEEDS[seed].chars().collect();
        for (at, kind, c) in edits {
            let at = at.index(text.len());
            match kind {
                0 => text.insert(at, c),
                1 => text[at] = c,
                _ => {
                    text.remove(at);
                }
            }
        }
        let text: String = text.into_iter().collect();
        let _ = compare::<Value>(&text);
        let _ = compare::<Typed>(&text);
        let _ = compare::<Object>(&text);
    }
}

/// A struct's keys are remembered inline up to a point and in a list after it: a repeated key
/// is refused wherever it falls, and a struct with more distinct keys than fit inline is read.
#[test]
fn repeated_struct_keys_are_refused_past_the_inline_ones() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Named {
        name: String,
    }
    for keys in [1, 15, 16, 17, 40] {
        let mut text: String = (0..keys).map(|i| format!("k{i}: v\n")).collect();
        text.push_str("name: a\n");
        assert_eq!(
            compare::<Named>(&text).ok(),
            Some(Named { name: "a".into() }),
            "{keys} keys"
        );
        for repeated in [0, keys / 2, keys - 1] {
            let text = format!("{text}k{repeated}: again\n");
            assert!(
                matches!(
                    compare::<Named>(&text),
                    Err(FastYamlError::Unsupported(Unsupported::RepeatedKey))
                ),
                "{keys} keys, k{repeated} repeated"
            );
        }
    }
}
