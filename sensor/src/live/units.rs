//! Parsing the durations and sizes an operator writes on the command line: `90s`, `15m`, `1h`,
//! `1d`; `512K`, `256M`, `2G` (powers of 1024, a trailing `B` or `iB` allowed). A bare number
//! is seconds or bytes. Nothing else is accepted, and the error says what was expected.

use std::time::Duration;

/// `30s`, `15m`, `1h`, `1d` or a number of seconds; must be above zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = split(text);
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: expected a duration such as 30s, 15m, 1h or 1d"
            ))
        }
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration such as 30s, 15m, 1h or 1d"))?;
    match value.checked_mul(scale) {
        Some(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "{text:?}: the duration must be above zero and below 500 billion years"
        )),
    }
}

/// `512K`, `256M`, `2G`, `1T` or a number of bytes; must be above zero.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = split(text);
    let unit = unit.to_ascii_uppercase();
    let unit = unit.trim_end_matches("IB").trim_end_matches('B');
    let scale: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => {
            return Err(format!(
                "{text:?}: expected a size such as 512K, 256M or 2G"
            ))
        }
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: expected a size such as 512K, 256M or 2G"))?;
    match value.checked_mul(scale) {
        Some(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(format!(
            "{text:?}: the size must be above zero and fit in 64 bits"
        )),
    }
}

fn split(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 * 1024));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("2gb"), Ok(2 << 30));
        assert!(parse_size("0M").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
