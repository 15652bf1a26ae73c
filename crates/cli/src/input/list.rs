//! The items of a list document (`kind: List`, `PodList`, …), one at a time.
//!
//! A list is first decoded without its items ([`decode_without_items`]), which says that it is
//! a list and what it says of its items ([`ListOf`]). [`for_each_item`] then reads the items
//! one by one and hands each over before reading the next, so that no list is ever held as a
//! whole (`kubectl get pods -A -o json` of a big cluster is one document of hundreds of
//! megabytes), and an item that cannot be decoded spoils only itself: the others are judged,
//! and its error names the item and, where the parser says, the line and column.
//!
//! - JSON: the items are found as raw text (`serde_json::value::RawValue`, borrowed from the
//!   document), and each is decoded from its own text, on the fast path when it can; its errors
//!   are placed in the file from where the item starts.
//! - YAML: items cannot be cut out of the text, so a pass over the document decodes the items
//!   of the list in turn, skipping everything else. An error inside an item ends the pass; the
//!   item is reported and a new pass resumes after it (the items before it are skipped). So an
//!   item with an error costs more passes over the document, and after
//!   [`MAX_YAML_ITEM_ERRORS`] of them the rest of the list is reported as not checked rather
//!   than read again and again (a list of thousands of broken items took minutes).
//!
//! A list inside a list is read by the same means once its own item is reached, and its items
//! are numbered by their path: item 1.0 is the first item of the list that is item 1.

use std::cell::RefCell;
use std::fmt;

use podsec_admission::Object;
use podsec_admission::object::{ListOf, WithoutItems};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::decode::{
    DecodeError, Parsed, decode_seed_as, failing_field, field_path, json_error, saphyr_from_str,
    saphyr_seed_tracked, saphyr_seed_with, yaml_error,
};
use super::{Document, fast_yaml};

/// What [`for_each_item`] gives for one item: the object, with the item as a JSON value when
/// `want_json` asked for it (JSON documents only: a YAML document is not cut into items), or
/// why it cannot be decoded.
pub type ItemResult = Result<(Object, Option<Value>), DecodeError>;

/// Decodes a document by its own kind with a list's items skipped (read them with
/// [`for_each_item`]), and says which parser read it. A document written as JSON is tried on
/// the fast JSON path first, YAML on the fast YAML path.
pub fn decode_without_items(document: &Document) -> Result<(Object, Parsed), DecodeError> {
    if document.looks_like_json()
        && let Some(object) = Object::from_json_fast_without_items(document.text.as_bytes())
    {
        return Ok((object, Parsed::Json));
    }
    decode_seed_as(document, WithoutItems, true)
}

/// Calls `f` with the path and the decoding of every item of the list `document` holds (as
/// [`decode_without_items`] found it, with `parsed`), in order; a list inside gives its items,
/// not itself. An error that is in no item (`items: 3`) is given with the path of its list
/// (empty for the document's own list).
pub fn for_each_item(
    document: &Document,
    list: &ListOf,
    parsed: Parsed,
    want_json: &dyn Fn(&Object) -> bool,
    f: &mut dyn FnMut(&[usize], ItemResult),
) {
    let mut path = Vec::new();
    match parsed {
        Parsed::Json => {
            let mut lines = Lines::default();
            let items = JsonItems {
                document,
                want_json,
                lines: &mut lines,
            };
            items.list(&document.text, list, &mut path, f);
        }
        Parsed::Yaml => yaml_list(document, list, &mut path, f),
    }
}

/// Lines and columns of byte offsets into a document, counted forward from the last one
/// asked for (items come in order).
#[derive(Default)]
struct Lines {
    offset: usize,
    /// 0-based line of `offset`.
    line: usize,
    line_start: usize,
}

impl Lines {
    /// The 1-based line and column (in bytes, as serde_json counts) of `offset` in `text`.
    fn at(&mut self, text: &str, offset: usize) -> (usize, usize) {
        if offset < self.offset {
            *self = Lines::default();
        }
        let between = &text.as_bytes()[self.offset..offset];
        self.line += memchr::memchr_iter(b'\n', between).count();
        if let Some(last) = memchr::memrchr(b'\n', between) {
            self.line_start = self.offset + last + 1;
        }
        self.offset = offset;
        (self.line + 1, offset - self.line_start + 1)
    }
}

/// A position inside a piece of the document that starts at `origin`, as a position in the
/// document (all 1-based).
fn shift(origin: (usize, usize), line: usize, column: usize) -> (usize, usize) {
    if line <= 1 {
        (origin.0, origin.1 + column.max(1) - 1)
    } else {
        (origin.0 + line - 1, column)
    }
}

