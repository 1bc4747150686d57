//! One time base for everything that shows a capture's times: reports, JSON and plots give each
//! time as the capture shows it (time of day, with the date where the capture has one) and as
//! seconds since the capture's first packet, the origin every plot axis starts from; `plot
//! --from/--to` accept either form ([`TimeArg`]).
//!
//! Guarantees: pure functions of the capture's first packet and of what its timestamps are
//! ([`TimeKind`], told by the importer from their shape); dates are UTC (pcap timestamps are
//! seconds since the epoch, as tcpdump's `-tttt` prints them with `TZ=UTC`); a time of day names
//! the first such moment at or after the capture's first packet less 12 hours, so a capture that
//! passes midnight is addressed the way it prints. A simulated run's times are seconds since its
//! start ([`TimeBase::run`]). The timestamp parsers the text importers share (`time_us`,
//! `date_us`) live here too, so this module depends on nothing but the clock.

use std::fmt;
use std::str::FromStr;

use crate::clock::Instant;

/// Microseconds in a day.
pub(crate) const DAY_US: i64 = 86_400_000_000;

/// Timestamps from here on (1973-03-03) are dates: seconds since the epoch. Below, they are
/// seconds since some start (a simulated run's pcap, `tshark -t r` of a long capture).
const EPOCH_US: i64 = 100_000_000 * 1_000_000;

/// The largest `--from`/`--to` in seconds (about 317 years): beyond, no capture has packets.
const MAX_SECONDS: f64 = 1e10;

/// What a capture's timestamps are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeKind {
    /// Seconds since some start (tshark's default `-t r`, tcpdump's `-ttttt`, a simulated run).
    #[default]
    Relative,
    /// Time of day without a date (tcpdump's default, tshark's `-t a`).
    TimeOfDay,
    /// Date and time: seconds since 1970-01-01 UTC (pcap, pcapng, tcpdump `-tt`/`-tttt`, tshark
    /// `-t e`/`-t ad`).
    DateTime,
}

/// A capture's time base: what its timestamps are and its first packet, the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    /// What the timestamps are.
    pub kind: TimeKind,
    /// The first packet (the capture's own clock).
    pub origin: Instant,
}

impl TimeBase {
    /// The time base of a capture whose timestamps are `kind` and whose first packet is at
    /// `origin`. Dates before 1970-01-02 are not dates: a pcap written from a simulated run (or
    /// rebased to 0) holds seconds since its start, and reads as relative.
    pub fn new(kind: TimeKind, origin: Instant) -> TimeBase {
        let kind = match kind {
            TimeKind::DateTime if origin.total_micros() < EPOCH_US => TimeKind::Relative,
            k => k,
        };
        TimeBase { kind, origin }
    }

    /// A simulated run's: seconds since its start.
    pub fn run() -> TimeBase {
        TimeBase {
            kind: TimeKind::Relative,
            origin: Instant::ZERO,
        }
    }

    /// Seconds from the origin to `t`.
    pub fn since(&self, t: Instant) -> f64 {
        (t.total_micros() - self.origin.total_micros()) as f64 / 1e6
    }

    /// The instant `s` seconds after the origin (to the microsecond; saturating).
    pub fn at(&self, s: f64) -> Instant {
        Instant::from_micros(
            self.origin
                .total_micros()
                .saturating_add((s * 1e6).round() as i64),
        )
    }

    /// `t` as the capture shows it (`13:52:27.497668`, `2026-11-21 13:52:27.497668`), or `None`
    /// for relative times (the seconds are all there is).
    pub fn clock(&self, t: Instant) -> Option<String> {
        let us = t.total_micros();
        match self.kind {
            TimeKind::Relative => None,
            TimeKind::TimeOfDay => Some(time_of_day(us.rem_euclid(DAY_US))),
            TimeKind::DateTime => Some(date_time(us)),
        }
    }

    /// `s` seconds after the origin, for a report line: `13:52:37.614385 (+10.116717 s)`, or
    /// `10.116717 s` for relative times.
    pub fn show(&self, s: f64) -> String {
        match self.clock(self.at(s)) {
            Some(c) => format!("{c} ({s:+.6} s)"),
            None => format!("{s:.6} s"),
        }
    }

