//! Virtual time: the only clock tcpsim has.
//!
//! Time is [`smoltcp::time::Instant`] (integer microseconds) counted from [`Instant::ZERO`]; durations
//! are [`smoltcp::time::Duration`]. [`Clock`] only moves forward and counts how many steps were taken
//! at the same instant, which is how the simulation notices a livelock. This module also holds the
//! one duration syntax used everywhere (model files and command line): strings with units such as
//! `"250ms"`, `"15s"`, `"1h"`, parsed by `humantime` and printed back so that they parse to the same
//! value. [`Dur`] and [`OptDur`] carry that syntax through serde (model files) and `FromStr`
//! (command line); both guarantee `parse(display(d)) == d`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use smoltcp::time::{Duration, Instant};

/// A forward-only virtual clock starting at [`Instant::ZERO`].
#[derive(Debug, Clone)]
pub struct Clock {
    now: Instant,
    steps_at_now: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock at [`Instant::ZERO`].
    pub fn new() -> Self {
        Clock {
            now: Instant::ZERO,
            steps_at_now: 0,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves to `next` (or stays, if `next` is not later) and returns how many consecutive steps have
    /// now been taken at the same instant (1 after a real advance).
    pub fn advance_to(&mut self, next: Instant) -> u64 {
        if next > self.now {
            self.now = next;
            self.steps_at_now = 1;
        } else {
            self.steps_at_now += 1;
        }
        self.steps_at_now
    }
}

/// A duration string that does not parse; the message says what is wrong, for the caller to place
/// in context.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not a number with a unit.
    #[error(
        "invalid duration {input:?} ({reason}); use a number with a unit, e.g. \"250ms\", \"15s\", \"1h\""
    )]
    Syntax {
        /// The text as given.
        input: String,
        /// What `humantime` found wrong (part of the message, so not a `source`).
        reason: humantime::DurationError,
    },
    /// Not a whole number of microseconds, the resolution of simulated time (issue 12: `"999ns"`
    /// became 0 and was reported as "must be longer than 0s").
    #[error(
        "duration {input:?} is not a whole number of microseconds (simulated time counts microseconds)"
    )]
    SubMicrosecond {
        /// The text as given.
        input: String,
    },
    /// Longer than half of the simulation clock's range.
    #[error("duration {input:?} is too long")]
    TooLong {
        /// The text as given.
        input: String,
    },
}

/// An optional-duration string that does not parse: as [`DurationError`], adding that `"off"` is
/// also accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}, or \"off\"")]
pub struct OptDurError(pub DurationError);

/// A timer-phase string that does not parse: as [`DurationError`], adding that `"seed"` is also
/// accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}, or \"seed\"")]
pub struct PhaseError(pub DurationError);

/// Parses a duration string with units (`"250ms"`, `"15s"`, `"1h 30m"`, `"0s"`).
///
/// # Errors
/// [`DurationError`]: no unit, not a number, finer than a microsecond, or too long.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let d = humantime::parse_duration(s.trim()).map_err(|reason| DurationError::Syntax {
        input: s.to_string(),
        reason,
    })?;
    if d.subsec_nanos() % 1000 != 0 {
        return Err(DurationError::SubMicrosecond {
            input: s.to_string(),
        });
    }
    let micros = d.as_micros();
    if micros > i64::MAX as u128 / 2 {
        return Err(DurationError::TooLong {
            input: s.to_string(),
        });
    }
    Ok(Duration::from_micros(micros as u64))
}

/// Formats a duration in the largest unit that represents it exactly, so that
/// `parse_duration(&format_duration(d)) == Ok(d)`.
pub fn format_duration(d: Duration) -> String {
    let us = d.total_micros();
    const UNITS: [(u64, &str); 5] = [
        (3_600_000_000, "h"),
        (60_000_000, "m"),
        (1_000_000, "s"),
        (1_000, "ms"),
        (1, "us"),
    ];
    if us == 0 {
        return "0s".to_string();
    }
    for (size, unit) in UNITS {
        if us.is_multiple_of(size) {
            return format!("{}{unit}", us / size);
        }
    }
    unreachable!("every duration is a whole number of microseconds")
}

