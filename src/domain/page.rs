//! Pagination: `page_size` plus an opaque `page_token`.
//!
//! Lists are ordered by registry id and paged by key ("after this id"), so pages never skip or
//! repeat items even while writes go on. A token names the list and a digest of the filters
//! it was issued for; it is refused with any other list or filters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::error::DomainError;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 500;
const TOKEN_VERSION: &str = "p1";
/// Bytes of stored documents one page holds at most, its first item whatever its size: a page
/// of large items (a micro-credential's description may take 256 KiB) ends early, and its token
/// goes on after its last item. Under the 4 MiB a gRPC client accepts by default.
pub const MAX_PAGE_BYTES: usize = 3 * 1024 * 1024;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Number of items wanted.
    pub size: u64,
    /// Return items whose id sorts after this one.
    pub after: Option<String>,
    list: &'static str,
    filter_digest: String,
}

impl PageRequest {
    /// Validates `page_size` and `page_token` for the list `list` with filters described by
    /// `filters` (a canonical text form of every filter of the request).
    pub fn parse(
        list: &'static str,
        filters: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<Self, DomainError> {
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => return Err(DomainError::invalid("page_size", "must not be negative")),
            n if n as u64 > MAX_PAGE_SIZE => {
                return Err(DomainError::invalid(
                    "page_size",
                    format!("must be at most {MAX_PAGE_SIZE}"),
                ));
            }
            n => n as u64,
        };
        let filter_digest = digest(list, filters);
        let after = if page_token.is_empty() {
            None
        } else {
            Some(decode(list, &filter_digest, page_token)?)
        };
        Ok(Self {
            size,
            after,
            list,
            filter_digest,
        })
    }

