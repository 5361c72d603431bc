//! Byte buffers that dissectors fill piece by piece.

/// Appends `bytes` to `buf`; a buffer without storage yet first takes room for `room` bytes
/// (or for `bytes`, if more), what it is expected to hold: one allocation, where growing
/// into it from nothing copied the buffer at every doubling. Later growth is the vector's
/// own.
pub(crate) fn extend_with_room(buf: &mut Vec<u8>, bytes: &[u8], room: usize) {
    if buf.capacity() == 0 {
        buf.reserve_exact(room.max(bytes.len()));
    }
    buf.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_taken_once_for_an_empty_buffer() {
        let mut buf = Vec::new();
        extend_with_room(&mut buf, b"abc", 100);
        assert_eq!((buf.as_slice(), buf.capacity()), (&b"abc"[..], 100));
        extend_with_room(&mut buf, b"de", 1000);
        assert_eq!((buf.as_slice(), buf.capacity()), (&b"abcde"[..], 100));
        let mut small = Vec::new();
        extend_with_room(&mut small, b"longer than room", 4);
        assert_eq!(small, b"longer than room");
    }
}
