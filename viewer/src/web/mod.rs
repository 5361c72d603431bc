//! `slipstream view`: the web interface over an output folder, on localhost. Pages are
//! made on the server (plots as inline SVG, no script, nothing fetched from elsewhere);
//! the same data is served as JSON under `/api/`. One connection to `flows.sqlite`
//! serves every request, one at a time, on a single-threaded runtime: queries take
//! milliseconds and the store keeps what is costly to compute.

mod html;
mod pages;
mod svg;

#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use detectors::query::{Direction, Page, Store};
use serde::Deserialize;

pub use pages::Tab;

/// Slips' default port of its web interface (`web_interface.port`).
pub const DEFAULT_PORT: u16 = 55000;

/// Rows per page unless the URL asks otherwise.
const PAGE_ROWS: u32 = 100;

/// Why a page could not be made.
#[derive(Debug)]
pub enum WebError {
    NotFound(String),
    Store(detectors::Error),
    /// The database is not there yet (a run that is starting) or cannot be opened.
    Unavailable(String),
}

impl From<detectors::Error> for WebError {
    fn from(e: detectors::Error) -> Self {
        WebError::Store(e)
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn message(&self) -> String {
        match self {
            WebError::NotFound(m) | WebError::Unavailable(m) => m.clone(),
            WebError::Store(e) => e.to_string(),
        }
    }
}

/// The database behind every request, opened at the first one (a run started with
/// `-w` may not have created it yet when the server starts).
struct App {
    db: PathBuf,
    store: Mutex<Option<Store>>,
}

impl App {
    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T, WebError>) -> Result<T, WebError> {
        // A panic in an earlier request leaves the store as it was: queries only read.
        let mut guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let store = Store::open(&self.db)
                .map_err(|e| WebError::Unavailable(format!("{e}; is the run still starting?")))?;
            *guard = Some(store);
        }
        match guard.as_ref() {
            Some(store) => f(store),
            None => Err(WebError::Unavailable("no database".into())),
        }
    }
}

type Shared = Arc<App>;

#[derive(Debug, Default, Deserialize)]
struct PageParams {
    offset: Option<u64>,
    limit: Option<u32>,
    tab: Option<String>,
}

impl PageParams {
    fn page(&self) -> Page {
        Page::new(self.offset.unwrap_or(0), self.limit.unwrap_or(PAGE_ROWS))
    }
}

/// Frames a page (or its error) and times it.
fn html_page(
    app: &App,
    make: impl FnOnce(&Store) -> Result<pages::Rendered, WebError>,
) -> Response {
    let started = Instant::now();
    let result = app.with_store(|store| {
        let live = !store.is_finished()?;
        make(store).map(|r| (r, live))
    });
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok((r, live)) => {
            let frame = html::Frame {
                title: &r.title,
                crumbs: &r.crumbs,
                live,
            };
            Html(frame.render(&r.body, ms)).into_response()
        }
        Err(e) => {
            let frame = html::Frame {
                title: "Error",
                crumbs: &[],
                live: false,
            };
            let body = format!(
                r#"<h1>{}</h1><p class="error">{}</p>"#,
                e.status(),
                html::esc(&e.message())
            );
            (e.status(), Html(frame.render(&body, ms))).into_response()
        }
    }
}

fn json<T: serde::Serialize>(
    app: &App,
    make: impl FnOnce(&Store) -> Result<T, WebError>,
) -> Response {
    match app.with_store(make) {
        Ok(v) => Json(v).into_response(),
        Err(e) => (
            e.status(),
            Json(serde_json::json!({ "error": e.message() })),
        )
            .into_response(),
    }
}

async fn index(State(app): State<Shared>, Query(q): Query<PageParams>) -> Response {
    html_page(&app, |s| pages::index(s, q.page()))
}

async fn alerts_page(State(app): State<Shared>) -> Response {
    html_page(&app, pages::alerts)
}

async fn profile(State(app): State<Shared>, UrlPath(ip): UrlPath<String>) -> Response {
    html_page(&app, |s| pages::profile(s, &ip))
}

async fn window(
    State(app): State<Shared>,
    UrlPath((ip, twid)): UrlPath<(String, i64)>,
    Query(q): Query<PageParams>,
) -> Response {
    let tab = match q.tab.as_deref() {
        None => Tab::Timeline,
        Some(t) => match Tab::parse(t) {
            Some(t) => t,
            None => return html_page(&app, |_| Err(WebError::NotFound(format!("no tab {t:?}")))),
        },
    };
    html_page(&app, |s| pages::window(s, &ip, twid, tab, q.page()))
}

async fn alert(State(app): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    html_page(&app, |s| pages::alert(s, &id))
}

async fn api_overview(State(app): State<Shared>) -> Response {
    json(&app, |s| Ok(s.overview()?))
}

async fn api_profiles(State(app): State<Shared>, Query(q): Query<PageParams>) -> Response {
    json(&app, |s| Ok(s.profiles(q.page())?))
}

