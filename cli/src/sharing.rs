//! `--redis URL` and `-s`: sharing the analysis with other sensors through Redis (the
//! `sharing` crate), and saving the analysis at the end of the run.

use std::path::Path;

use anyhow::{Context as _, Result};

use crate::output::Outputs;

/// Where `-s` puts the Redis snapshot in the output folder.
pub const RDB_NAME: &str = "redis_backup.rdb";

/// The Redis URL in force: the command line's, else the configuration's (empty: none).
pub fn redis_url(settings: &detectors::Config, flag: Option<&str>) -> Option<String> {
    let url = flag.unwrap_or(&settings.redis.url).trim();
    (!url.is_empty()).then(|| url.to_string())
}

/// Before the analysis starts: with `-s` and no Redis, the analysis is saved as its
/// SQLite file, so make sure one is written.
pub fn prepare(settings: &mut detectors::Config, save: bool, redis: Option<&str>) {
    if save && redis.is_none() && settings.output.sqlite.is_empty() {
        settings.output.sqlite = "flows.sqlite".into();
    }
}

/// Connects to Redis and plugs the publisher and the shared alert rule into the
/// analysis; nothing to do without a URL or without an analysis (`--conn-only`).
pub fn attach(
    outputs: &mut Outputs,
    settings: &detectors::Config,
    url: Option<&str>,
    out: &Path,
) -> Result<()> {
    let Some(url) = url else {
        return Ok(());
    };
    let Some(sharing) =
        sharing::connect(&settings.redis, Some(url), settings.alert_threshold(), out)
            .map_err(anyhow::Error::msg)?
    else {
        return Ok(());
    };
    outputs.share_alert_rule(Box::new(sharing.rule));
    outputs.subscribe(Box::new(sharing.publisher));
    Ok(())
}

/// After the run, for `-s`: a snapshot of the Redis data set next to the outputs (the
/// SQLite file is already there without Redis).
pub fn save(url: Option<&str>, out: &Path) -> Result<Option<String>> {
    let Some(url) = url else {
        return Ok(None);
    };
    let path = out.join(RDB_NAME);
    let bytes = sharing::save_rdb(url, &path)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot save the Redis data set to {}", path.display()))?;
    Ok(Some(format!(
        "saved the Redis data set ({bytes} bytes) to {}",
        path.display()
    )))
}