struct JsonItems<'d, 'l> {
    document: &'d Document,
    want_json: &'d dyn Fn(&Object) -> bool,
    lines: &'l mut Lines,
}

impl JsonItems<'_, '_> {
    /// The items of the list written as `text`, a part of the document.
    fn list(
        mut self,
        text: &str,
        list: &ListOf,
        path: &mut Vec<usize>,
        f: &mut dyn FnMut(&[usize], ItemResult),
    ) {
        let origin = self.origin(text);
        let result = {
            let mut on_item = |index: usize, raw: &RawValue| {
                path.push(index);
                self.item(raw.get(), list, path, f);
                path.pop();
            };
            let mut deserializer = serde_json::Deserializer::from_str(text);
            ItemsOf(RawSeq {
                on_item: &mut on_item,
            })
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
        };
        if let Err(error) = result {
            f(path, Err(self.error(&error, origin)));
        }
    }

    /// One item, written as `text`, at `path`.
    fn item(
        &mut self,
        text: &str,
        list: &ListOf,
        path: &mut Vec<usize>,
        f: &mut dyn FnMut(&[usize], ItemResult),
    ) {
        let origin = self.origin(text);
        let decoded = match list.item_from_json_fast(text.as_bytes()) {
            Some(item) => Ok(item),
            None => {
                let mut deserializer = serde_json::Deserializer::from_str(text);
                list.item_seed()
                    .deserialize(&mut deserializer)
                    .and_then(|item| deserializer.end().map(|()| item))
            }
        };
        let mut item = match decoded {
            Ok(item) => item,
            Err(error) => {
                let mut located = self.error(&error, origin);
                // From the document, like every other field: the report has no item member.
                located.field = failing_field(text, list.item_seed(), Parsed::Json).map(|field| {
                    let items: String = path.iter().map(|i| format!("items[{i}].")).collect();
                    format!("{items}{field}")
                });
                return f(path, Err(located));
            }
        };
        list.adopt(&mut item);
        if let Some(inner) = ListOf::of(&item) {
            let items = JsonItems {
                document: self.document,
                want_json: self.want_json,
                lines: self.lines,
            };
            return items.list(text, &inner, path, f);
        }
        let json = if (self.want_json)(&item) {
            match serde_json::from_str::<Value>(text) {
                Ok(value) => Some(value),
                Err(error) => return f(path, Err(self.error(&error, origin))),
            }
        } else {
            None
        };
        f(path, Ok((item, json)));
    }

    /// Where `part` (a slice of the document's text) starts in the document.
    fn origin(&mut self, part: &str) -> (usize, usize) {
        let offset = (part.as_ptr() as usize).saturating_sub(self.document.text.as_ptr() as usize);
        self.lines.at(&self.document.text, offset)
    }

    /// An error of serde_json reading a part of the document that starts at `origin`.
    fn error(&self, error: &serde_json::Error, origin: (usize, usize)) -> DecodeError {
        let mut located = json_error(self.document, error);
        if error.line() > 0 {
            let (line, column) = shift(origin, error.line(), error.column());
            located.position = Some(self.document.position_in_input(line, column));
        }
        located
    }
}

/// Whether a key is `items`.
struct IsItems;

impl<'de> DeserializeSeed<'de> for IsItems {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for IsItems {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "items")
    }

    // YAML allows keys of other types; none of them is `items`.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// What `expecting` says of a list's `items`, as the decoding of whole lists says it.
const ITEMS_EXPECTED: &str = "a list of Kubernetes objects";

/// What reads a list's `items` once they are known to be a sequence.
trait ItemsVisitor<'de> {
    fn visit_seq<A: SeqAccess<'de>>(&mut self, seq: A) -> Result<(), A::Error>;
}

/// A list's `items`: `null` (or absent) is no items, as for serde's `Option`; a sequence goes
/// to the [`ItemsVisitor`].
struct NullOrItems<'v, V>(&'v mut V);

impl<'de, V: ItemsVisitor<'de>> DeserializeSeed<'de> for NullOrItems<'_, V> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, V: ItemsVisitor<'de>> Visitor<'de> for NullOrItems<'_, V> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ITEMS_EXPECTED)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.visit_seq(seq)
    }
}

/// An object whose `items` go to `V` (see [`NullOrItems`]); every other field is skipped.
struct ItemsOf<V>(V);

