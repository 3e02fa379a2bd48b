//! The page `<title>` of each port, learnt from HTML that portproxy proxies anyway — never by
//! probing a port (databases log stray HTTP requests as attacks).
//!
//! Pure: no I/O. `scan` reads the head of a page; `Watch` follows one response's body
//! (gzip and brotli decoded, as Next.js's dev server compresses its HTML); `Titles` is the
//! small shared map the dashboard reads. Everything here sees network input, so it is
//! bounded and never panics.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

/// How much of a page (decoded) is searched: a `<title>` comes early in `<head>`.
pub(crate) const HEAD_LIMIT: usize = 16 * 1024;
/// How much of a response body (as sent) is kept while the title is still to come.
const RAW_LIMIT: usize = 16 * 1024;
/// Longer titles are cut (with `…`): the dashboard shows one line per port.
pub(crate) const TITLE_CHARS: usize = 120;
/// Ports remembered at most; a new port beyond that waits for a place.
const PORTS_LIMIT: usize = 1024;

/// What the head of a page says about its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scan {
    Found(String),
    /// The head ended (or the title was empty): this page has no title.
    Absent,
    /// Neither yet: more of the body may tell.
    NeedMore,
    /// The body ended, or the limit was reached, before the head said: an HTML fragment
    /// (htmx, Turbo), which must not erase the page's title.
    Unknown,
}

/// The title in the first bytes of an HTML page: between `<title …>` and `</title`, before
/// `</head>` or `<body`, any case; entities decoded, whitespace collapsed, cut to
/// `TITLE_CHARS`.
///
/// `scan(b"<html><head><TITLE>Vite &amp; React</TITLE>")` is `Found("Vite & React")`.
pub(crate) fn scan(html: &[u8]) -> Scan {
    let html = &html[..html.len().min(HEAD_LIMIT)];
    let head_end = [find(html, b"</head"), find(html, b"<body")]
        .into_iter()
        .flatten()
        .min();
    let Some(open) = open_tag(html) else {
        return if head_end.is_some() {
            Scan::Absent
        } else {
            Scan::NeedMore
        };
    };
    if head_end.is_some_and(|end| end < open) {
        return Scan::Absent;
    }
    let Some(tag_end) = html[open..].iter().position(|&b| b == b'>') else {
        return Scan::NeedMore;
    };
    let text_start = open + tag_end + 1;
    let Some(len) = find(&html[text_start..], b"</title") else {
        return Scan::NeedMore;
    };
    let title = clean(&decode_entities(&String::from_utf8_lossy(
        &html[text_start..text_start + len],
    )));
    if title.is_empty() {
        Scan::Absent
    } else {
        Scan::Found(title)
    }
}

/// Where `<title` starts as a tag (not `<titles` or `<title-bar>`).
fn open_tag(html: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find(&html[from..], b"<title") {
        let start = from + at;
        match html.get(start + b"<title".len()) {
            Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/') => return Some(start),
            Some(_) => from = start + 1,
            None => return None,
        }
    }
    None
}

/// The first place `needle` (lowercase ASCII) occurs in `hay`, ignoring ASCII case.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The entities titles use: the five XML ones, `&nbsp;`, and numeric references.
/// Anything else stays as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // A name is short and ASCII, so the `;` is looked for in the next few bytes only.
        let decoded = rest.as_bytes()[1..]
            .iter()
            .take(10)
            .position(|&b| b == b';')
            .and_then(|len| Some((entity(&rest[1..1 + len])?, len + 2)));
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    let number = |digits: &str, radix| u32::from_str_radix(digits, radix).ok();
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let code = match name.strip_prefix('#')? {
                hex if hex.starts_with(['x', 'X']) => number(&hex[1..], 16)?,
                dec => number(dec, 10)?,
            };
            char::from_u32(code)
        }
    }
}

