//! In-order delivery of one TCP direction, with Zeek's accounting of content gaps: data
//! that an acknowledgment shows was sent but that never reached us.

/// What the reassembler hands on, in stream order.
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// `len` bytes that will never be delivered.
    Gap(u64),
}

struct Block {
    seq: u64,
    upper: u64,
    /// Empty when the bytes were not kept (no dissector wants them, or over budget).
    data: Vec<u8>,
}

/// Sequence numbers here are relative to the direction's initial sequence number, so
/// the first data byte is 1.
pub struct Reassembler {
    last_reassem_seq: u64,
    trim_seq: u64,
    blocks: Vec<Block>,
    buffered: usize,
    max_buffered: usize,
    /// Out-of-order blocks held at most: tiny segments around holes would otherwise grow
    /// the list (and its insertion cost) without bound even when no bytes are kept.
    max_blocks: usize,
    keep_data: bool,
}

impl Reassembler {
    pub fn new(keep_data: bool, max_buffered: usize) -> Self {
        Reassembler {
            last_reassem_seq: 1,
            trim_seq: 1,
            blocks: Vec::new(),
            buffered: 0,
            max_buffered,
            max_blocks: (max_buffered / 512).max(1024),
            keep_data,
        }
    }

    pub fn set_keep_data(&mut self, keep: bool) {
        self.keep_data = keep;
    }

    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// New segment data starting at relative sequence `seq`.
    pub fn data(&mut self, seq: u64, data: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        let Some(upper) = seq.checked_add(data.len() as u64) else {
            return;
        };
        if data.is_empty() || upper <= self.trim_seq {
            return;
        }
        let (seq, data) = if seq < self.trim_seq {
            let skip = (self.trim_seq - seq) as usize;
            (self.trim_seq, &data[skip..])
        } else {
            (seq, data)
        };
        if seq <= self.last_reassem_seq {
            if upper > self.last_reassem_seq {
                let skip = (self.last_reassem_seq - seq) as usize;
                self.last_reassem_seq = upper;
                out(Chunk::Data(&data[skip..]));
                self.drain_contiguous(out);
            }
        } else {
            self.insert(seq, data);
        }
    }