impl<'de, V: ItemsVisitor<'de>> DeserializeSeed<'de> for ItemsOf<V> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, V: ItemsVisitor<'de>> Visitor<'de> for ItemsOf<V> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen_items = false;
        while let Some(is_items) = map.next_key_seed(IsItems)? {
            if is_items {
                // The items are handed over as they are read: a second list cannot replace
                // the first (as a decoder keeping the last key would), so it is refused.
                if std::mem::replace(&mut seen_items, true) {
                    return Err(de::Error::duplicate_field("items"));
                }
                map.next_value_seed(NullOrItems(&mut self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A JSON list's items as raw text, each handed to `on_item` with its index.
struct RawSeq<'f, 'de> {
    on_item: &'f mut dyn FnMut(usize, &'de RawValue),
}

impl<'de> ItemsVisitor<'de> for RawSeq<'_, 'de> {
    fn visit_seq<A: SeqAccess<'de>>(&mut self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            (self.on_item)(index, raw);
            index += 1;
        }
        Ok(())
    }
}

/// How far a YAML pass got.
struct PassState {
    /// Items before this one were handed over by an earlier pass.
    resume: usize,
    /// The item being decoded, while one is.
    current: Option<usize>,
    /// The item after the last one handed over.
    next: usize,
    /// An item that is a list itself: the pass stops there, and its items are read next.
    nested: Option<(usize, ListOf)>,
    /// Stop once the item at `resume` is decoded (see `first_error`).
    probe: bool,
}

/// The items of the list at `path` in a YAML document, in passes (see the module
/// documentation).
fn yaml_list(
    document: &Document,
    list: &ListOf,
    path: &mut Vec<usize>,
    f: &mut dyn FnMut(&[usize], ItemResult),
) {
    let text = document.text.as_str();
    let mut resume = 0;
    let mut item_errors = 0;
    // The fast path reads the pass until it meets what it does not read; serde-saphyr then
    // reads the rest (or reports the error), and the next pass tries the fast path again.
    let mut fast = true;
    loop {
        let state = RefCell::new(PassState {
            resume,
            current: None,
            next: resume,
            nested: None,
            probe: false,
        });
        let target = path.clone();
        let result = {
            let mut item_path = target.clone();
            let mut deliver = |index: usize, item: Object| {
                item_path.push(index);
                f(&item_path, Ok((item, None)));
                item_path.pop();
            };
            let on_item: RefCell<&mut dyn FnMut(usize, Object)> = RefCell::new(&mut deliver);
            let seed = ItemsOf(Navigate {
                target: &target,
                list,
                state: &state,
                on_item: &on_item,
            });
            if fast {
                fast_yaml::from_str_seed(text, seed).map_err(|_| None)
            } else {
                saphyr_seed_with(text, seed, true).map_err(Some)
            }
        };
        let state = state.into_inner();
        if let (Err(_), Some((index, inner))) = (&result, &state.nested) {
            path.push(*index);
            yaml_list(document, inner, path, f);
            path.pop();
            resume = index + 1;
            continue;
        }
        match result {
            Ok(()) => return,
            Err(None) => {
                fast = false;
                resume = state.current.unwrap_or(state.next);
            }
            Err(Some(error)) => {
                let error = match state.current {
                    Some(index) => first_error(text, &target, list, index).unwrap_or(error),
                    None => error,
                };
                let mut error = yaml_error(document, &error);
                if let Some(index) = state.current {
                    error.field = item_field(text, &target, list, index);
                }
                match state.current {
                    Some(index) => {
                        path.push(index);
                        f(path, Err(error));
                        path.pop();
                        item_errors += 1;
                        if item_errors == MAX_YAML_ITEM_ERRORS {
                            return f(path, Err(too_many_item_errors(document, index)));
                        }
                        resume = index + 1;
                        fast = true;
                    }
                    // Not in an item: the list itself (its `items` is not a sequence).
                    None => return f(path, Err(error)),
                }
            }
        }
    }
}

/// The field of the error reported for the item at `index` of the list at `target`, from the
/// document (`items[1].spec.hostPID`): the probe of [`first_error`] run again with the path
/// tracked, without `Strict` first as there, whose error is the one reported when it fails in
/// the item. `None` for a document that is not well-formed YAML (see `failing_field`).
fn item_field(text: &str, target: &[usize], list: &ListOf, index: usize) -> Option<String> {
    saphyr_from_str::<IgnoredAny>(text).ok()?;
    let tracked = |strict: bool| {
        let mut track = serde_path_to_error::Track::new();
        let (failed, in_item) = probe(target, list, index, |seed| {
            saphyr_seed_tracked(text, seed, strict, &mut track).is_err()
        });
        (failed && in_item)
            .then(|| field_path(&track.path()))
            .flatten()
    };
    tracked(false).or_else(|| tracked(true))
}

/// Reads the document with `read` through a probe: a pass that skips the items of the list at
/// `target` before `index`, decodes that item (handing nothing over) and stops. Also says
/// whether the pass stopped inside the item.
fn probe<R>(
    target: &[usize],
    list: &ListOf,
    index: usize,
    read: impl FnOnce(ItemsOf<Navigate<'_, '_>>) -> R,
) -> (R, bool) {
    let state = RefCell::new(PassState {
        resume: index,
        current: None,
        next: index,
        nested: None,
        probe: true,
    });
    let mut ignore = |_: usize, _: Object| {};
    let on_item: RefCell<&mut dyn FnMut(usize, Object)> = RefCell::new(&mut ignore);
    let read = read(ItemsOf(Navigate {
        target,
        list,
        state: &state,
        on_item: &on_item,
    }));
    let in_item = state.borrow().current.is_some();
    (read, in_item)
}

/// After this many items of a YAML list that cannot be read, the rest of the list is not read:
/// each costs passes over the whole document.
const MAX_YAML_ITEM_ERRORS: usize = 10;

/// The error that ends a YAML list after [`MAX_YAML_ITEM_ERRORS`] items could not be read, the
/// last of them at `index`.
fn too_many_item_errors(document: &Document, index: usize) -> DecodeError {
    DecodeError {
        file: document.source.clone(),
        document: document.index,
        field: None,
        position: None,
        message: format!(
            "{MAX_YAML_ITEM_ERRORS} items of this list could not be read; the items after item {index}, if any, are not checked"
        ),
    }
}

/// The error serde-saphyr gives for the item at `index` of the list at `target` without
/// [`Strict`](podsec_admission::yaml_strict::Strict), if any: when the strict reading fails,
/// that error is the one to report, as `decode` reports it (see `saphyr_seed`).
fn first_error(
    text: &str,
    target: &[usize],
    list: &ListOf,
    index: usize,
) -> Option<serde_saphyr::Error> {
    let (read, in_item) = probe(target, list, index, |seed| {
        saphyr_seed_with(text, seed, false)
    });
    // Stopped in the item: its error. Stopped after it: the item reads without `Strict`.
    read.err().filter(|_| in_item)
}

/// One pass: finds the list at `target` (indexes of list items from the document down) and
/// decodes its items from `state.resume` on, skipping everything else.
#[derive(Clone, Copy)]
struct Navigate<'p, 'f> {
    target: &'p [usize],
    list: &'p ListOf,
    state: &'p RefCell<PassState>,
    on_item: &'p RefCell<&'f mut dyn FnMut(usize, Object)>,
}

impl<'de> ItemsVisitor<'de> for Navigate<'_, '_> {
    /// The `items` of a list on the way to the target, or of the target.
    fn visit_seq<A: SeqAccess<'de>>(&mut self, mut seq: A) -> Result<(), A::Error> {
        let pass = *self;
        let mut index = 0;
        loop {
            let more = match pass.target.split_first() {
                Some((&wanted, rest)) if index == wanted => seq
                    .next_element_seed(ItemsOf(Navigate {
                        target: rest,
                        ..pass
                    }))?
                    .is_some(),
                Some(_) => seq.next_element::<IgnoredAny>()?.is_some(),
                None if index < pass.state.borrow().resume => {
                    seq.next_element::<IgnoredAny>()?.is_some()
                }
                None => {
                    pass.state.borrow_mut().current = Some(index);
                    let item = seq.next_element_seed(pass.list.item_seed())?;
                    let mut state = pass.state.borrow_mut();
                    state.current = None;
                    let Some(mut item) = item else {
                        break;
                    };
                    state.next = index + 1;
                    if state.probe {
                        return Err(de::Error::custom("probed"));
                    }
                    pass.list.adopt(&mut item);
                    if let Some(inner) = ListOf::of(&item) {
                        state.nested = Some((index, inner));
                        return Err(de::Error::custom("a list in a list: read next"));
                    }
                    drop(state);
                    (pass.on_item.borrow_mut())(index, item);
                    true
                }
            };
            if !more {
                break;
            }
            index += 1;
        }
        Ok(())
    }
}
