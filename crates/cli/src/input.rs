//! Reading manifests: files, folders and standard input, split into documents.
