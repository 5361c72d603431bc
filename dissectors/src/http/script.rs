//! The transaction bookkeeping of Zeek's `base/protocols/http/{main,entities}.zeek`:
//! pairing of pipelined requests and replies into `HTTP::Info` records, header-derived
//! fields, and the file ids / names / MIME types attached to a transaction.

use super::parse::{decode_base64, filename_from_disposition};
use super::record::HttpRecord;
use crate::analyzer::Context;
use crate::uid::Uid;
use crate::zeek::escape_bytes_lossy;

/// `HTTP::max_pending_requests`.
const MAX_PENDING: usize = 100;
/// `HTTP::max_files_orig` / `HTTP::max_files_resp`.
const MAX_FILES: usize = 15;
/// Bound on distinct `proxied` entries kept per transaction.
const MAX_PROXIED: usize = 32;

/// `HTTP::proxy_headers`.
const PROXY_HEADERS: &[&[u8]] = &[
    b"FORWARDED",
    b"X-FORWARDED-FOR",
    b"X-FORWARDED-FROM",
    b"CLIENT-IP",
    b"VIA",
    b"XROXY-CONNECTION",
    b"PROXY-CONNECTION",
];

struct Tx {
    rec: HttpRecord,
    /// `current_entity` exists, with its filename if a header named one.
    entity: Option<Option<String>>,
    orig_mime_depth: u64,
    resp_mime_depth: u64,
}

/// Transactions by key, in key order. A connection has one or two pending at a time (at
/// most [`MAX_PENDING`]): a sorted vector finds them as fast as a tree, and its one slot
/// is a fraction of the tree node that held eleven records per connection.
#[derive(Default)]
struct Pending(Vec<(u64, Tx)>);

