//! Spans of time as users write them: `90s`, `15m`, `1h`, `2d`, `1w`.

/// Why a span could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// Not a number followed by a unit.
    #[error("{0:?}: expected a number and a unit")]
    NotANumber(String),
    /// More digits than any span needs.
    #[error("{0:?}: the number is too large")]
    TooLarge(String),
    /// A unit other than s, m, h, d, w.
    #[error("{0:?}: the unit must be s, m, h, d or w")]
    Unit(String),
}

/// `text` (`90s`, `15m`, `1h`, `2d`, `1w`) in milliseconds; a span too long to count is the
/// longest there is.
///
/// ```
/// assert_eq!(skillet_observe::parse_window("15m"), Ok(900_000));
/// assert!(skillet_observe::parse_window("15 minutes").is_err());
/// ```
pub fn parse_window(text: &str) -> Result<i64, WindowError> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n = digits.parse::<i64>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => WindowError::TooLarge(text.to_owned()),
        _ => WindowError::NotANumber(text.to_owned()),
    })?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(WindowError::Unit(text.to_owned())),
    };
    Ok(n.saturating_mul(unit_ms))
}
