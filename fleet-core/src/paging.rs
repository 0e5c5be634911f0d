//! [`Pages`]: a guard for provider list calls that follow next-page tokens or links, so that an
//! API that keeps answering with a next page (the same one again, or without end) gives an
//! error instead of a call that never ends.

use std::collections::HashSet;

use crate::{Error, Result};

/// Pages a list may take at most (at 100 items a page, a million items).
pub const MAX_PAGES: usize = 10_000;

/// Tracks the pages of one list call.
///
/// ```
/// use fleet_core::paging::Pages;
/// let mut pages = Pages::new("list clusters in us-east-1");
/// assert_eq!(pages.next(Some("t1")).unwrap(), Some("t1".to_owned()));
/// assert_eq!(pages.next(None).unwrap(), None);
/// let mut looping = Pages::new("list clusters");
/// looping.next(Some("again")).unwrap();
/// assert!(looping.next(Some("again")).is_err());
/// ```
#[derive(Debug)]
pub struct Pages {
    doing: String,
    seen: HashSet<String>,
}

impl Pages {
    /// A guard for the list call described by `doing` (for errors).
    pub fn new(doing: impl Into<String>) -> Self {
        Self { doing: doing.into(), seen: HashSet::new() }
    }

    /// The next page to fetch, given the token or link the last page gave (`None` or empty:
    /// the list is complete). A token given before, or more than [`MAX_PAGES`] pages, is an
    /// error naming the call.
    pub fn next(&mut self, token: Option<&str>) -> Result<Option<String>> {
        let Some(token) = token.filter(|token| !token.is_empty()) else { return Ok(None) };
        if self.seen.len() >= MAX_PAGES {
            return Err(self.endless(format!("more than {MAX_PAGES} pages")));
        }
        if !self.seen.insert(token.to_owned()) {
            return Err(self.endless("the same next page twice".to_owned()));
        }
        Ok(Some(token.to_owned()))
    }

    fn endless(&self, what: String) -> Error {
        Error::Provider { message: format!("{}: the API answered with {what}", self.doing), source: None }
    }
}
