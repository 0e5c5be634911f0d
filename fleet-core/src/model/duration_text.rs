//! Durations as people write them in files: `90s`, `30m`, `8h`, `7d`, or combined (`1h30m`).

use std::time::Duration;

use crate::{Error, Result};

/// Parses `90s`, `30m`, `8h`, `7d` or a combination such as `1d12h`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = || Error::InvalidSpec {
        path: "duration".into(),
        reason: format!(
            "invalid duration `{}`: expected numbers with units s, m, h or d, e.g. 90s, 30m, 8h, 1d12h",
            text.chars().take(64).collect::<String>()
        ),
    };
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit)))
                    .ok_or_else(invalid)?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(invalid()),
        };
        let value = number.take().ok_or_else(invalid)?;
        total = value.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(invalid)?;
    }
    if number.is_some() {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// Writes a duration the way [`parse_duration`] reads it (`1d12h`, `30m`, `0s`).
pub(crate) fn format_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Serde adapter for `Option<Duration>` written as text (`ttl: 8h`).
pub(crate) mod serde_opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `Some(d)` as text.
    pub(crate) fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_str(&super::format_duration(*duration)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads text such as `8h`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|t| super::parse_duration(&t).map_err(|err| serde::de::Error::custom(err_reason(err)))).transpose()
    }

    fn err_reason(err: crate::Error) -> String {
        match err {
            crate::Error::InvalidSpec { reason, .. } => reason,
            other => other.to_string(),
        }
    }
}

/// Serde adapter for `Duration` written as text (`rto: 15m`).
pub(crate) mod serde_duration {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    /// Writes the duration as text.
    pub(crate) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*value))
    }

    /// Reads text such as `15m`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        super::serde_opt_duration::deserialize(deserializer)?
            .ok_or_else(|| serde::de::Error::custom("expected a duration such as 15m"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("1d12h").unwrap(), Duration::from_secs(129_600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        for bad in ["soon", "", "8", "h", "8x", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["0s", "45s", "30m", "8h", "1d12h", "2d1h1m1s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