    /// The peer acknowledged everything below `seq`: anything still missing below it is
    /// a gap. `suppress_initial` drops the complaint about the first byte(s) of a partial
    /// connection, whose start was guessed.
    pub fn ack(&mut self, seq: u64, suppress_initial: bool, out: &mut dyn FnMut(Chunk<'_>)) {
        if seq <= self.trim_seq {
            return;
        }
        if seq > self.last_reassem_seq && !(seq <= 2 && suppress_initial) {
            while let Some(first) = self.blocks.first() {
                if first.seq >= seq {
                    break;
                }
                if first.seq > self.last_reassem_seq {
                    out(Chunk::Gap(first.seq - self.last_reassem_seq));
                    self.last_reassem_seq = first.seq;
                }
                self.drain_contiguous(out);
            }
            if seq > self.last_reassem_seq {
                out(Chunk::Gap(seq - self.last_reassem_seq));
                self.last_reassem_seq = seq;
            }
        }
        while self.blocks.first().is_some_and(|b| b.upper <= seq) {
            let b = self.blocks.remove(0);
            self.buffered -= b.data.len();
        }
        self.trim_seq = seq;
    }

    fn drain_contiguous(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while self
            .blocks
            .first()
            .is_some_and(|b| b.seq <= self.last_reassem_seq)
        {
            let b = self.blocks.remove(0);
            self.buffered -= b.data.len();
            if b.upper <= self.last_reassem_seq {
                continue;
            }
            let skip = self.last_reassem_seq - b.seq;
            let new_len = b.upper - self.last_reassem_seq;
            self.last_reassem_seq = b.upper;
            if b.data.is_empty() {
                out(Chunk::Gap(new_len));
            } else {
                out(Chunk::Data(&b.data[skip as usize..]));
            }
        }
    }

    /// Buffers out-of-order data, keeping only the parts not already held.
    fn insert(&mut self, seq: u64, data: &[u8]) {
        let upper = seq + data.len() as u64;
        let mut pos = self.blocks.partition_point(|b| b.upper <= seq);
        let mut cur = seq;
        while cur < upper {
            let next_start = self.blocks.get(pos).map_or(upper, |b| b.seq.min(upper));
            if next_start > cur {
                if self.blocks.len() >= self.max_blocks {
                    // Not recorded: reported as a gap if it is ever acknowledged.
                    return;
                }
                let piece = &data[(cur - seq) as usize..(next_start - seq) as usize];
                let keep = self.keep_data && self.buffered + piece.len() <= self.max_buffered;
                let stored = if keep { piece.to_vec() } else { Vec::new() };
                self.buffered += stored.len();
                self.blocks.insert(
                    pos,
                    Block {
                        seq: cur,
                        upper: next_start,
                        data: stored,
                    },
                );
                pos += 1;
                cur = next_start;
            } else if let Some(b) = self.blocks.get(pos) {
                cur = cur.max(b.upper);
                pos += 1;
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(r: &mut Reassembler, seq: u64, data: &[u8]) -> (Vec<u8>, u64) {
        let mut got = Vec::new();
        let mut gaps = 0;
        r.data(seq, data, &mut |c| match c {
            Chunk::Data(d) => got.extend_from_slice(d),
            Chunk::Gap(n) => gaps += n,
        });
        (got, gaps)
    }

    #[test]
    fn in_order_and_out_of_order() {
        let mut r = Reassembler::new(true, 1 << 20);
        assert_eq!(collect(&mut r, 1, b"abc").0, b"abc");
        assert_eq!(collect(&mut r, 7, b"ghi").0, b"");
        assert_eq!(collect(&mut r, 4, b"def").0, b"defghi");
        // Retransmission of delivered data delivers nothing.
        assert_eq!(collect(&mut r, 2, b"bcd").0, b"");
    }

    #[test]
    fn ack_beyond_hole_reports_gap_then_delivers() {
        let mut r = Reassembler::new(true, 1 << 20);
        collect(&mut r, 1, b"ab");
        collect(&mut r, 10, b"xyz");
        let mut events = Vec::new();
        r.ack(13, false, &mut |c| match c {
            Chunk::Data(d) => events.push(format!("d{}", String::from_utf8_lossy(d))),
            Chunk::Gap(n) => events.push(format!("g{n}")),
        });
        assert_eq!(events, ["g7", "dxyz"]);
        // Data below the ack point is old now.
        assert_eq!(collect(&mut r, 3, b"cdefghi"), (Vec::new(), 0));
    }

    #[test]
    fn block_count_is_capped() {
        let mut r = Reassembler::new(true, 1 << 20);
        // Descending one-byte segments, each beyond a hole: never deliverable.
        for k in (0..100_000u64).rev() {
            collect(&mut r, 10 + 2 * k, b"x");
        }
        assert!(r.blocks.len() <= r.max_blocks);
        assert!(r.buffered_bytes() <= r.max_blocks);
        // Acknowledging everything reports the unrecorded bytes as a gap.
        let mut gaps = 0;
        r.ack(300_000, false, &mut |c| {
            if let Chunk::Gap(n) = c {
                gaps += n;
            }
        });
        assert!(gaps > 0);
        assert!(r.blocks.is_empty());
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn budget_turns_data_into_gap() {
        let mut r = Reassembler::new(true, 2);
        collect(&mut r, 5, b"efgh");
        let (got, gaps) = collect(&mut r, 1, b"abcd");
        assert_eq!(got, b"abcd");
        assert_eq!(gaps, 4);
        assert_eq!(r.buffered_bytes(), 0);
    }
}