    /// A `--from`/`--to` argument as seconds since the origin.
    ///
    /// # Errors
    /// A time of day for a capture whose times are relative, or a date for one without dates.
    pub fn resolve(&self, arg: TimeArg) -> Result<f64, String> {
        let origin = self.origin.total_micros();
        match (arg, self.kind) {
            (TimeArg::Seconds(s), _) => Ok(s),
            (TimeArg::TimeOfDay(_) | TimeArg::DateTime(_), TimeKind::Relative) => Err(
                "this trace's times are seconds since its start: give seconds, e.g. 12.5".into(),
            ),
            (TimeArg::DateTime(_), TimeKind::TimeOfDay) => Err(
                "the capture's times have no date: give a time of day (13:52:30) or seconds since \
                 its first packet"
                    .into(),
            ),
            (TimeArg::TimeOfDay(tod), _) => {
                let mut t = origin - origin.rem_euclid(DAY_US) + tod;
                if t < origin - DAY_US / 2 {
                    t += DAY_US;
                }
                Ok((t - origin) as f64 / 1e6)
            }
            (TimeArg::DateTime(us), TimeKind::DateTime) => Ok((us - origin) as f64 / 1e6),
        }
    }
}

/// `HH:MM:SS.ffffff` of microseconds since midnight.
fn time_of_day(us: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        us / 3_600_000_000,
        us / 60_000_000 % 60,
        us / 1_000_000 % 60,
        us % 1_000_000
    )
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of microseconds since the epoch.
fn date_time(us: i64) -> String {
    let days = us.div_euclid(DAY_US);
    let date = jiff::Span::new()
        .try_days(days)
        .and_then(|span| jiff::civil::date(1970, 1, 1).checked_add(span))
        .map_or_else(|_| format!("day {days}"), |d| d.to_string());
    format!("{date} {}", time_of_day(us.rem_euclid(DAY_US)))
}

/// A time given on the command line: seconds since the first packet (`12.5`, `+12.5`), a time of
/// day (`13:52:30`, `13:52:30.25`), or a date and time (`2026-11-21 13:52:30`, or with `T`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeArg {
    /// Seconds since the first packet.
    Seconds(f64),
    /// Microseconds since midnight.
    TimeOfDay(i64),
    /// Microseconds since 1970-01-01 UTC.
    DateTime(i64),
}

impl FromStr for TimeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<TimeArg, String> {
        let bad = || {
            format!(
                "{s:?} is not a time: give seconds since the first packet (12.5), a time of day \
                 (13:52:30.25) or a date and time (2026-11-21 13:52:30)"
            )
        };
        let s = s.trim();
        if let Some((d, t)) = s.split_once([' ', 'T'])
            && is_date(d)
        {
            let day = date_us(d).map_err(|_| bad())?;
            let tod = time_us(t.trim()).map_err(|_| bad())?;
            return if t.contains(':') {
                Ok(TimeArg::DateTime(day + tod))
            } else {
                Err(bad())
            };
        }
        if s.contains(':') {
            return time_us(s).map(TimeArg::TimeOfDay).map_err(|_| bad());
        }
        let secs: f64 = s
            .strip_prefix('+')
            .unwrap_or(s)
            .parse()
            .map_err(|_| bad())?;
        if secs.is_finite() && secs.abs() <= MAX_SECONDS {
            Ok(TimeArg::Seconds(secs))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for TimeArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimeArg::Seconds(s) => write!(f, "{s} s"),
            TimeArg::TimeOfDay(us) => f.write_str(&time_of_day(us)),
            TimeArg::DateTime(us) => f.write_str(&date_time(us)),
        }
    }
}

/// What a timestamp token without a date is: a time of day (`13:40:20.2`), seconds since the
/// epoch (`1700000000.1`: a day or more), or seconds since some start (`0.005`).
pub(crate) fn time_kind(tok: &str, t_us: i64) -> TimeKind {
    if tok.bytes().any(|b| b == b':') {
        TimeKind::TimeOfDay
    } else if t_us >= EPOCH_US {
        TimeKind::DateTime
    } else {
        TimeKind::Relative
    }
}

pub(crate) fn is_date(tok: &str) -> bool {
    let b = tok.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-'
}

/// Microseconds since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian calendar, UTC).
pub(crate) fn date_us(tok: &str) -> Result<i64, String> {
    let date: jiff::civil::Date = tok.parse().map_err(|_| format!("bad date {tok:?}"))?;
    let days = i64::from(
        date.since(jiff::civil::date(1970, 1, 1))
            .map_err(|_| format!("bad date {tok:?}"))?
            .get_days(),
    );
    Ok(days * DAY_US)
}