/// One line for display: control characters dropped, whitespace runs made one space, cut
/// to `TITLE_CHARS` characters.
fn clean(text: &str) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(TITLE_CHARS) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line,
    }
}

/// How a response body is encoded, for the encodings `Watch` can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// Whether a response may carry a page title worth learning: a successful `GET` of HTML in an
/// encoding `Watch` reads. Decided once per response, from its head.
pub(crate) fn worth_watching(
    method: &str,
    status: u16,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Option<Encoding> {
    let html = content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
    });
    if method != "GET" || !(200..300).contains(&status) || !html {
        return None;
    }
    match content_encoding.map(str::trim) {
        None | Some("") => Some(Encoding::Identity),
        Some(e) if e.eq_ignore_ascii_case("identity") => Some(Encoding::Identity),
        Some(e) if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") => {
            Some(Encoding::Gzip)
        }
        Some(e) if e.eq_ignore_ascii_case("br") => Some(Encoding::Brotli),
        Some(_) => None,
    }
}

/// Follows one response body until its title is known or `RAW_LIMIT` bytes have passed.
#[derive(Debug)]
pub(crate) struct Watch {
    encoding: Encoding,
    /// The body so far, kept only while the first chunk did not settle it.
    seen: Vec<u8>,
}

impl Watch {
    pub(crate) fn new(encoding: Encoding) -> Watch {
        Watch {
            encoding,
            seen: Vec::new(),
        }
    }

    /// The next chunk of the body; `NeedMore` while it is still worth watching. Once it is
    /// not (the cap, or the end of the body), an unsettled answer becomes `Unknown`.
    pub(crate) fn feed(&mut self, chunk: &[u8], end: bool) -> Scan {
        let scan = if self.seen.is_empty() && self.encoding == Encoding::Identity {
            // Most pages settle in their first chunk: nothing is copied then.
            match scan(chunk) {
                Scan::NeedMore => {
                    self.keep(chunk);
                    Scan::NeedMore
                }
                settled => settled,
            }
        } else {
            self.keep(chunk);
            scan(&decode(self.encoding, &self.seen))
        };
        match scan {
            Scan::NeedMore if end || self.seen.len() >= RAW_LIMIT => Scan::Unknown,
            scan => scan,
        }
    }

    fn keep(&mut self, chunk: &[u8]) {
        let room = RAW_LIMIT.saturating_sub(self.seen.len());
        self.seen.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// As much of the page as a body prefix decodes to, up to `HEAD_LIMIT` bytes (a cut stream
/// ends in an error after everything before the cut).
fn decode(encoding: Encoding, raw: &[u8]) -> Vec<u8> {
    let mut reader: Box<dyn Read + '_> = match encoding {
        Encoding::Identity => return raw[..raw.len().min(HEAD_LIMIT)].to_vec(),
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Encoding::Brotli => Box::new(brotli::Decompressor::new(raw, 4096)),
    };
    let mut out = vec![0; HEAD_LIMIT];
    let mut filled = 0;
    while filled < out.len() {
        match reader.read(&mut out[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    out.truncate(filled);
    out
}

/// The last title seen per port, shared by the proxy's threads and the dashboard.
#[derive(Debug, Default)]
pub(crate) struct Titles(Mutex<HashMap<u16, String>>);

impl Titles {
    /// Remembers what a response of `port` said: a title, or that its page has none.
    pub(crate) fn learn(&self, port: u16, scan: Scan) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match scan {
            Scan::Found(title) if map.len() < PORTS_LIMIT || map.contains_key(&port) => {
                map.insert(port, title);
            }
            Scan::Absent => {
                map.remove(&port);
            }
            _ => {}
        }
    }

    /// Forgets a port that stopped listening.
    pub(crate) fn forget(&self, port: u16) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&port);
    }

    /// The titles of the ports listening now; the others are forgotten.
    pub(crate) fn of_listening(&self, listening: &[u16]) -> HashMap<u16, String> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|port, _| listening.binary_search(port).is_ok());
        map.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn found(title: &str) -> Scan {
        Scan::Found(title.into())
    }