    /// The token for the page after the one that ended with `last_id`.
    pub fn next_token(&self, last_id: &str) -> String {
        let raw = format!(
            "{TOKEN_VERSION}\n{}\n{}\n{last_id}",
            self.list, self.filter_digest
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Cuts a fetched page (fetched with `size + 1` items to learn whether more follow) and
    /// returns the items with the next token, empty on the last page.
    pub fn finish<T>(&self, mut items: Vec<T>, id_of: impl Fn(&T) -> &str) -> (Vec<T>, String) {
        if items.len() as u64 > self.size {
            items.truncate(self.size as usize);
            let token = items
                .last()
                .map(|item| self.next_token(id_of(item)))
                .unwrap_or_default();
            (items, token)
        } else {
            (items, String::new())
        }
    }

    /// As [`PageRequest::finish`] for items fetched as stored documents (read with
    /// [`PageTexts`]), decoded with
    /// `decode`: the page also ends, early, before the documents it holds pass
    /// [`MAX_PAGE_BYTES`]. Documents after the page's end are not decoded.
    pub fn finish_docs<D: AsRef<str>, T>(
        &self,
        docs: &[D],
        decode: impl Fn(&str) -> Result<T, DomainError>,
        id_of: impl Fn(&T) -> &str,
    ) -> Result<(Vec<T>, String), DomainError> {
        let mut bytes = 0;
        let fit = docs
            .iter()
            .take_while(|doc| {
                bytes += doc.as_ref().len();
                bytes <= MAX_PAGE_BYTES
            })
            .count()
            .max(1);
        let early = fit < docs.len().min(self.size as usize);
        let end = if early { fit } else { docs.len() };
        let items = docs[..end]
            .iter()
            .map(|doc| decode(doc.as_ref()))
            .collect::<Result<Vec<T>, DomainError>>()?;
        if early {
            let token = items
                .last()
                .map(|item| self.next_token(id_of(item)))
                .unwrap_or_default();
            return Ok((items, token));
        }
        Ok(self.finish(items, id_of))
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }
}

/// The stored documents read for one page, in order: full once they hold more than `max`
/// bytes. The document that crossed the limit is kept, so [`PageRequest::finish_docs`] sees that
/// more follow and ends the page before it; no document after it is read, so a page of large
/// documents is never held whole.
pub struct PageTexts {
    texts: Vec<String>,
    bytes: usize,
    max: usize,
}

impl PageTexts {
    pub fn new(max: usize) -> Self {
        Self {
            texts: Vec::new(),
            bytes: 0,
            max,
        }
    }

    /// Adds the next document; false once the page is full and no more should be read.
    pub fn push(&mut self, text: String) -> bool {
        self.bytes += text.len();
        self.texts.push(text);
        self.bytes <= self.max
    }

    pub fn into_texts(self) -> Vec<String> {
        self.texts
    }
}

fn digest(list: &str, filters: &str) -> String {
    let hash = Sha256::new()
        .chain_update(list)
        .chain_update([0])
        .chain_update(filters)
        .finalize();
    hex::encode(&hash[..8])
}

fn decode(list: &str, filter_digest: &str, token: &str) -> Result<String, DomainError> {
    let malformed = || {
        DomainError::invalid(
            "page_token",
            "is not a token returned by this list; start again without it",
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    let text = String::from_utf8(raw).map_err(|_| malformed())?;
    let mut parts = text.splitn(4, '\n');
    let (Some(version), Some(token_list), Some(token_digest), Some(after)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    if version != TOKEN_VERSION || token_list != list || after.is_empty() {
        return Err(malformed());
    }
    if token_digest != filter_digest {
        return Err(DomainError::invalid(
            "page_token",
            "was issued for a request with other filters; repeat the filters of the first page",
        ));
    }
    Ok(after.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_list_and_filters() {
        let first = PageRequest::parse("providers", "country=IE", 2, "").unwrap();
        let token = first.next_token("prov_x");
        let next = PageRequest::parse("providers", "country=IE", 2, &token).unwrap();
        assert_eq!(next.after.as_deref(), Some("prov_x"));
        assert!(PageRequest::parse("providers", "country=FR", 2, &token).is_err());
        assert!(PageRequest::parse("qualifications", "country=IE", 2, &token).is_err());
        assert!(PageRequest::parse("providers", "country=IE", 2, "garbage!").is_err());
    }

    #[test]
    fn page_size_bounds() {
        assert_eq!(
            PageRequest::parse("l", "", 0, "").unwrap().size,
            DEFAULT_PAGE_SIZE
        );
        assert!(PageRequest::parse("l", "", -1, "").is_err());
        assert!(PageRequest::parse("l", "", 501, "").is_err());
        assert_eq!(PageRequest::parse("l", "", 500, "").unwrap().size, 500);
    }

    /// A page of large documents ends before it passes MAX_PAGE_BYTES (with its first one
    /// whatever its size), and its token goes on after its last item; small ones fill the page.
    #[test]
    fn pages_of_large_documents_end_early() {
        let page = PageRequest::parse("l", "", 10, "").unwrap();
        let third = MAX_PAGE_BYTES / 3;
        let docs: Vec<String> = ["a", "b", "c", "d"]
            .iter()
            .map(|id| format!("{id}{}", "x".repeat(third - 1)))
            .collect();
        let decode = |doc: &str| Ok(doc[..1].to_owned());
        let (items, token) = page.finish_docs(&docs, decode, |s: &String| s).unwrap();
        assert_eq!(items, ["a", "b", "c"]);
        assert_eq!(token, page.next_token("c"));
        let huge = vec!["h".repeat(MAX_PAGE_BYTES * 2), "i".into()];
        let (items, token) = page.finish_docs(&huge, decode, |s: &String| s).unwrap();
        assert_eq!(items, ["h"]);
        assert_eq!(token, page.next_token("h"));
        let small = vec!["a".to_owned(), "b".into()];
        let (items, token) = page.finish_docs(&small, decode, |s: &String| s).unwrap();
        assert_eq!((items.len(), token.as_str()), (2, ""));
        let two = PageRequest::parse("l", "", 2, "").unwrap();
        let (items, token) = two.finish_docs(&docs[..3], decode, |s: &String| s).unwrap();
        assert_eq!(items, ["a", "b"]);
        assert_eq!(token, two.next_token("b"));
    }

    #[test]
    fn finish_cuts_and_links_pages() {
        let page = PageRequest::parse("l", "", 2, "").unwrap();
        let (items, token) = page.finish(vec!["a", "b", "c"], |s| s);
        assert_eq!(items, vec!["a", "b"]);
        assert!(!token.is_empty());
        let (items, token) = page.finish(vec!["a", "b"], |s| s);
        assert_eq!(items.len(), 2);
        assert!(token.is_empty());
    }
}
