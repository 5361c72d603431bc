//! MD5 of many messages at once: sixteen independent messages per AVX-512 register, or
//! eight per AVX2 register.
//!
//! One MD5 is a chain of dependent steps that no CPU runs faster than about 5 cycles a
//! byte, and files.log wants the MD5 of every HTTP body: it was a seventh of the CPU time
//! of a run with every log. The bodies of a batch of records are independent, so each
//! 32-bit lane runs the same steps on its own message; a lane that finishes takes the next
//! message. AVX-512 also has a rotate and a three-input logic instruction, which do in one
//! step what takes three (the rotate) and two or three (each round's function) in AVX2.
//! Without either (or for a single message) the `md-5` crate does it.

use md5::{Digest, Md5};

/// The MD5 digest of each message, in order.
pub fn md5_all(messages: &[&[u8]]) -> Vec<[u8; 16]> {
    #[cfg(target_arch = "x86_64")]
    if messages.len() > 1 {
        // Sixteen lanes for more than eight messages; fewer would leave most idle.
        if messages.len() > 8 && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above), the only requirement
            // of `avx512::compress`. Its one-step rotation makes a lone lane as fast as the
            // plain code, so it hands over only the last one.
            return unsafe { in_lanes(messages, avx512::compress, 1) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of
            // `avx2::compress`. A full-width step would do eight lanes' work for two.
            return unsafe { in_lanes(messages, avx2::compress, 2) };
        }
    }
    messages.iter().map(|m| one(m)).collect()
}

fn one(message: &[u8]) -> [u8; 16] {
    Md5::digest(message).into()
}

/// Round constants: the integer part of 2^32 x |sin(i + 1)|, computed once.
fn constants() -> &'static [u32; 64] {
    static K: std::sync::OnceLock<[u32; 64]> = std::sync::OnceLock::new();
    K.get_or_init(|| {
        std::array::from_fn(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
    })
}

const SHIFTS: [u32; 64] = {
    let per_round = [
        [7, 12, 17, 22],
        [5, 9, 14, 20],
        [4, 11, 16, 23],
        [6, 10, 15, 21],
    ];
    let mut s = [0; 64];
    let mut i = 0;
    while i < 64 {
        s[i] = per_round[i / 16][i % 4];
        i += 1;
    }
    s
};

/// One block of one message, the plain way: for the last messages of a run, when too
/// few are left to fill the lanes.
fn compress_one(state: &mut [u32; 4], block: &[u8; 64], k: &[u32; 64]) {
    let words = block.as_chunks::<4>().0;
    let m: [u32; 16] = std::array::from_fn(|w| u32::from_le_bytes(words[w]));
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        let f = match i / 16 {
            0 => (b & c) | (!b & d),
            1 => (d & b) | (!d & c),
            2 => b ^ c ^ d,
            _ => c ^ (b | !d),
        };
        let sum = f
            .wrapping_add(a)
            .wrapping_add(k[i])
            .wrapping_add(m[WORD[i]]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(sum.rotate_left(SHIFTS[i]));
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

/// The message word each step reads.
const WORD: [usize; 64] = {
    let mut w = [0; 64];
    let mut i = 0;
    while i < 64 {
        w[i] = match i / 16 {
            0 => i,
            1 => (5 * i + 1) % 16,
            2 => (3 * i + 5) % 16,
            _ => (7 * i) % 16,
        };
        i += 1;
    }
    w
};

const INITIAL: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The digest of a finished state: its words, little-endian.
fn digest_of(state: [u32; 4]) -> [u8; 16] {
    let mut digest = [0u8; 16];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
    digest
}

/// The 64-byte blocks of one message: whole blocks straight from it, then the padded
/// tail (one or two blocks) from a copy.
struct Blocks<'m> {
    message: &'m [u8],
    whole: usize,
    tail: [u8; 128],
    tail_blocks: usize,
}

impl<'m> Blocks<'m> {
    fn new(message: &'m [u8]) -> Self {
        let whole = message.len() / 64;
        let rest = &message[whole * 64..];
        let mut tail = [0u8; 128];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let tail_blocks = if rest.len() < 56 { 1 } else { 2 };
        let bits = (message.len() as u64).wrapping_mul(8);
        tail[tail_blocks * 64 - 8..tail_blocks * 64].copy_from_slice(&bits.to_le_bytes());
        Blocks {
            message,
            whole,
            tail,
            tail_blocks,
        }
    }

    fn count(&self) -> usize {
        self.whole + self.tail_blocks
    }

    fn block(&self, n: usize) -> &[u8; 64] {
        let (blocks, n) = if n < self.whole {
            (self.message.as_chunks::<64>().0, n)
        } else {
            (self.tail.as_chunks::<64>().0, n - self.whole)
        };
        &blocks[n]
    }
}

/// A message being hashed in a lane.
#[cfg(target_arch = "x86_64")]
struct Lane<'m> {
    index: usize,
    blocks: Blocks<'m>,
    next: usize,
}