    #[test]
    fn titles_in_real_heads() {
        let long = format!("<title>{}</title>", "a".repeat(300));
        let rows: &[(&str, Scan)] = &[
            (
                "<!doctype html><html><head><title>Vite + React + TS</title></head>",
                found("Vite + React + TS"),
            ),
            (
                "<HTML><HEAD><TITLE>Jupyter&nbsp;Lab</TITLE></HEAD>",
                found("Jupyter Lab"),
            ),
            (
                "<title data-rh=\"true\">\n   My   App\n</title>",
                found("My App"),
            ),
            (
                "<title>Tom &amp; Jerry &lt;3 &#8212; &#x1F600; &bogus; & more</title>",
                found("Tom & Jerry <3 — 😀 &bogus; & more"),
            ),
            (
                "<title>&#0; &#xFFFFFFFF; &#55296;</title>",
                found("&#xFFFFFFFF; &#55296;"),
            ),
            (
                "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>",
                found("<script>alert(1)</script>"),
            ),
            ("<title>caf\u{e9}</title>", found("café")),
            ("<head><titles>x</titles><title>real</title>", found("real")),
            ("<title/>", Scan::NeedMore),
            ("<title></title></head>", Scan::Absent),
            ("<title>   </title>", Scan::Absent),
            (
                "<head><meta charset=utf-8></head><body><title>late</title>",
                Scan::Absent,
            ),
            ("<html><body><svg><title>icon</title></svg>", Scan::Absent),
            ("<html><head><meta charset=utf-8>", Scan::NeedMore),
            ("<title>cut off", Scan::NeedMore),
            ("<title", Scan::NeedMore),
            ("", Scan::NeedMore),
        ];
        for (html, want) in rows {
            assert_eq!(&scan(html.as_bytes()), want, "{html}");
        }
        let Scan::Found(cut) = scan(long.as_bytes()) else {
            panic!("a long title is cut, not lost")
        };
        assert_eq!(cut.chars().count(), TITLE_CHARS + 1);
        assert!(cut.ends_with('…'));
        let late = format!("<head>{}<title>late</title>", " ".repeat(HEAD_LIMIT));
        assert_eq!(scan(late.as_bytes()), Scan::NeedMore, "past the limit");
    }

