//! Turning the command line's paths into inputs, lazily: folders are listed
//! when the walk reaches them, and one input is open at a time.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::prefilter::{Extent, Prefilter};
use super::split::{Splitter, Syntax};
use super::{Document, InputError};

/// How much of an input is read at once. Large reads keep system calls rare;
/// the buffer only grows for a longer line.
const READ_BUFFER_BYTES: usize = 256 * 1024;

/// Reads the documents of `paths` (files, folders, or `-` for standard
/// input), in order; see the module documentation for the rules.
///
/// Nothing is read before the iterator is advanced. An input that cannot be
/// read yields one [`InputError::Unreadable`] and the walk goes on with the
/// next one. An empty `paths` yields nothing: choosing a default input is the
/// caller's business.
pub fn read_documents(paths: &[String]) -> Documents {
    Documents {
        paths: paths.to_owned(),
        next_path: 0,
        pending: Vec::new(),
        current: None,
        prefilter: None,
        as_written: false,
    }
}

/// Like [`read_documents`], for a reader that writes the documents out again: nothing of the
/// input is left out of their texts (comments before a document, `...` lines, documents
/// without content, comments at the end), see `Splitter::keeping_every_line`.
pub fn read_documents_as_written(paths: &[String]) -> Documents {
    Documents {
        as_written: true,
        ..read_documents(paths)
    }
}

/// Like [`read_documents`], for a reader that only wants documents that may decode to
/// something holding one of `words` (see [`may_spell`](super::may_spell)): the documents it
/// yields include all of those, but files are searched first, and what cannot hold the words is
/// not split at all. Files that do not hold them are skipped, and a file is read only up to the
/// end of the last document that may. Standard input, which cannot be read twice, is read
/// whole.
///
/// Input errors in the parts that are skipped are not reported.
pub fn read_documents_mentioning(paths: &[String], words: &[&'static str]) -> Documents {
    Documents {
        prefilter: Some(Prefilter::new(words)),
        ..read_documents(paths)
    }
}

/// The iterator returned by [`read_documents`].
pub struct Documents {
    paths: Vec<String>,
    /// The index in `paths` of the next path to visit.
    next_path: usize,
    /// Entries found in folders and not visited yet; the next one is last.
    pending: Vec<Entry>,
    current: Option<Splitter<Box<dyn Read>>>,
    /// Set by [`read_documents_mentioning`].
    prefilter: Option<Prefilter>,
    /// Set by [`read_documents_as_written`].
    as_written: bool,
}

/// A file or folder found in a folder.
struct Entry {
    path: PathBuf,
    is_dir: bool,
}

impl Iterator for Documents {
    type Item = Result<Document, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.as_mut().and_then(Iterator::next) {
                return Some(item);
            }
            self.current = None;
            match self.open_next_input()? {
                Ok(splitter) if self.as_written => {
                    self.current = Some(splitter.keeping_every_line())
                }
                Ok(splitter) => self.current = Some(splitter),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl Documents {
    /// Opens the next file (or standard input); `None` when there is none.
    fn open_next_input(&mut self) -> Option<Result<Splitter<Box<dyn Read>>, InputError>> {
        loop {
            if let Some(entry) = self.pending.pop() {
                if entry.is_dir {
                    if let Err(error) = self.list_folder(&entry.path) {
                        return Some(Err(error));
                    }
                    continue;
                }
                match open_file(&entry.path, self.prefilter.as_ref()) {
                    Some(opened) => return Some(opened),
                    None => continue,
                }
            }
            let path = self.paths.get(self.next_path)?.clone();
            self.next_path += 1;
            if path == "-" {
                let source = Arc::from("-");
                let stdin: Box<dyn Read> = Box::new(io::stdin());
                return Some(Ok(Splitter::new(
                    source,
                    Syntax::Yaml,
                    stdin,
                    READ_BUFFER_BYTES,
                )));
            }
            let path = PathBuf::from(path);
            match fs::metadata(&path) {
                Ok(metadata) if metadata.is_dir() => {
                    if let Err(error) = self.list_folder(&path) {
                        return Some(Err(error));
                    }
                }
                // Named on the command line: read whatever the extension.
                Ok(_) => {
                    if let Some(opened) = open_file(&path, self.prefilter.as_ref()) {
                        return Some(opened);
                    }
                }
                Err(error) => return Some(Err(unreadable(&path, error))),
            }
        }
    }

    /// Queues the manifests and sub-folders of `folder`, sorted by name.
    fn list_folder(&mut self, folder: &Path) -> Result<(), InputError> {
        let mut entries = Vec::new();
        let listing = fs::read_dir(folder).map_err(|error| unreadable(folder, error))?;
        for dir_entry in listing {
            let dir_entry = dir_entry.map_err(|error| unreadable(folder, error))?;
            let path = dir_entry.path();
            let file_type = dir_entry
                .file_type()
                .map_err(|error| unreadable(&path, error))?;
            // A link is read if it leads to a file; links to folders are not
            // followed, which rules out cycles.
            let is_file = file_type.is_file()
                || (file_type.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()));
            if file_type.is_dir() {
                entries.push(Entry { path, is_dir: true });
            } else if is_file && is_manifest(&path) {
                entries.push(Entry {
                    path,
                    is_dir: false,
                });
            }
        }
        // Last in the queue is visited first.
        entries.sort_unstable_by(|a, b| b.path.cmp(&a.path));
        self.pending.extend(entries);
        Ok(())
    }
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Opens a file for splitting; `None` when `prefilter` rules it out.
fn open_file(
    path: &Path,
    prefilter: Option<&Prefilter>,
) -> Option<Result<Splitter<Box<dyn Read>>, InputError>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) => return Some(Err(unreadable(path, error))),
    };
    let syntax = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Syntax::JsonUnlessNot,
        _ => Syntax::Yaml,
    };
    let extent = match prefilter {
        None => Extent::Whole,
        Some(prefilter) => match prefilter.extent(&mut file, syntax == Syntax::JsonUnlessNot) {
            Ok(extent) => extent,
            // Read again from the start, and let the splitter meet the error if it persists.
            Err(_) => match File::open(path) {
                Ok(again) => {
                    file = again;
                    Extent::Whole
                }
                Err(error) => return Some(Err(unreadable(path, error))),
            },
        },
    };
    let length = file.metadata().map(|metadata| metadata.len()).ok();
    let (reader, length): (Box<dyn Read>, _) = match extent {
        Extent::Nothing => return None,
        Extent::Prefix(prefix) => (Box::new(file.take(prefix)), Some(prefix)),
        Extent::Whole => (Box::new(file), length),
    };
    let splitter = Splitter::new(source_name(path), syntax, reader, READ_BUFFER_BYTES);
    // A file that grows while it is read is read whole all the same: the hint only sizes
    // buffers.
    Some(Ok(match length {
        Some(length) => splitter.with_size_hint(length),
        None => splitter,
    }))
}