#[cfg(target_arch = "x86_64")]
/// One 64-byte block of each of `LANES` messages: the state of each lane (`state[word][lane]`)
/// and the block's sixteen words of each lane (`words[word][lane]`), with the round constants.
type Compress<const LANES: usize> =
    unsafe fn(&mut [[u32; LANES]; 4], &[[u32; LANES]; 16], &[u32; 64]);

/// The digests of `messages`, hashed `LANES` at a time by `compress`; once no more than
/// `plain_from` lanes are busy (and nothing is left to start), they finish one by one the
/// plain way.
///
/// # Safety
/// `compress` must be safe to call on this CPU (its target features present).
#[cfg(target_arch = "x86_64")]
unsafe fn in_lanes<'m, const LANES: usize>(
    messages: &[&'m [u8]],
    compress: Compress<LANES>,
    plain_from: usize,
) -> Vec<[u8; 16]> {
    let k = constants();
    let mut digests = vec![[0u8; 16]; messages.len()];
    // Longest first, so that lanes end close together: the short messages come last
    // and fill the gaps.
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(messages[i].len()));
    let mut queue = order.into_iter().map(|i| (i, messages[i]));
    let mut lanes: [Option<Lane<'m>>; LANES] = std::array::from_fn(|_| None);
    let mut state = [[0u32; LANES]; 4];
    let mut take = |lane: &mut Option<Lane<'m>>, state: &mut [[u32; LANES]; 4], l: usize| {
        *lane = queue.next().map(|(index, m)| Lane {
            index,
            blocks: Blocks::new(m),
            next: 0,
        });
        for (word, initial) in state.iter_mut().zip(INITIAL) {
            word[l] = initial;
        }
    };
    for (l, lane) in lanes.iter_mut().enumerate() {
        take(lane, &mut state, l);
    }
    let lane_state = |state: &[[u32; LANES]; 4], l: usize| state.map(|word| word[l]);
    let mut words = [[0u32; LANES]; 16];
    while lanes.iter().any(Option::is_some) {
        // The lanes' blocks turned into words side by side (an idle lane hashes zeros).
        for (l, lane) in lanes.iter().enumerate() {
            let block = lane
                .as_ref()
                .map_or(&[0u8; 64], |lane| lane.blocks.block(lane.next));
            for (word, bytes) in words.iter_mut().zip(block.as_chunks::<4>().0) {
                word[l] = u32::from_le_bytes(*bytes);
            }
        }
        // SAFETY: the caller vouches for `compress` on this CPU.
        unsafe { compress(&mut state, &words, k) };
        for (l, slot) in lanes.iter_mut().enumerate() {
            let Some(lane) = slot.as_mut() else { continue };
            lane.next += 1;
            if lane.next == lane.blocks.count() {
                digests[lane.index] = digest_of(lane_state(&state, l));
                take(slot, &mut state, l);
            }
        }
        if lanes.iter().filter(|l| l.is_some()).count() <= plain_from {
            for (l, slot) in lanes.iter_mut().enumerate() {
                let Some(lane) = slot.take() else { continue };
                let mut one = lane_state(&state, l);
                for n in lane.next..lane.blocks.count() {
                    compress_one(&mut one, lane.blocks.block(n), k);
                }
                digests[lane.index] = digest_of(one);
            }
        }
    }
    digests
}

