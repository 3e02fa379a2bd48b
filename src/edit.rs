//! A change to a header map, as the pure modules (`headers`, `auth`) describe it and the
//! Pingora glue carries it out through its case-keeping setters.

#[cfg(test)]
use http::header::HeaderMap;
use http::header::{HeaderName, HeaderValue};

/// One change to a header map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Edit {
    Set(HeaderName, HeaderValue),
    Append(HeaderName, HeaderValue),
    Remove(HeaderName),
}

/// Applies edits to a plain map, as the tests check them.
#[cfg(test)]
pub(crate) fn apply(headers: &mut HeaderMap, edits: Vec<Edit>) {
    for edit in edits {
        match edit {
            Edit::Set(name, value) => {
                headers.insert(name, value);
            }
            Edit::Append(name, value) => {
                headers.append(name, value);
            }
            Edit::Remove(name) => {
                headers.remove(name);
            }
        }
    }
}
