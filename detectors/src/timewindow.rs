//! Time windows as Slips numbers them: window 1 starts at the first flow's timestamp,
//! each is `time_window_width` long, a flow at a window's end belongs to the next one
//! (`floor((ts - first) / width) + 1`), and `only_one_tw` puts everything in window 1.

use dissectors::Timestamp;

/// One window of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub number: i64,
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
}

#[derive(Clone, Debug)]
pub struct TimeWindows {
    /// `None` for `only_one_tw`.
    width: Option<i64>,
    first: Option<Timestamp>,
}

impl TimeWindows {
    pub fn new(width_micros: Option<i64>) -> Self {
        TimeWindows {
            width: width_micros.map(|w| w.max(1)),
            first: None,
        }
    }

    /// Timestamp of the first flow, which window 1 starts at.
    pub fn first(&self) -> Option<Timestamp> {
        self.first
    }

    /// Fixes window 1's start before the first flow (sensors that share their windows
    /// agree on one start); flows before it fall in windows numbered 0 and below.
    pub fn start_at(&mut self, first: Timestamp) {
        self.first = Some(first);
    }

    /// The window of `ts`; the first call fixes window 1's start.
    pub fn window_of(&mut self, ts: Timestamp) -> TimeWindow {
        let first = *self.first.get_or_insert(ts);
        match self.width {
            None => TimeWindow {
                number: 1,
                start: first,
                end: Timestamp(i64::MAX),
            },
            Some(w) => {
                let number = (ts.0 - first.0).div_euclid(w) + 1;
                let start = Timestamp(first.0 + (number - 1) * w);
                TimeWindow {
                    number,
                    start,
                    end: Timestamp(start.0 + w),
                }
            }
        }
    }

    /// The bounds of window `number` (after the first flow was seen).
    pub fn window(&self, number: i64) -> Option<TimeWindow> {
        let first = self.first?;
        Some(match self.width {
            None => TimeWindow {
                number: 1,
                start: first,
                end: Timestamp(i64::MAX),
            },
            Some(w) => {
                let start = Timestamp(first.0 + (number - 1) * w);
                TimeWindow {
                    number,
                    start,
                    end: Timestamp(start.0 + w),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn numbered_from_one_at_the_first_flow() {
        let mut tw = TimeWindows::new(Some(3600 * S));
        let t0 = Timestamp(1_600_000_000 * S + 123);
        assert_eq!(tw.window_of(t0).number, 1);
        assert_eq!(tw.window_of(t0).start, t0);
        assert_eq!(tw.window_of(Timestamp(t0.0 + 3600 * S - 1)).number, 1);
        // A flow at the end of a window belongs to the next one.
        let w2 = tw.window_of(Timestamp(t0.0 + 3600 * S));
        assert_eq!(w2.number, 2);
        assert_eq!(w2.start, Timestamp(t0.0 + 3600 * S));
        assert_eq!(w2.end, Timestamp(t0.0 + 7200 * S));
        assert_eq!(tw.window_of(Timestamp(t0.0 + 10 * 3600 * S + 5)).number, 11);
        // A late record from before the first flow falls in window 0, as in Slips.
        assert_eq!(tw.window_of(Timestamp(t0.0 - 1)).number, 0);
        assert_eq!(tw.window(2), Some(w2));
    }

    #[test]
    fn a_start_fixed_before_the_first_flow_numbers_from_it() {
        let mut tw = TimeWindows::new(Some(60 * S));
        tw.start_at(Timestamp(1000 * S));
        assert_eq!(tw.first(), Some(Timestamp(1000 * S)));
        assert_eq!(tw.window_of(Timestamp(1130 * S)).number, 3);
        assert_eq!(tw.window_of(Timestamp(999 * S)).number, 0);
    }

    #[test]
    fn only_one_window() {
        let mut tw = TimeWindows::new(None);
        assert_eq!(tw.window_of(Timestamp(5)).number, 1);
        assert_eq!(tw.window_of(Timestamp(5 + 1_000_000 * S)).number, 1);
    }
}
