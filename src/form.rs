//! `application/x-www-form-urlencoded`, as query strings and login forms carry it, parsed by
//! `form_urlencoded` (the `url` crate's, WHATWG's rules) rather than by hand.

/// The first `name=value` in `text`, percent-decoded.
pub(crate) fn param(text: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(text.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `text` as one form value (for `?next=`).
pub(crate) fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_params() {
        assert_eq!(
            param("domain=5173.localhost", "domain").as_deref(),
            Some("5173.localhost")
        );
        assert_eq!(param("x=1&domain=a%2Eb", "domain").as_deref(), Some("a.b"));
        assert_eq!(param("token=a+b%21", "token").as_deref(), Some("a b!"));
        assert_eq!(param("domain", "domain").as_deref(), Some(""));
        assert_eq!(param("", "domain"), None);
        assert_eq!(param("t=%zz%4", "t").as_deref(), Some("%zz%4"));
    }

    proptest! {
        #[test]
        fn encode_then_param_round_trips(text in "\\PC{0,40}") {
            prop_assert_eq!(param(&format!("next={}", encode(&text)), "next"), Some(text));
        }
    }
}
