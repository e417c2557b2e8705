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

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
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