/// `13:40:20.210400` (time of day) or `1700000000.123456` / `0.005000` (seconds).
pub(crate) fn time_us(tok: &str) -> Result<i64, String> {
    let bad = || format!("bad timestamp {tok:?}");
    let (whole, frac) = tok.split_once('.').unwrap_or((tok, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mut frac_us: i64 = 0;
    for (i, b) in frac.bytes().take(6).enumerate() {
        frac_us += i64::from(b - b'0') * 10i64.pow(5 - i as u32);
    }
    let secs: i64 = if whole.contains(':') {
        let mut parts = whole.split(':');
        let (h, m, s) = (parts.next(), parts.next(), parts.next());
        if parts.next().is_some() {
            return Err(bad());
        }
        let p = |x: Option<&str>, max: i64| -> Result<i64, String> {
            let v: i64 = x.ok_or_else(bad)?.parse().map_err(|_| bad())?;
            if (0..max).contains(&v) {
                Ok(v)
            } else {
                Err(bad())
            }
        };
        p(h, 24)? * 3600 + p(m, 60)? * 60 + p(s, 61)?
    } else {
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 12 {
            return Err(bad());
        }
        whole.parse().map_err(|_| bad())?
    };
    Ok(secs * 1_000_000 + frac_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(kind: TimeKind, origin_us: i64) -> TimeBase {
        TimeBase {
            kind,
            origin: Instant::from_micros(origin_us),
        }
    }

    // Proves the three shapes of a time argument parse, and anything else is refused with the
    // forms it accepts.
    #[test]
    fn arguments() {
        assert_eq!("12.5".parse(), Ok(TimeArg::Seconds(12.5)));
        assert_eq!("+3".parse(), Ok(TimeArg::Seconds(3.0)));
        assert_eq!(
            "13:52:30.25".parse(),
            Ok(TimeArg::TimeOfDay(
                (13 * 3600 + 52 * 60 + 30) * 1_000_000 + 250_000
            ))
        );
        let dt: TimeArg = "2026-11-21T13:52:30".parse().unwrap();
        assert_eq!(dt, "2026-11-21 13:52:30".parse().unwrap());
        assert_eq!(dt.to_string(), "2026-11-21 13:52:30.000000");
        for bad in [
            "",
            "noon",
            "25:00:00",
            "2026-11-21",
            "2026-11-21 12",
            "NaN",
            "inf",
        ] {
            let e = bad.parse::<TimeArg>().unwrap_err();
            assert!(e.contains("time of day"), "{bad}: {e}");
        }
    }

    // Proves times of day resolve against the capture's first packet, including a capture that
    // passes midnight (00:00:05 is 10 s after 23:59:55), and that dates work only where the
    // capture has them; plain seconds are seconds since the first packet whatever the clock.
    #[test]
    fn resolving() {
        let tod = base(TimeKind::TimeOfDay, (13 * 3600 + 52 * 60 + 27) * 1_000_000);
        assert_eq!(tod.resolve("13:52:37".parse().unwrap()), Ok(10.0));
        assert_eq!(tod.resolve("13:52:17".parse().unwrap()), Ok(-10.0));
        assert_eq!(tod.resolve(TimeArg::Seconds(51403.0)), Ok(51403.0));
        assert!(tod.resolve("2026-11-21 13:52:37".parse().unwrap()).is_err());
        let late = base(TimeKind::TimeOfDay, DAY_US - 5_000_000);
        assert_eq!(late.resolve("00:00:05".parse().unwrap()), Ok(10.0));
        // 2026-11-21 13:52:27 UTC.
        let epoch = 1_763_733_147_000_000;
        let dated = base(TimeKind::DateTime, epoch);
        assert_eq!(
            dated.clock(dated.origin).unwrap(),
            "2025-11-21 13:52:27.000000"
        );
        assert_eq!(
            dated.resolve("2025-11-21 13:52:37".parse().unwrap()),
            Ok(10.0)
        );
        assert_eq!(dated.resolve("13:52:37".parse().unwrap()), Ok(10.0));
        assert!(
            TimeBase::run()
                .resolve("13:52:37".parse().unwrap())
                .is_err()
        );
    }

    // Proves far-out times never panic (review: a 12-digit epoch second in a text capture, or
    // `--from 700000000000`, panicked in the date arithmetic): they print as a day number, and a
    // seconds argument beyond 1e10 is refused; a relative capture a day long is not a date.
    #[test]
    fn extremes() {
        let far = base(TimeKind::DateTime, 999_999_999_999 * 1_000_000);
        assert!(far.clock(far.origin).unwrap().starts_with("day "));
        assert!(far.show(1e12).contains("day "));
        assert!("700000000000".parse::<TimeArg>().is_err());
        assert!("1e300".parse::<TimeArg>().is_err());
        assert_eq!(time_kind("90000.0", 90_000_000_000), TimeKind::Relative);
        let dated = TimeBase::new(TimeKind::DateTime, Instant::from_micros(DAY_US * 2));
        assert_eq!(dated.kind, TimeKind::Relative);
    }

    // Proves report times show the capture's clock and the seconds since its first packet.
    #[test]
    fn showing() {
        let tod = base(
            TimeKind::TimeOfDay,
            (13 * 3600 + 52 * 60 + 27) * 1_000_000 + 497_668,
        );
        assert_eq!(tod.show(10.116717), "13:52:37.614385 (+10.116717 s)");
        assert_eq!(TimeBase::run().show(2.5), "2.500000 s");
    }
}