/// A duration in a model file or on the command line: a string with units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    /// A duration of `ms` milliseconds.
    pub const fn ms(ms: u64) -> Dur {
        Dur(Duration::from_millis(ms))
    }
    /// A duration of `s` seconds.
    pub const fn secs(s: u64) -> Dur {
        Dur(Duration::from_secs(s))
    }
    /// Zero.
    pub fn zero() -> Dur {
        Dur(Duration::ZERO)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl std::str::FromStr for Dur {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, DurationError> {
        parse_duration(s).map(Dur)
    }
}

/// Serialises a type as its `Display` text and deserialises it with its `FromStr`: durations are
/// strings with units in model files.
macro_rules! serde_as_string {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_string!(Dur, OptDur, Phase);

/// A timer's phase: where on its grid a periodic stack timer ticks, as an offset from time zero
/// (`"120ms"`), or `"seed"`: drawn from the endpoint's random stream, so seeds explore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phase(pub Option<Duration>);

impl Phase {
    /// Drawn from the seed.
    pub const SEED: Phase = Phase(None);

    /// The phase within a grid of `period`: the fixed offset modulo the period, or `draw` (a
    /// uniform fraction in [0, 1)) of the period.
    pub fn resolve(self, period: Duration, draw: f64) -> Duration {
        let p = period.total_micros().max(1);
        match self.0 {
            Some(d) => Duration::from_micros(d.total_micros() % p),
            None => Duration::from_micros(((draw * p as f64) as u64).min(p - 1)),
        }
    }
}

/// An optional duration: a string with units, or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptDur(pub Option<Duration>);

impl OptDur {
    /// Off.
    pub const OFF: OptDur = OptDur(None);
}

/// The ticks of a periodic timer: `phase + k·period` for every k ≥ 0 (lwIP's slow and fast
/// timers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// The first tick.
    pub phase: Duration,
    /// Time between ticks (not zero).
    pub period: Duration,
}

impl Grid {
    /// Number of ticks at or before `t`.
    pub fn ticks_through(self, t: Instant) -> i64 {
        let (p, k) = (
            self.phase.total_micros() as i64,
            self.period.total_micros().max(1) as i64,
        );
        let us = t.total_micros();
        if us < p { 0 } else { (us - p) / k + 1 }
    }

    /// The first tick strictly after `t`.
    pub fn after(self, t: Instant) -> Instant {
        let us =
            self.phase.total_micros() + self.period.total_micros() * self.ticks_through(t) as u64;
        Instant::from_micros(us as i64)
    }
}

/// `Display` and `FromStr` for an optional duration written as a duration string or `keyword`
/// (for `None`), with `error` wrapping the duration's parse error.
macro_rules! keyword_or_duration {
    ($($t:ident, $keyword:literal, $error:ident);*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    None => f.write_str($keyword),
                    Some(d) => f.write_str(&format_duration(d)),
                }
            }
        }

        impl std::str::FromStr for $t {
            type Err = $error;
            fn from_str(s: &str) -> Result<Self, $error> {
                if s.trim() == $keyword {
                    Ok($t(None))
                } else {
                    parse_duration(s).map(|d| $t(Some(d))).map_err($error)
                }
            }
        }
    )*};
}

keyword_or_duration!(OptDur, "off", OptDurError; Phase, "seed", PhaseError);

/// The earlier of two optional deadlines (`None` = never).
#[inline]
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Seconds as a float, for outputs whose field names end in `_s`.
pub fn secs(t: Instant) -> f64 {
    t.total_micros() as f64 / 1e6
}