fn unreadable(path: &Path, error: io::Error) -> InputError {
    InputError::Unreadable {
        file: source_name(path),
        error,
    }
}

fn source_name(path: &Path) -> Arc<str> {
    Arc::from(path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/input")
    }

    /// `source#index` for documents, the message for errors.
    fn read(paths: &[String]) -> Vec<String> {
        read_documents(paths)
            .map(|item| match item {
                Ok(document) => format!("{}#{}", document.source, document.index),
                Err(error) => error.to_string(),
            })
            .collect()
    }

    #[test]
    fn walks_folders_in_name_order() {
        let root = data().join("tree");
        let root = root.to_string_lossy().into_owned();
        let found: Vec<String> = read(std::slice::from_ref(&root))
            .into_iter()
            .map(|item| item.strip_prefix(&root).unwrap_or(&item).to_owned())
            .collect();
        assert_eq!(
            found,
            [
                "/a.yaml#0",
                "/a.yaml#1",
                "/b/c.yml#0",
                "/b/d.json#0",
                "/b/d.json#1",
                "/e.yaml#0"
            ]
        );
    }

    #[test]
    fn reads_named_files_whatever_their_extension() {
        let path = data()
            .join("tree/ignored.txt")
            .to_string_lossy()
            .into_owned();
        assert_eq!(read(std::slice::from_ref(&path)), [format!("{path}#0")]);
    }

    #[test]
    fn reports_missing_paths_and_goes_on() {
        let missing = data()
            .join("no-such-file.yaml")
            .to_string_lossy()
            .into_owned();
        let present = data().join("tree/e.yaml").to_string_lossy().into_owned();
        let items = read(&[missing.clone(), present.clone()]);
        assert_eq!(
            items,
            [
                format!("{missing}: No such file or directory (os error 2)"),
                format!("{present}#0")
            ]
        );
    }
}
