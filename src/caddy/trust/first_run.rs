//! The first run's offer to trust the local CA: asked once, of a person at a terminal, and
//! the answer remembered.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::{is_trusted, trust};
use crate::caddy::Paths;

/// The first run's question, word for word.
pub(crate) const QUESTION: &str =
    "Trust portproxy's local CA so browsers accept https://*.localhost? [Y/n] ";
/// What a run prints instead of asking.
pub(crate) const HINT: &str = "browsers will warn about https://*.localhost until this machine trusts portproxy's local CA: run `portproxy trust` once";

/// An answer to the first run's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Yes,
    No,
}

/// What a run does about trust once Caddy has made its CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Trusted already, or nothing is known to say.
    Nothing,
    /// Print `HINT`: the one command, never a question.
    Tell,
    /// Ask `QUESTION` on the terminal.
    Ask,
}

/// Asks only a person at a terminal, only once ever (the answer is remembered), and only while
/// the CA is not trusted; a service, a pipe, `--yes` and `--no-trust` get the command instead.
pub(crate) fn offer(
    trusted: Option<bool>,
    remembered: Option<Answer>,
    terminal: bool,
    may_ask: bool,
) -> Offer {
    if trusted == Some(true) {
        Offer::Nothing
    } else if remembered.is_none() && terminal && may_ask {
        Offer::Ask
    } else if trusted == Some(false) {
        Offer::Tell
    } else {
        Offer::Nothing
    }
}

/// A typed answer: Enter is yes; anything else unknown is asked again.
pub(crate) fn parse_answer(line: &str) -> Option<Answer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "" | "y" | "yes" => Some(Answer::Yes),
        "n" | "no" => Some(Answer::No),
        _ => None,
    }
}

/// Where the answer is remembered: state in the data directory, which `clean` removes.
fn answer_file(paths: &Paths) -> PathBuf {
    paths.data.join("trust-answer")
}

pub(crate) fn remembered(paths: &Paths) -> Option<Answer> {
    match std::fs::read_to_string(answer_file(paths)).ok()?.trim() {
        "yes" => Some(Answer::Yes),
        "no" => Some(Answer::No),
        _ => None,
    }
}

fn remember(paths: &Paths, answer: Answer) {
    let text = match answer {
        Answer::Yes => "yes\n",
        Answer::No => "no\n",
    };
    if let Err(e) = std::fs::write(answer_file(paths), text) {
        eprintln!(
            "could not remember the answer in {}: {e}",
            answer_file(paths).display()
        );
    }
}

/// The first run's offer, once Caddy is up and its CA exists: asks (or tells) and, on a yes,
/// trusts the CA then and there, saying where it went.
pub(crate) fn offer_on_start(paths: &Paths, may_ask: bool) {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    match offer(is_trusted(paths), remembered(paths), terminal, may_ask) {
        Offer::Nothing => {}
        // The start banner said it: `HTTPS      not trusted yet — run `portproxy trust``.
        Offer::Tell => {}
        Offer::Ask => match ask() {
            Some(Answer::Yes) => {
                remember(paths, Answer::Yes);
                if let Err(e) = trust(paths) {
                    eprintln!("error: {}\nhelp: {}", e.reason, e.help);
                }
            }
            Some(Answer::No) => {
                remember(paths, Answer::No);
                eprintln!("not trusted; `portproxy trust` does it whenever you want");
            }
            None => eprintln!("{HINT}"),
        },
    }
}

/// Reads answers until one is understood; None when the input ends.
fn ask() -> Option<Answer> {
    let mut stdin = std::io::stdin().lock();
    loop {
        eprint!("{QUESTION}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin.read_line(&mut line).ok()? == 0 {
            eprintln!();
            return None;
        }
        if let Some(answer) = parse_answer(&line) {
            return Some(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_once_only_a_person_and_only_while_untrusted() {
        use Answer::*;
        use Offer::*;
        // (trusted, remembered, terminal, may ask) -> offer
        let table = [
            (Some(false), None, true, true, Ask),
            (None, None, true, true, Ask),
            (Some(true), None, true, true, Nothing),
            (Some(false), Some(No), true, true, Tell),
            (Some(false), Some(Yes), true, true, Tell),
            (Some(true), Some(No), true, true, Nothing),
            (None, Some(No), true, true, Nothing),
            (Some(false), None, false, true, Tell),
            (Some(false), None, true, false, Tell),
            (None, None, false, true, Nothing),
        ];
        for (trusted, remembered, terminal, may_ask, want) in table {
            assert_eq!(
                offer(trusted, remembered, terminal, may_ask),
                want,
                "{trusted:?} {remembered:?} {terminal} {may_ask}"
            );
        }
    }

    #[test]
    fn answers() {
        for (line, want) in [
            ("\n", Some(Answer::Yes)),
            ("y\n", Some(Answer::Yes)),
            (" YES \r\n", Some(Answer::Yes)),
            ("n\n", Some(Answer::No)),
            ("No\n", Some(Answer::No)),
            ("maybe\n", None),
            ("yn\n", None),
        ] {
            assert_eq!(parse_answer(line), want, "{line:?}");
        }
    }
}
