//! Thinning while reading: a plot's series keeps its points as they come until it has
//! [`RAW_LIMIT`] of them, then merges them into time bins (per key), at most [`MAX_BINS`] over the
//! series' span, doubling the bins' width as the span grows. Memory stays flat however long the
//! trace; a plot of up to [`RAW_LIMIT`] points per series is drawn from every point.
//!
//! Guarantees: a bin keeps the earliest time of its points and their values merged by the
//! series' rule ([`Merge`]): the lowest low and highest high of sequence ranges, the highest of
//! peaks. The drawing thins again to one mark per pixel column with the same rules, so a binned
//! series draws as its points would, except where a bin straddles a column edge (its points then
//! land in one column: under a pixel while the series' span has at least as many bins as the plot
//! has columns, which holds for the default 1,400 px; a plot given `--from`/`--to` keeps only the
//! points in its window, so a zoom thins within the window, not the whole trace).
//! Deterministic: a pure function of the points in order.

use std::collections::BTreeMap;

/// Points per series kept as they are.
pub(super) const RAW_LIMIT: usize = 1 << 15;

/// Time bins per series once thinned (the plot has at most about 1,400 pixel columns).
pub(super) const MAX_BINS: i64 = 1 << 13;

/// How two values of one bin combine.
pub(super) trait Merge: Copy {
    /// Merges `other` into `self`.
    fn merge(&mut self, other: Self);
}

/// A sequence range: merged to the lowest low and the highest high.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct SeqRange {
    /// Lowest relative sequence.
    pub(super) lo: i64,
    /// Highest relative sequence.
    pub(super) hi: i64,
}

impl Merge for SeqRange {
    fn merge(&mut self, o: SeqRange) {
        self.lo = self.lo.min(o.lo);
        self.hi = self.hi.max(o.hi);
    }
}

/// Two values merged each to its highest (an ACK and its window edge; unacked and unsent bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Peaks<T>(pub(super) T, pub(super) T);

impl Merge for Peaks<i64> {
    fn merge(&mut self, o: Peaks<i64>) {
        self.0 = self.0.max(o.0);
        self.1 = self.1.max(o.1);
    }
}

impl Merge for Peaks<f64> {
    fn merge(&mut self, o: Peaks<f64>) {
        self.0 = self.0.max(o.0);
        self.1 = self.1.max(o.1);
    }
}

/// The bins' placement once a series is thinned.
#[derive(Debug, Clone, Copy)]
struct Grid {
    origin: f64,
    width: f64,
    lo: i64,
    hi: i64,
}

impl Grid {
    fn index(&self, t: f64) -> i64 {
        ((t - self.origin) / self.width).floor() as i64
    }
}

/// A series of `(time, key, value)` points, thinned once large (see the module header).
#[derive(Debug, Clone)]
pub(super) struct Thinned<K, V> {
    raw: Vec<(f64, K, V)>,
    bins: BTreeMap<(i64, K), (f64, V)>,
    grid: Option<Grid>,
    /// Points outside this time range are not kept (the plot's window, when it is given).
    keep: (f64, f64),
}

impl<K, V> Default for Thinned<K, V> {
    fn default() -> Self {
        Thinned {
            raw: Vec::new(),
            bins: BTreeMap::new(),
            grid: None,
            keep: (f64::NEG_INFINITY, f64::INFINITY),
        }
    }
}

impl<K: Ord + Copy, V: Merge> Thinned<K, V> {
    /// Keeps only points from `from` to `to` (a zoomed plot thins within its window).
    pub(super) fn keep_only(&mut self, from: f64, to: f64) {
        self.keep = (from, to);
    }