/// Formats an instant as seconds with six decimals (`12.000345`), exactly, without float rounding.
pub fn fmt_secs(t: Instant) -> String {
    let us = t.total_micros();
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a phase reads and prints as "seed" or a duration, its error names "seed" (not "off"),
    // and `resolve` wraps a fixed phase onto the grid and scales a draw into [0, period).
    #[test]
    fn phase_keyword_and_resolve() {
        assert_eq!("seed".parse::<Phase>(), Ok(Phase::SEED));
        let p: Phase = "620ms".parse().unwrap();
        assert_eq!(p.to_string(), "620ms");
        assert!(
            "off"
                .parse::<Phase>()
                .unwrap_err()
                .to_string()
                .ends_with("or \"seed\"")
        );
        let grid = Duration::from_millis(500);
        assert_eq!(p.resolve(grid, 0.9), Duration::from_millis(120));
        assert_eq!(Phase::SEED.resolve(grid, 0.5), Duration::from_millis(250));
        assert!(Phase::SEED.resolve(grid, 0.999_999_9) < grid);
    }

    // Proves durations print in a form that parses back to the same value, for every unit.
    #[test]
    fn duration_round_trip() {
        for s in [
            "0s", "250ms", "15s", "1h", "90m", "1500us", "61s", "1h 30m", "2ms 5us",
        ] {
            let d = parse_duration(s).unwrap();
            let back = parse_duration(&format_duration(d)).unwrap();
            assert_eq!(d, back, "{s} -> {} -> {back}", format_duration(d));
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(5400)), "90m");
    }

    // Proves numbers without units and garbage are rejected with a hint.
    #[test]
    fn duration_needs_units() {
        let e = parse_duration("15").unwrap_err().to_string();
        assert!(e.contains("unit"), "{e}");
        assert!(parse_duration("fast").is_err());
    }

    // Proves the duration errors read as before the typed errors: the humantime reason inline, the
    // "off" hint for optional durations, and the too-long case.
    #[test]
    fn duration_error_messages() {
        assert_eq!(
            "15".parse::<Dur>().unwrap_err().to_string(),
            "invalid duration \"15\" (time unit needed, for example 15sec or 15ms); use a number with a unit, e.g. \"250ms\", \"15s\", \"1h\""
        );
        assert_eq!(
            "soon".parse::<OptDur>().unwrap_err().to_string(),
            "invalid duration \"soon\" (expected number at 0); use a number with a unit, e.g. \"250ms\", \"15s\", \"1h\", or \"off\""
        );
        assert_eq!(
            parse_duration("99999999999999999s").unwrap_err(),
            DurationError::TooLong {
                input: "99999999999999999s".into()
            }
        );
        assert_eq!("off".parse::<OptDur>(), Ok(OptDur::OFF));
        assert_eq!(" 2s ".parse::<Dur>(), Ok(Dur::secs(2)));
        // Issue 12: below the clock's resolution is an error of its own, not a zero.
        for finer in ["999ns", "1500ns"] {
            assert_eq!(
                parse_duration(finer),
                Err(DurationError::SubMicrosecond {
                    input: finer.into()
                })
            );
        }
        assert_eq!(parse_duration("2000ns"), Ok(Duration::from_micros(2)));
    }

    // Proves the clock never goes backwards and counts repeated steps at one instant.
    #[test]
    fn clock_is_forward_only() {
        let mut c = Clock::new();
        assert_eq!(c.advance_to(Instant::from_millis(5)), 1);
        assert_eq!(c.advance_to(Instant::from_millis(3)), 2);
        assert_eq!(c.now(), Instant::from_millis(5));
        assert_eq!(c.advance_to(Instant::from_millis(5)), 3);
        assert_eq!(c.advance_to(Instant::from_millis(6)), 1);
    }

    // Proves seconds print exactly with six decimals.
    #[test]
    fn secs_format() {
        assert_eq!(fmt_secs(Instant::from_micros(12_000_345)), "12.000345");
        assert_eq!(fmt_secs(Instant::ZERO), "0.000000");
    }
}