impl Pending {
    fn position(&self, key: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&key, |(k, _)| *k)
    }

    fn contains_key(&self, key: &u64) -> bool {
        self.position(*key).is_ok()
    }

    fn get(&self, key: &u64) -> Option<&Tx> {
        self.position(*key).ok().map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, key: &u64) -> Option<&mut Tx> {
        self.position(*key).ok().map(|i| &mut self.0[i].1)
    }

    fn insert(&mut self, key: u64, tx: Tx) {
        match self.position(key) {
            Ok(i) => self.0[i].1 = tx,
            Err(i) => {
                if self.0.capacity() == 0 {
                    self.0.reserve_exact(1);
                }
                self.0.insert(i, (key, tx));
            }
        }
    }

    fn remove(&mut self, key: &u64) -> Option<Tx> {
        self.position(*key).ok().map(|i| self.0.remove(i).1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl IntoIterator for Pending {
    type Item = (u64, Tx);
    type IntoIter = std::vec::IntoIter<(u64, Tx)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

pub struct Script {
    pending: Pending,
    current_request: u64,
    current_response: u64,
    trans_depth: u64,
    /// Key of the record `c$http` refers to (the last one `set_state` picked).
    cur: Option<u64>,
    capture_password: bool,
}

fn esc(b: &[u8]) -> String {
    escape_bytes_lossy(b)
}

fn push_limited<T>(v: &mut Option<Vec<T>>, item: T) -> bool {
    let list = v.get_or_insert_with(Vec::new);
    if list.len() >= MAX_FILES {
        return false;
    }
    list.push(item);
    true
}

impl Script {
    pub fn new(capture_password: bool) -> Self {
        Script {
            pending: Pending::default(),
            current_request: 0,
            current_response: 0,
            trans_depth: 0,
            cur: None,
            capture_password,
        }
    }

    fn set_state(&mut self, cx: &Context<'_>, is_orig: bool) -> u64 {
        let key = if is_orig {
            self.current_request
        } else {
            self.current_response
        };
        if !self.pending.contains_key(&key) {
            self.trans_depth += 1;
            let rec = HttpRecord::new(cx.ts, cx.uid, *cx.id, self.trans_depth);
            self.pending.insert(
                key,
                Tx {
                    rec,
                    entity: None,
                    orig_mime_depth: 0,
                    resp_mime_depth: 0,
                },
            );
        }
        self.cur = Some(key);
        key
    }

    fn cur_tx(&mut self) -> Option<&mut Tx> {
        let k = self.cur?;
        self.pending.get_mut(&k)
    }

    pub fn http_request(&mut self, cx: &mut Context<'_>, method: &[u8], unescaped_uri: &[u8]) {
        if self.current_request < self.current_response {
            self.current_request = self.current_response;
        }
        if self.pending.len() > MAX_PENDING {
            if self.current_response == 0 {
                self.current_response += 1;
            }
            while self.current_response < self.current_request {
                if let Some(tx) = self.pending.remove(&self.current_response) {
                    cx.emit(tx.rec);
                }
                self.current_response += 1;
            }
        }
        self.current_request += 1;
        let k = self.set_state(cx, true);
        if let Some(tx) = self.pending.get_mut(&k) {
            tx.rec.method = Some(esc(method));
            tx.rec.uri = Some(esc(unescaped_uri));
        }
    }

    pub fn http_reply(&mut self, cx: &mut Context<'_>, version: String, code: u64, reason: &[u8]) {
        let bump = match self.pending.get(&self.current_response) {
            None => true,
            Some(tx) => tx
                .rec
                .status_code
                .is_some_and(|c| !(100..=199).contains(&c)),
        };
        if bump {
            self.current_response += 1;
        }
        let k = self.set_state(cx, false);
        if let Some(tx) = self.pending.get_mut(&k) {
            let reason = esc(reason);
            tx.rec.status_code = Some(code);
            tx.rec.version = Some(version);
            if (100..=199).contains(&code) {
                tx.rec.info_code = Some(code);
                tx.rec.info_msg = Some(reason.clone());
            }
            tx.rec.status_msg = Some(reason);
        }
    }

    /// `http_header` with the upper-cased name.
    pub fn http_header(&mut self, cx: &mut Context<'_>, is_orig: bool, name: &[u8], value: &[u8]) {
        self.set_state(cx, is_orig);
        let capture_password = self.capture_password;
        let Some(tx) = self.cur_tx() else {
            return;
        };
        if is_orig {
            let r = &mut tx.rec;
            match name {
                b"REFERER" => r.referrer = Some(esc(value)),
                b"HOST" => r.host = Some(esc(value)),
                b"RANGE" => {}
                b"ORIGIN" => r.origin = Some(esc(value)),
                b"USER-AGENT" => r.user_agent = Some(esc(value)),
                n if PROXY_HEADERS.contains(&n) => {
                    let mut entry = Vec::with_capacity(name.len() + 4 + value.len());
                    entry.extend_from_slice(name);
                    entry.extend_from_slice(b" -> ");
                    entry.extend_from_slice(value);
                    let entry = esc(&entry);
                    let set = r.proxied.get_or_insert_with(Vec::new);
                    if !set.contains(&entry) && set.len() < MAX_PROXIED {
                        set.push(entry);
                    }
                }
                b"AUTHORIZATION" | b"PROXY-AUTHORIZATION"
                    if value.len() >= 6 && value[..6].eq_ignore_ascii_case(b"basic ") =>
                {
                    let mut rest = &value[6..];
                    while let [b' ' | b'\t', tail @ ..] = rest {
                        rest = tail;
                    }
                    let userpass = decode_base64(rest);
                    match userpass.iter().position(|&c| c == b':') {
                        Some(p) => {
                            r.username = Some(esc(&userpass[..p]));
                            if capture_password {
                                r.password = Some(esc(&userpass[p + 1..]));
                            }
                        }
                        None => {
                            r.username = Some(format!("<problem-decoding> ({})", esc(value)));
                            if capture_password {
                                r.password = Some(esc(&userpass));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // entities.zeek: a filename for the current entity.
        let names_file = |pat: &[u8], allow_star: bool| -> bool {
            let mut i = 0;
            while i + pat.len() <= value.len() {
                if value[i..i + pat.len()].eq_ignore_ascii_case(pat) {
                    let mut j = i + pat.len();
                    while value.get(j).is_some_and(|&c| c == b' ' || c == b'\t') {
                        j += 1;
                    }
                    if allow_star && value.get(j) == Some(&b'*') {
                        j += 1;
                    }
                    if value.get(j) == Some(&b'=') {
                        return true;
                    }
                }
                i += 1;
            }
            false
        };
        let filename = match name {
            b"CONTENT-DISPOSITION" if names_file(b"filename", true) => true,
            b"CONTENT-TYPE" if names_file(b"name", false) => true,
            _ => false,
        };
        if filename {
            let f = esc(&filename_from_disposition(value));
            if let Some(e) = self.cur_tx().and_then(|tx| tx.entity.as_mut()) {
                *e = Some(f);
            }
        }
    }

    pub fn begin_entity(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        self.set_state(cx, is_orig);
        if let Some(tx) = self.cur_tx() {
            if is_orig {
                tx.orig_mime_depth += 1;
            } else {
                tx.resp_mime_depth += 1;
            }
            tx.entity = Some(None);
        }
    }

    pub fn end_entity(&mut self) {
        if let Some(tx) = self.cur_tx() {
            tx.entity = None;
        }
    }

    pub fn message_done(&mut self, cx: &mut Context<'_>, is_orig: bool, body_len: u64) {
        let k = self.set_state(cx, is_orig);
        let Some(tx) = self.pending.get_mut(&k) else {
            return;
        };
        if is_orig {
            tx.rec.request_body_len = body_len;
        } else {
            tx.rec.response_body_len = body_len;
            if !tx.rec.status_code.is_some_and(|c| (100..=199).contains(&c)) {
                if let Some(tx) = self.pending.remove(&self.current_response) {
                    cx.emit(tx.rec);
                }
            }
        }
    }

    /// `file_over_new_connection`: ties a new file to the current transaction. Returns the
    /// transaction key the file belongs to (`f$http`) and the filename for files.log.
    pub fn file_new(&mut self, is_orig: bool, fuid: Uid) -> (Option<u64>, Option<String>) {
        let Some(k) = self.cur else {
            return (None, None);
        };
        let Some(tx) = self.pending.get_mut(&k) else {
            return (Some(k), None);
        };
        let filename = tx.entity.clone().flatten();
        let (fuids, names) = if is_orig {
            (&mut tx.rec.orig_fuids, &mut tx.rec.orig_filenames)
        } else {
            (&mut tx.rec.resp_fuids, &mut tx.rec.resp_filenames)
        };
        if push_limited(fuids, fuid) {
            if let Some(f) = &filename {
                push_limited(names, f.clone());
            }
        }
        (Some(k), filename)
    }

    /// `file_sniff`: records the MIME type of a file on the transaction it belongs to.
    pub fn file_sniff(&mut self, key: Option<u64>, is_orig: bool, mime: Option<&'static str>) {
        let (Some(k), Some(mime)) = (key, mime) else {
            return;
        };
        if let Some(tx) = self.pending.get_mut(&k) {
            let list = if is_orig {
                &mut tx.rec.orig_mime_types
            } else {
                &mut tx.rec.resp_mime_types
            };
            push_limited(list, mime);
        }
    }

    /// Trans depth and MIME depth of the current transaction, for file ids.
    pub fn file_handle_parts(&self, is_orig: bool) -> (u64, u64) {
        self.cur
            .and_then(|k| self.pending.get(&k))
            .map_or((0, 0), |tx| {
                let depth = if is_orig {
                    tx.orig_mime_depth
                } else {
                    tx.resp_mime_depth
                };
                (tx.rec.trans_depth, depth)
            })
    }

    /// `finalize_http`: logs every transaction still pending.
    pub fn finalize(&mut self, cx: &mut Context<'_>) {
        for (k, tx) in std::mem::take(&mut self.pending) {
            if k != 0 {
                cx.emit(tx.rec);
            }
        }
        self.cur = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::{ConnId, Transport};
    use crate::time::Timestamp;

    fn tx(depth: u64) -> Tx {
        let id = ConnId {
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 1,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 80,
            proto: Transport::Tcp,
        };
        Tx {
            rec: HttpRecord::new(Timestamp(0), Uid::connection(1), id, depth),
            entity: None,
            orig_mime_depth: 0,
            resp_mime_depth: 0,
        }
    }

    /// The pending transactions behave as the ordered map they replace: found by key,
    /// replaced on a second insert, and handed out in key order whatever the insertion
    /// order.
    #[test]
    fn pending_transactions_are_kept_in_key_order() {
        let mut p = Pending::default();
        for k in [5, 1, 3, 2, 4] {
            p.insert(k, tx(k * 10));
        }
        p.insert(3, tx(33));
        assert_eq!(p.len(), 5);
        assert!(p.contains_key(&4) && !p.contains_key(&6));
        assert_eq!(p.get(&3).map(|t| t.rec.trans_depth), Some(33));
        p.get_mut(&2).unwrap().orig_mime_depth = 7;
        assert_eq!(p.remove(&1).map(|t| t.rec.trans_depth), Some(10));
        assert!(p.remove(&1).is_none());
        let order: Vec<(u64, u64, u64)> = p
            .into_iter()
            .map(|(k, t)| (k, t.rec.trans_depth, t.orig_mime_depth))
            .collect();
        assert_eq!(order, [(2, 20, 7), (3, 33, 0), (4, 40, 0), (5, 50, 0)]);
    }
}
