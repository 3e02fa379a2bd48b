//! How long a share lasts, as people write it: `--for` read (`1h30m`), time left printed
//! (`1h 30m`).

use std::time::Duration;

use super::MAX_FOR;

/// A duration as `--for` takes it: `90s`, `15m`, `2h`, `1d`, `1h30m`; more than 0, at most
/// 30 days.
pub(crate) fn parse_for(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration: e.g. 30m, 2h, 1h30m, 1d (at most 30d)");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 || total > MAX_FOR.as_secs() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// `1h 5m` for the terminal.
pub(crate) fn human(secs: u64) -> String {
    match secs {
        s if s >= 86400 => format!("{}d {}h", s / 86400, s % 86400 / 3600),
        s if s >= 3600 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("90s", 90),
            ("15m", 900),
            ("2h", 7200),
            ("1h30m", 5400),
            ("1d", 86400),
            ("30d", 2_592_000),
        ];
        for (text, secs) in ok {
            assert_eq!(parse_for(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for bad in [
            "",
            "0s",
            "2",
            "h",
            "2x",
            "-1h",
            "31d",
            "99999999999999999999h",
            "1.5h",
        ] {
            assert!(parse_for(bad).is_err(), "{bad}");
        }
        assert_eq!(human(5400), "1h 30m");
        assert_eq!(human(59), "59s");
    }
}