/// The 64 steps of one block as `step!(round function, step, rotation)`, for a width that
/// defines `step!` and the round functions `f1!` to `f4!` before expanding it.
#[cfg(target_arch = "x86_64")]
macro_rules! md5_steps {
    () => {
        step!(f1!(), 0, 7);
        step!(f1!(), 1, 12);
        step!(f1!(), 2, 17);
        step!(f1!(), 3, 22);
        step!(f1!(), 4, 7);
        step!(f1!(), 5, 12);
        step!(f1!(), 6, 17);
        step!(f1!(), 7, 22);
        step!(f1!(), 8, 7);
        step!(f1!(), 9, 12);
        step!(f1!(), 10, 17);
        step!(f1!(), 11, 22);
        step!(f1!(), 12, 7);
        step!(f1!(), 13, 12);
        step!(f1!(), 14, 17);
        step!(f1!(), 15, 22);
        step!(f2!(), 16, 5);
        step!(f2!(), 17, 9);
        step!(f2!(), 18, 14);
        step!(f2!(), 19, 20);
        step!(f2!(), 20, 5);
        step!(f2!(), 21, 9);
        step!(f2!(), 22, 14);
        step!(f2!(), 23, 20);
        step!(f2!(), 24, 5);
        step!(f2!(), 25, 9);
        step!(f2!(), 26, 14);
        step!(f2!(), 27, 20);
        step!(f2!(), 28, 5);
        step!(f2!(), 29, 9);
        step!(f2!(), 30, 14);
        step!(f2!(), 31, 20);
        step!(f3!(), 32, 4);
        step!(f3!(), 33, 11);
        step!(f3!(), 34, 16);
        step!(f3!(), 35, 23);
        step!(f3!(), 36, 4);
        step!(f3!(), 37, 11);
        step!(f3!(), 38, 16);
        step!(f3!(), 39, 23);
        step!(f3!(), 40, 4);
        step!(f3!(), 41, 11);
        step!(f3!(), 42, 16);
        step!(f3!(), 43, 23);
        step!(f3!(), 44, 4);
        step!(f3!(), 45, 11);
        step!(f3!(), 46, 16);
        step!(f3!(), 47, 23);
        step!(f4!(), 48, 6);
        step!(f4!(), 49, 10);
        step!(f4!(), 50, 15);
        step!(f4!(), 51, 21);
        step!(f4!(), 52, 6);
        step!(f4!(), 53, 10);
        step!(f4!(), 54, 15);
        step!(f4!(), 55, 21);
        step!(f4!(), 56, 6);
        step!(f4!(), 57, 10);
        step!(f4!(), 58, 15);
        step!(f4!(), 59, 21);
        step!(f4!(), 60, 6);
        step!(f4!(), 61, 10);
        step!(f4!(), 62, 15);
        step!(f4!(), 63, 21);
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::WORD;

    const LANES: usize = 8;

    /// One block of each lane.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn compress(
        state: &mut [[u32; LANES]; 4],
        words: &[[u32; LANES]; 16],
        k: &[u32; 64],
    ) {
        // SAFETY (every load and store below): each row is 8 u32s, 32 bytes in bounds,
        // and the unaligned forms accept any address. Closures are avoided: they would
        // not inherit this function's `target_feature`.
        let mut m = [_mm256_setzero_si256(); 16];
        for (v, row) in m.iter_mut().zip(words) {
            *v = unsafe { _mm256_loadu_si256(row.as_ptr().cast()) };
        }
        let mut start = [_mm256_setzero_si256(); 4];
        for (v, row) in start.iter_mut().zip(state.iter()) {
            *v = unsafe { _mm256_loadu_si256(row.as_ptr().cast()) };
        }
        let [a0, b0, c0, d0] = start;
        let ones = _mm256_set1_epi32(-1);
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        // One step: a = b + rotl(a + f(b, c, d) + k + m, s), then the roles rotate. Written
        // out for all 64 steps, so every shift is an immediate.
        macro_rules! step {
            ($f:expr, $i:expr, $s:literal) => {{
                let sum = _mm256_add_epi32(
                    _mm256_add_epi32($f, a),
                    _mm256_add_epi32(_mm256_set1_epi32(k[$i] as i32), m[WORD[$i]]),
                );
                let rotated = _mm256_or_si256(
                    _mm256_slli_epi32::<$s>(sum),
                    _mm256_srli_epi32::<{ 32 - $s }>(sum),
                );
                a = d;
                d = c;
                c = b;
                b = _mm256_add_epi32(b, rotated);
            }};
        }
        macro_rules! f1 {
            () => {
                _mm256_or_si256(_mm256_and_si256(b, c), _mm256_andnot_si256(b, d))
            };
        }
        macro_rules! f2 {
            () => {
                _mm256_or_si256(_mm256_and_si256(d, b), _mm256_andnot_si256(d, c))
            };
        }
        macro_rules! f3 {
            () => {
                _mm256_xor_si256(_mm256_xor_si256(b, c), d)
            };
        }
        macro_rules! f4 {
            () => {
                _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))
            };
        }
        md5_steps!();
        for (row, (first, last)) in state.iter_mut().zip([(a0, a), (b0, b), (c0, c), (d0, d)]) {
            unsafe { _mm256_storeu_si256(row.as_mut_ptr().cast(), _mm256_add_epi32(first, last)) };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::WORD;

    const LANES: usize = 16;

    /// The immediates of `vpternlogd` for each round's function of (x, y, z): the
    /// function applied to the three operands' truth-table bytes.
    const X: i32 = 0xf0;
    const Y: i32 = 0xcc;
    const Z: i32 = 0xaa;
    /// (x & y) | (!x & z): round 1 as f(b, c, d), round 2 as f(d, b, c).
    pub(super) const SELECT: i32 = ((X & Y) | (!X & Z)) & 0xff;
    /// x ^ y ^ z: round 3.
    pub(super) const PARITY: i32 = X ^ Y ^ Z;
    /// y ^ (x | !z): round 4 as f(b, c, d).
    pub(super) const ROUND4: i32 = (Y ^ (X | !Z)) & 0xff;

    /// One block of each lane.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn compress(
        state: &mut [[u32; LANES]; 4],
        words: &[[u32; LANES]; 16],
        k: &[u32; 64],
    ) {
        // SAFETY (every load and store below): each row is 16 u32s, 64 bytes in bounds,
        // and the unaligned forms accept any address. Closures are avoided: they would
        // not inherit this function's `target_feature`.
        let mut m = [_mm512_setzero_si512(); 16];
        for (v, row) in m.iter_mut().zip(words) {
            *v = unsafe { _mm512_loadu_si512(row.as_ptr().cast()) };
        }
        let mut start = [_mm512_setzero_si512(); 4];
        for (v, row) in start.iter_mut().zip(state.iter()) {
            *v = unsafe { _mm512_loadu_si512(row.as_ptr().cast()) };
        }
        let [a0, b0, c0, d0] = start;
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        // One step: a = b + rotl(a + f(b, c, d) + k + m, s), then the roles rotate. Written
        // out for all 64 steps, so every rotation is an immediate.
        macro_rules! step {
            ($f:expr, $i:expr, $s:literal) => {{
                let sum = _mm512_add_epi32(
                    _mm512_add_epi32($f, a),
                    _mm512_add_epi32(_mm512_set1_epi32(k[$i] as i32), m[WORD[$i]]),
                );
                a = d;
                d = c;
                c = b;
                b = _mm512_add_epi32(b, _mm512_rol_epi32::<$s>(sum));
            }};
        }
        macro_rules! f1 {
            () => {
                _mm512_ternarylogic_epi32::<SELECT>(b, c, d)
            };
        }
        macro_rules! f2 {
            () => {
                _mm512_ternarylogic_epi32::<SELECT>(d, b, c)
            };
        }
        macro_rules! f3 {
            () => {
                _mm512_ternarylogic_epi32::<PARITY>(b, c, d)
            };
        }
        macro_rules! f4 {
            () => {
                _mm512_ternarylogic_epi32::<ROUND4>(b, c, d)
            };
        }
        md5_steps!();
        for (row, (first, last)) in state.iter_mut().zip([(a0, a), (b0, b), (c0, c), (d0, d)]) {
            unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), _mm512_add_epi32(first, last)) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_and_mix_of_lengths_gives_the_crates_digest() {
        // Lengths around every padding boundary, and enough messages of uneven lengths
        // that lanes finish at different blocks and take new messages.
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut lengths: Vec<usize> = (0..=200).collect();
        lengths.extend([255, 256, 447, 448, 511, 512, 1000, 4095, 4096, 4999]);
        let messages: Vec<&[u8]> = lengths.iter().map(|&n| &data[..n]).collect();
        let expected: Vec<[u8; 16]> = messages.iter().map(|m| one(m)).collect();
        assert_eq!(md5_all(&messages), expected);
        // Fewer messages than lanes, a single message, none.
        assert_eq!(md5_all(&messages[190..193]), expected[190..193]);
        assert_eq!(md5_all(&messages[7..8]), expected[7..8]);
        assert!(md5_all(&[]).is_empty());
        // The known digest of the empty message, through the lanes.
        let empty: &[u8] = b"";
        assert_eq!(
            dissectors_hex(&md5_all(&[empty, empty])[1]),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    /// Both widths give the crate's digests, whichever `md5_all` picks on this CPU, and
    /// the immediates are the truth tables of the round functions.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn each_width_gives_the_crates_digest() {
        assert_eq!(
            (avx512::SELECT, avx512::PARITY, avx512::ROUND4),
            (0xca, 0x96, 0x39)
        );
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 253) as u8).collect();
        let lengths: Vec<usize> = (0..300).map(|i| (i * 37) % 3000).collect();
        let messages: Vec<&[u8]> = lengths.iter().map(|&n| &data[..n]).collect();
        let expected: Vec<[u8; 16]> = messages.iter().map(|m| one(m)).collect();
        let mut tried = 0;
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked just above).
            assert_eq!(unsafe { in_lanes(&messages, avx2::compress, 2) }, expected);
            tried += 1;
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is present (checked just above).
            assert_eq!(
                unsafe { in_lanes(&messages, avx512::compress, 1) },
                expected
            );
            assert_eq!(
                unsafe { in_lanes(&messages, avx512::compress, 0) },
                expected
            );
            tried += 1;
        }
        eprintln!("lane widths tried on this CPU: {tried}");
    }

    fn dissectors_hex(d: &[u8; 16]) -> String {
        crate::hex::lower_hex(d)
    }
}