    /// Adds a point.
    pub(super) fn push(&mut self, t: f64, key: K, value: V) {
        if t < self.keep.0 || t > self.keep.1 {
            return;
        }
        if self.grid.is_some() {
            self.insert(t, key, value);
            return;
        }
        self.raw.push((t, key, value));
        if self.raw.len() > RAW_LIMIT {
            let (lo, hi) = self
                .raw
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                    (lo.min(p.0), hi.max(p.0))
                });
            // Room for the span to double before the first coarsening.
            let width = ((hi - lo) / (MAX_BINS / 2) as f64).max(1e-6);
            self.grid = Some(Grid {
                origin: lo,
                width,
                lo: 0,
                hi: 0,
            });
            for (t, k, v) in std::mem::take(&mut self.raw) {
                self.insert(t, k, v);
            }
        }
    }

    fn insert(&mut self, t: f64, key: K, value: V) {
        let g = self.grid.as_mut().expect("binned");
        let mut i = g.index(t);
        g.lo = g.lo.min(i);
        g.hi = g.hi.max(i);
        while g.hi - g.lo >= MAX_BINS {
            g.width *= 2.0;
            g.lo = g.lo.div_euclid(2);
            g.hi = g.hi.div_euclid(2);
            i = i.div_euclid(2);
            let old = std::mem::take(&mut self.bins);
            for ((b, k), (t0, v)) in old {
                merge_into(&mut self.bins, (b.div_euclid(2), k), t0, v);
            }
        }
        merge_into(&mut self.bins, (i, key), t, value);
    }

    /// The points (or bins: their earliest time, key and merged value): as pushed while few, by
    /// bin and key once thinned.
    pub(super) fn iter(&self) -> Box<dyn Iterator<Item = (f64, K, V)> + '_> {
        if self.grid.is_some() {
            Box::new(self.bins.iter().map(|(&(_, k), &(t, v))| (t, k, v)))
        } else {
            Box::new(self.raw.iter().copied())
        }
    }

    /// Moves every point `offset` earlier.
    pub(super) fn shift(&mut self, offset: f64) {
        self.raw.iter_mut().for_each(|p| p.0 -= offset);
        self.bins.values_mut().for_each(|b| b.0 -= offset);
        if let Some(g) = self.grid.as_mut() {
            g.origin -= offset;
        }
    }

    /// Entries held (points, or bins once thinned): what the series costs in memory.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.raw.len() + self.bins.len()
    }
}

fn merge_into<K: Ord, V: Merge>(
    bins: &mut BTreeMap<(i64, K), (f64, V)>,
    at: (i64, K),
    t: f64,
    v: V,
) {
    bins.entry(at)
        .and_modify(|e| {
            e.0 = e.0.min(t);
            e.1.merge(v);
        })
        .or_insert((t, v));
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a series stays exact below the limit, stays within MAX_BINS bins per key however many
    // points arrive, and that bins keep the earliest time and the merged extremes: the lowest low
    // and highest high of every point that fell in them.
    #[test]
    fn thinning_bounds_memory_and_keeps_extremes() {
        let mut s: Thinned<u8, SeqRange> = Thinned::default();
        for i in 0..RAW_LIMIT {
            s.push(
                i as f64,
                0,
                SeqRange {
                    lo: i as i64,
                    hi: i as i64 + 1,
                },
            );
        }
        assert_eq!(s.held(), RAW_LIMIT);
        assert_eq!(s.iter().nth(7), Some((7.0, 0, SeqRange { lo: 7, hi: 8 })));
        let n = 2_000_000;
        for i in RAW_LIMIT..n {
            s.push(
                i as f64,
                (i % 2) as u8,
                SeqRange {
                    lo: i as i64,
                    hi: i as i64 + 1,
                },
            );
        }
        assert!(s.held() <= 2 * MAX_BINS as usize, "{} entries", s.held());
        let all: Vec<_> = s.iter().collect();
        assert_eq!(all.iter().map(|p| p.2.lo).min(), Some(0));
        assert_eq!(all.iter().map(|p| p.2.hi).max(), Some(n as i64));
        for (t, _, r) in &all {
            // Each bin starts at its earliest point, whose range is its lowest.
            assert!(r.lo >= *t as i64 && r.lo <= *t as i64 + 1, "{t} {r:?}");
        }
    }
}
