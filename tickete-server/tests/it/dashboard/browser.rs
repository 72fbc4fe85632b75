//! A real headless Chromium driven through WebDriver (chromedriver started by the test on a
//! free port). Without Chromium the tests fail under CI (`CI=true`) and are reported as
//! skipped elsewhere.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A browser session with its chromedriver process (killed on drop).
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn binary(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (skipped) when they are not
    /// installed, outside CI only.
    pub async fn start(test: &str) -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (
            binary("TICKETE_CHROMIUM", CHROMIUM),
            binary("TICKETE_CHROMEDRIVER", CHROMEDRIVER),
        ) else {
            assert!(
                !matches!(std::env::var("CI").as_deref(), Ok("true" | "1")),
                "{test}: Chromium and chromedriver are required in CI \
                 (apt-get install -y chromium chromium-driver)"
            );
            eprintln!("{test}: skipped, /usr/bin/chromium or /usr/bin/chromedriver is missing");
            return None;
        };
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--window-size=1280,900", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Self {
                        client,
                        _driver: driver,
                        _profile: profile,
                    })
                }
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{test}: no WebDriver session: {last_error:?}");
    }

    /// Writes a PNG of the viewport to `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Goes to `url`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The visible text of the page's body.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Whether the first element matching `css` is shown (present and not hidden).
    pub async fn displayed(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Clicks the first element matching `css`, once it is there (a page still loading under
    /// a busy machine has not drawn it yet; up to 20 s).
    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(std::time::Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits (up to 20 s of polling the page, not a fixed sleep) until `css` matches an
    /// element whose text contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        for _ in 0..200 {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for element in elements {
                    if element.text().await.is_ok_and(|t| t.contains(text)) {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no `{css}` with text `{text}`; the page says:\n{}",
            self.text().await
        );
    }

    /// Every resource and navigation URL the page has loaded (Resource Timing).
    pub async fn loaded_urls(&self) -> Vec<String> {
        let value = self
            .client
            .execute(
                "return performance.getEntries().map(e => e.name).filter(n => n.includes(':'));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(value).unwrap()
    }

    /// Ends the WebDriver session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
