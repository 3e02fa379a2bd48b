//! A share's cookie: set by the link's first visit, looked for on every request after it, and
//! taken out of every request before the app sees it.

use blake2::Digest;
use http::header::{HeaderMap, HeaderValue, COOKIE};
use subtle::ConstantTimeEq;

use super::Share;
use crate::edit::Edit;

/// Every share's cookie starts so (then its id); none ever reaches an app.
pub(super) const COOKIE_PREFIX: &str = "portproxy-share-";

impl Share {
    /// The cookie's name: one per share, so shares on one LAN address don't mix.
    pub(crate) fn cookie_name(&self) -> String {
        format!("{COOKIE_PREFIX}{}", self.id)
    }

    /// The cookie's value: derived from the secret, so it is as unguessable, but is not the
    /// secret itself.
    pub(super) fn cookie_value(&self) -> String {
        let digest = blake2::Blake2s256::new()
            .chain_update(b"portproxy share cookie v1\0")
            .chain_update(self.secret.as_bytes())
            .finalize();
        crate::auth::hex(&digest)
    }

    /// The `Set-Cookie` that trades the link's secret for the cookie, for `max_age` seconds;
    /// `Secure` when the browser came over HTTPS (a tunnel).
    pub(super) fn set_cookie(&self, max_age: u64, secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!(
            "{}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.cookie_name(),
            self.cookie_value()
        )
    }

    /// Whether the request carries this share's cookie (compared in constant time).
    pub(super) fn held_by(&self, headers: &HeaderMap) -> bool {
        let name = self.cookie_name();
        let value = self.cookie_value();
        cookie_pairs(headers).any(|pair| {
            cookie_value(pair, name.as_bytes())
                .is_some_and(|v| v.len() == value.len() && bool::from(v.ct_eq(value.as_bytes())))
        })
    }
}

fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
}

fn cookie_value<'a>(pair: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let eq = pair.iter().position(|b| *b == b'=')?;
    (pair[..eq].trim_ascii() == name).then(|| pair[eq + 1..].trim_ascii())
}

/// Removes every share's cookie (this one's and any other's on the same address), so no app
/// ever sees a share credential.
pub(crate) fn strip_cookies(headers: &HeaderMap) -> Vec<Edit> {
    let ours = |pair: &[u8]| pair.trim_ascii().starts_with(COOKIE_PREFIX.as_bytes());
    if !cookie_pairs(headers).any(ours) {
        return Vec::new();
    }
    let rest: Vec<&[u8]> = cookie_pairs(headers)
        .filter(|pair| !ours(pair))
        .map(<[u8]>::trim_ascii)
        .filter(|pair| !pair.is_empty())
        .collect();
    let mut edits = vec![Edit::Remove(COOKIE)];
    if let (false, Ok(value)) = (
        rest.is_empty(),
        HeaderValue::from_bytes(&rest.join(&b"; "[..])),
    ) {
        edits.push(Edit::Set(COOKIE, value));
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::tests::{cookie_of, share, with_cookie};

    #[test]
    fn share_cookies_never_reach_the_app() {
        let share = share();
        let headers = with_cookie(&format!(
            "a=1; {}; portproxy-share-ffffffff=x;b=2",
            cookie_of(&share)
        ));
        let mut after = headers.clone();
        crate::edit::apply(&mut after, strip_cookies(&headers));
        assert_eq!(after.get(COOKIE).unwrap(), "a=1; b=2");
        let only = with_cookie(&cookie_of(&share));
        let mut after = only.clone();
        crate::edit::apply(&mut after, strip_cookies(&only));
        assert!(after.get(COOKIE).is_none());
        assert!(strip_cookies(&with_cookie("a=1")).is_empty());
    }
}
