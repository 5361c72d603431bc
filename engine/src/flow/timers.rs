//! The timers of a flow table in a timing wheel: one bucket per second of network time,
//! so arming a timer is a push onto a bucket and not a heap insertion among every
//! pending timer. Timers leave in exactly the order a min-heap would give (the due
//! time, then the rest of the timer's ordering): only the bucket being drained is kept
//! as a (small) heap, every later bucket holds later times.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Microseconds of network time per bucket.
const BUCKET_MICROS: i64 = 1_000_000;
/// Buckets in the wheel: timers due further out wait in an overflow heap.
const BUCKETS: i64 = 1024;

/// What the wheel needs of a timer: its due time (µs) and a total order that starts
/// with it.
pub trait DueAt: Ord + Copy {
    fn due_micros(&self) -> i64;
}

pub struct TimerWheel<T: DueAt> {
    /// The bucket (absolute index: due time / bucket width) being drained; `None`
    /// until the first timer.
    cursor: Option<i64>,
    /// Timers of the cursor's bucket, and any armed since for a time at or before it.
    current: BinaryHeap<Reverse<T>>,
    buckets: Vec<Vec<T>>,
    in_buckets: usize,
    /// Storage of drained buckets, handed to buckets that fill for the first time: a
    /// capture shorter than the wheel's turn visits each bucket once, and would otherwise
    /// grow every bucket's vector from nothing.
    spare: Vec<Vec<T>>,
    /// Timers beyond the wheel's reach.
    far: BinaryHeap<Reverse<T>>,
}

impl<T: DueAt> Default for TimerWheel<T> {
    fn default() -> Self {
        TimerWheel {
            cursor: None,
            current: BinaryHeap::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            in_buckets: 0,
            spare: Vec::new(),
            far: BinaryHeap::new(),
        }
    }
}

fn bucket_of(micros: i64) -> i64 {
    micros.div_euclid(BUCKET_MICROS)
}

impl<T: DueAt> TimerWheel<T> {
    pub fn len(&self) -> usize {
        self.current.len() + self.in_buckets + self.far.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push(&mut self, timer: T) {
        let bucket = bucket_of(timer.due_micros());
        let cursor = *self.cursor.get_or_insert(bucket);
        if bucket <= cursor {
            self.current.push(Reverse(timer));
        } else if bucket - cursor < BUCKETS {
            self.push_to_bucket(bucket, timer);
        } else {
            self.far.push(Reverse(timer));
        }
    }

    fn push_to_bucket(&mut self, bucket: i64, timer: T) {
        let slot = &mut self.buckets[bucket.rem_euclid(BUCKETS) as usize];
        if slot.capacity() == 0 {
            if let Some(storage) = self.spare.pop() {
                *slot = storage;
            }
        }
        slot.push(timer);
        self.in_buckets += 1;
    }

    /// The first timer due at or before `now`, taken out; `None` when none is due.
    pub fn pop_due(&mut self, now: i64) -> Option<T> {
        loop {
            if let Some(Reverse(first)) = self.current.peek() {
                // Every timer outside `current` is due in a later bucket.
                return (first.due_micros() <= now)
                    .then(|| self.current.pop().map(|Reverse(t)| t))
                    .flatten();
            }
            let cursor = self.cursor?;
            let target = bucket_of(now);
            if target <= cursor || self.is_empty() {
                return None;
            }
            // Move to the next bucket that can hold anything: straight past empty
            // stretches of time when only far timers are left.
            let next = if self.in_buckets == 0 {
                let far = self
                    .far
                    .peek()
                    .map_or(target, |Reverse(t)| bucket_of(t.due_micros()));
                far.min(target).max(cursor + 1)
            } else {
                cursor + 1
            };
            self.cursor = Some(next);
            let mut drained = std::mem::take(&mut self.buckets[next.rem_euclid(BUCKETS) as usize]);
            self.in_buckets -= drained.len();
            self.current.extend(drained.drain(..).map(Reverse));
            if drained.capacity() > 0 {
                self.spare.push(drained);
            }
            while let Some(Reverse(t)) = self.far.peek().copied() {
                let bucket = bucket_of(t.due_micros());
                if bucket - next >= BUCKETS {
                    break;
                }
                self.far.pop();
                if bucket <= next {
                    self.current.push(Reverse(t));
                } else {
                    self.push_to_bucket(bucket, t);
                }
            }
        }
    }

    /// Keeps only the timers `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.current.retain(|Reverse(t)| keep(t));
        self.far.retain(|Reverse(t)| keep(t));
        self.in_buckets = 0;
        for b in &mut self.buckets {
            b.retain(|t| keep(t));
            self.in_buckets += b.len();
        }
    }

    pub fn clear(&mut self) {
        self.current.clear();
        self.far.clear();
        for b in &mut self.buckets {
            b.clear();
        }
        self.in_buckets = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct T(i64, u64);

    impl DueAt for T {
        fn due_micros(&self) -> i64 {
            self.0
        }
    }

    /// A small deterministic generator (xorshift) for the comparisons.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The wheel against a plain min-heap: the same timers armed (also while firing,
    /// also in the past, also far ahead), the same ones due, in the same order.
    #[test]
    fn fires_exactly_as_a_heap_would() {
        for seed in 1..40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut wheel = TimerWheel::default();
            let mut heap = BinaryHeap::new();
            let mut now = 1_000_000_000i64 + rng.below(5_000_000) as i64;
            let mut serial = 0u64;
            for _ in 0..3000 {
                // Time moves in small steps, sometimes in jumps of hours or days.
                now += match rng.below(100) {
                    0 => rng.below(3 * 86_400_000_000) as i64,
                    1..=5 => rng.below(2_000_000_000) as i64,
                    _ => rng.below(300_000) as i64,
                };
                for _ in 0..rng.below(4) {
                    let delay = match rng.below(10) {
                        0 => -(rng.below(10_000_000) as i64),
                        1 => rng.below(5_000_000_000) as i64,
                        _ => rng.below(400_000_000) as i64,
                    };
                    serial += 1;
                    let t = T(now + delay, serial);
                    wheel.push(t);
                    heap.push(Reverse(t));
                }
                loop {
                    let expected = match heap.peek() {
                        Some(Reverse(t)) if t.0 <= now => heap.pop().map(|Reverse(t)| t),
                        _ => None,
                    };
                    let got = wheel.pop_due(now);
                    assert_eq!(got, expected, "seed {seed} now {now}");
                    let Some(fired) = got else { break };
                    // Firing may re-arm, possibly still due now.
                    if rng.below(3) == 0 {
                        serial += 1;
                        let again = T(fired.0 + rng.below(2_000_000) as i64, serial);
                        wheel.push(again);
                        heap.push(Reverse(again));
                    }
                }
                assert_eq!(wheel.len(), heap.len());
                if rng.below(200) == 0 {
                    let cut = rng.below(4);
                    wheel.retain(|t| t.1 % 4 != cut);
                    heap.retain(|Reverse(t)| t.1 % 4 != cut);
                }
            }
        }
    }

    #[test]
    fn nothing_is_due_before_its_time() {
        let mut w = TimerWheel::default();
        assert_eq!(w.pop_due(i64::MAX), None);
        w.push(T(5_500_000, 1));
        w.push(T(5_400_000, 2));
        assert_eq!(w.pop_due(5_000_000), None);
        assert_eq!(w.pop_due(5_450_000), Some(T(5_400_000, 2)));
        assert_eq!(w.pop_due(5_450_000), None);
        assert_eq!(w.pop_due(6_000_000), Some(T(5_500_000, 1)));
        assert!(w.is_empty());
    }
}