    #[test]
    fn only_successful_html_gets_are_watched() {
        let html = Some("text/html; charset=utf-8");
        let rows = [
            ("GET", 200, html, None, Some(Encoding::Identity)),
            (
                "GET",
                200,
                Some("TEXT/HTML"),
                Some("identity"),
                Some(Encoding::Identity),
            ),
            ("GET", 203, html, Some("gzip"), Some(Encoding::Gzip)),
            ("GET", 200, html, Some("br"), Some(Encoding::Brotli)),
            ("GET", 200, html, Some("zstd"), None),
            ("GET", 200, html, Some("gzip, br"), None),
            ("HEAD", 200, html, None, None),
            ("POST", 200, html, None, None),
            ("GET", 304, html, None, None),
            ("GET", 404, html, None, None),
            ("GET", 200, Some("application/json"), None, None),
            ("GET", 200, Some("text/htmlx"), None, None),
            ("GET", 200, None, None, None),
        ];
        for (method, status, ctype, encoding, want) in rows {
            assert_eq!(
                worth_watching(method, status, ctype, encoding),
                want,
                "{method} {status} {ctype:?} {encoding:?}"
            );
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn brotli(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        enc.write_all(bytes).unwrap();
        drop(enc);
        out
    }

    #[test]
    fn watches_a_body_across_chunks_and_encodings() {
        let page =
            b"<html><head><meta charset=utf-8><title>Next.js app</title></head><body>x</body>";
        for (encoding, body) in [
            (Encoding::Identity, page.to_vec()),
            (Encoding::Gzip, gzip(page)),
            (Encoding::Brotli, brotli(page)),
        ] {
            for size in [1, 7, body.len()] {
                let mut watch = Watch::new(encoding);
                let chunks: Vec<&[u8]> = body.chunks(size).collect();
                let outcome = chunks
                    .iter()
                    .enumerate()
                    .map(|(i, c)| watch.feed(c, i + 1 == chunks.len()))
                    .find(|s| *s != Scan::NeedMore);
                assert_eq!(
                    outcome,
                    Some(found("Next.js app")),
                    "{encoding:?} by {size}"
                );
            }
        }
        let mut watch = Watch::new(Encoding::Identity);
        assert_eq!(watch.feed(b"<head><title>no end", false), Scan::NeedMore);
        assert_eq!(watch.feed(b" yet", true), Scan::Unknown, "the body ended");
        let mut watch = Watch::new(Encoding::Identity);
        let fragment = b"<div id=cart hx-swap-oob=true>3 items</div>";
        assert_eq!(watch.feed(fragment, true), Scan::Unknown, "a fragment");
        let mut watch = Watch::new(Encoding::Gzip);
        assert_eq!(watch.feed(b"not gzip at all", true), Scan::Unknown);
        let mut watch = Watch::new(Encoding::Identity);
        let filler = vec![b' '; RAW_LIMIT];
        assert_eq!(watch.feed(b"<head>", false), Scan::NeedMore);
        assert_eq!(watch.feed(&filler, false), Scan::Unknown, "the cap");
    }

    #[test]
    fn remembers_titles_of_listening_ports() {
        let titles = Titles::default();
        titles.learn(5173, found("Vite"));
        titles.learn(3000, found("Next"));
        titles.learn(8000, found("API"));
        titles.learn(3000, Scan::NeedMore);
        titles.learn(5173, Scan::Unknown);
        assert_eq!(titles.of_listening(&[3000, 5173, 8000]).len(), 3);
        titles.learn(8000, Scan::Absent);
        titles.forget(5173);
        let now = titles.of_listening(&[3000, 5173]);
        assert_eq!(now, HashMap::from([(3000, "Next".to_string())]));
        titles.learn(9000, found("gone"));
        assert!(!titles.of_listening(&[3000]).contains_key(&9000));
        for port in 0..PORTS_LIMIT as u16 + 10 {
            titles.learn(port, found("x"));
        }
        assert_eq!(
            titles
                .of_listening(&(0..u16::MAX).collect::<Vec<_>>())
                .len(),
            PORTS_LIMIT
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn any_bytes_give_a_bounded_single_line(
            prefix in proptest::collection::vec(any::<u8>(), 0..64),
            inner in "(?s).{0,400}",
            tail in proptest::collection::vec(any::<u8>(), 0..64),
            upper in any::<bool>(),
        ) {
            let tag = if upper { "TITLE" } else { "title" };
            let mut html = prefix.clone();
            html.extend_from_slice(format!("<{tag}>{inner}</{tag}>").as_bytes());
            html.extend_from_slice(&tail);
            for input in [&prefix[..], &html[..], &html[..html.len() / 2]] {
                if let Scan::Found(title) = scan(input) {
                    prop_assert!(title.chars().count() <= TITLE_CHARS + 1);
                    prop_assert!(!title.chars().any(|c| c.is_control()));
                    prop_assert_eq!(title.trim(), &title);
                }
                let mut watch = Watch::new(Encoding::Gzip);
                let _ = watch.feed(input, true);
            }
        }

        #[test]
        fn plain_titles_come_back_as_written(title in "[A-Za-z0-9][A-Za-z0-9 .:|+-]{0,80}[A-Za-z0-9]") {
            let html = format!("<head><title>{title}</title></head>");
            let collapsed = title.split_whitespace().collect::<Vec<_>>().join(" ");
            prop_assert_eq!(scan(html.as_bytes()), Scan::Found(collapsed));
        }
    }
}
