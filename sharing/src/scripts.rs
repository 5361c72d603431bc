//! The Lua scripts run on the server. Each touches the keys of one hash tag only (Redis
//! Cluster runs a script on one node), runs atomically, and can be replayed: the ids it
//! is given make a second run of the same operation change nothing.

/// Slips' alert rule on the server, for one evidence.
///
/// KEYS: window state, pending list, seen set, decisions hash (see `keys::WindowKeys`).
/// ARGV: evidence id, threat in millionths (0: does not count), 1 if an alert carries
/// it, threshold in millionths, pending entry (id and uids), evidence time (µs).
///
/// Returns `{"none", accumulated}`, `{"alert", "accumulated time\nentry\nentry..."}` when
/// this evidence crossed the threshold (the window starts again from 0 and its pending
/// evidence goes with the alert), or the stored answer again for a replayed id.
pub const ACCUMULATE: &str = r#"
local id = ARGV[1]
if redis.call('SADD', KEYS[3], id) == 0 then
  local d = redis.call('HGET', KEYS[4], id)
  if d then return {'alert', d} end
  return {'none', redis.call('HGET', KEYS[1], 'accumulated') or '0'}
end
redis.call('HINCRBY', KEYS[1], 'evidence', 1)
if ARGV[3] == '1' then redis.call('RPUSH', KEYS[2], ARGV[5]) end
local acc = redis.call('HINCRBY', KEYS[1], 'accumulated', ARGV[2])
if acc < tonumber(ARGV[4]) then return {'none', tostring(acc)} end
local entries = redis.call('LRANGE', KEYS[2], 0, -1)
if #entries == 0 then return {'none', tostring(acc)} end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'accumulated', 0)
redis.call('HINCRBY', KEYS[1], 'alerts', 1)
local d = tostring(acc) .. ' ' .. ARGV[6] .. '\n' .. table.concat(entries, '\n')
redis.call('HSET', KEYS[4], id, d)
return {'alert', d}
"#;

/// Appends an evidence or an alert to its stream once and publishes it.
///
/// KEYS: stream, ids set. ARGV: id, channel, JSON, profile, window.
/// Returns 1 when appended, 0 for a replay.
pub const FEED: &str = r#"
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'profileid', ARGV[4], 'twid', ARGV[5], 'data', ARGV[3])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"#;

/// One record of a profile: its window's bounds and flow count, and the live message.
///
/// KEYS: window state, window flows (HyperLogLog), profile's windows. ARGV: window
/// number, start, end (µs), flow uid ('' for other records), channel ('' for none),
/// message.
pub const RECORD: &str = r#"
redis.call('HSETNX', KEYS[1], 'start', ARGV[2])
redis.call('HSETNX', KEYS[1], 'end', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
if ARGV[4] ~= '' then redis.call('PFADD', KEYS[2], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return 1
"#;

/// The first sensor's first flow fixes window 1's start; every sensor gets it back.
///
/// KEYS: origin. ARGV: this sensor's first flow (µs).
pub const ORIGIN: &str = r#"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"#;
