//! `application/x-www-form-urlencoded`, as query strings and login forms carry it.

/// The first `name=value` in `text`, percent-decoded.
pub fn param(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| decode(value))
    })
}

pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Everything but RFC 3986's unreserved characters, percent-encoded.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
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
        assert_eq!(param("domain", "domain"), None);
        assert_eq!(param("", "domain"), None);
        assert_eq!(decode("%zz%4"), "%zz%4");
    }

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(text in "\\PC{0,40}") {
            prop_assert_eq!(decode(&encode(&text)), text);
        }
    }
}