async fn api_profile(State(app): State<Shared>, UrlPath(ip): UrlPath<String>) -> Response {
    json(&app, |s| {
        s.profile(&ip)?
            .ok_or_else(|| WebError::NotFound(format!("no address {ip} in this run")))
    })
}

async fn api_windows(State(app): State<Shared>, UrlPath(ip): UrlPath<String>) -> Response {
    json(&app, |s| Ok(s.timewindows(&ip)?))
}

async fn api_timeline(
    State(app): State<Shared>,
    UrlPath((ip, twid)): UrlPath<(String, i64)>,
    Query(q): Query<PageParams>,
) -> Response {
    json(&app, |s| Ok(s.timeline(&ip, twid, q.page())?))
}

async fn api_flows(
    State(app): State<Shared>,
    UrlPath((ip, twid, direction)): UrlPath<(String, i64, String)>,
    Query(q): Query<PageParams>,
) -> Response {
    json(&app, |s| {
        let d = Direction::parse(&direction)
            .ok_or_else(|| WebError::NotFound(format!("direction {direction:?}: out or in")))?;
        Ok(s.flows(&ip, twid, d, q.page())?)
    })
}

async fn api_evidence(
    State(app): State<Shared>,
    UrlPath((ip, twid)): UrlPath<(String, i64)>,
) -> Response {
    json(&app, |s| Ok(s.evidence(&ip, twid)?))
}

#[derive(Debug, Default, Deserialize)]
struct AlertFilter {
    ip: Option<String>,
    twid: Option<i64>,
}

async fn api_alerts(State(app): State<Shared>, Query(q): Query<AlertFilter>) -> Response {
    json(&app, |s| Ok(s.alerts(q.ip.as_deref(), q.twid)?))
}

async fn api_alert(State(app): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    json(&app, |s| {
        s.alert(&id)?
            .ok_or_else(|| WebError::NotFound(format!("no alert {id}")))
    })
}

#[derive(Debug, Default, Deserialize)]
struct PlotParams {
    ip: Option<String>,
    bucket: Option<f64>,
    n: Option<usize>,
}

async fn api_over_time(State(app): State<Shared>, Query(q): Query<PlotParams>) -> Response {
    json(&app, |s| Ok(s.flows_over_time(q.ip.as_deref(), q.bucket)?))
}

async fn api_levels(State(app): State<Shared>) -> Response {
    json(&app, |s| Ok(s.evidence_per_level()?))
}

async fn api_talkers(State(app): State<Shared>, Query(q): Query<PlotParams>) -> Response {
    json(&app, |s| Ok(s.top_talkers(q.n.unwrap_or(10).min(1000))?))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found",
    )
        .into_response()
}

/// The routes over the database at `db` (an output folder or its `flows.sqlite`).
pub fn router(db: &Path) -> Router {
    let app = Arc::new(App {
        db: db.to_path_buf(),
        store: Mutex::new(None),
    });
    Router::new()
        .route("/", get(index))
        .route("/alerts", get(alerts_page))
        .route("/profile/{ip}", get(profile))
        .route("/profile/{ip}/tw/{twid}", get(window))
        .route("/alert/{id}", get(alert))
        .route("/api/overview", get(api_overview))
        .route("/api/profiles", get(api_profiles))
        .route("/api/profile/{ip}", get(api_profile))
        .route("/api/profile/{ip}/timewindows", get(api_windows))
        .route("/api/profile/{ip}/tw/{twid}/timeline", get(api_timeline))
        .route(
            "/api/profile/{ip}/tw/{twid}/flows/{direction}",
            get(api_flows),
        )
        .route("/api/profile/{ip}/tw/{twid}/evidence", get(api_evidence))
        .route("/api/alerts", get(api_alerts))
        .route("/api/alert/{id}", get(api_alert))
        .route("/api/plots/flows_over_time", get(api_over_time))
        .route("/api/plots/evidence_per_level", get(api_levels))
        .route("/api/plots/top_talkers", get(api_talkers))
        .fallback(not_found)
        .with_state(app)
}

/// A bound web interface, not yet serving.
pub struct Server {
    listener: std::net::TcpListener,
    db: PathBuf,
}

impl Server {
    /// Binds `127.0.0.1:port` (0: any free port) for the database at `db`; binding
    /// fails here, before anything else starts, when the port is taken.
    pub fn bind(db: &Path, port: u16) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            db: db.to_path_buf(),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends (or the listener fails).
    pub fn run(self) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(self.listener)?;
            axum::serve(listener, router(&self.db)).await
        })
    }

    /// Serves on a thread of its own (`slipstream -w`: while the run goes on).
    pub fn spawn(self) -> io::Result<std::thread::JoinHandle<io::Result<()>>> {
        std::thread::Builder::new()
            .name("web-interface".into())
            .spawn(move || self.run())
    }
}
