//! The fault-injecting proxy (harness/src/faultproxy.rs) between `manage` and the emulator:
//! a seeded share of requests fails as AWS fails them; every request is counted.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

pub struct FaultProxy {
    child: Child,
    pub url: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct ProxyStats {
    pub requests: u64,
    pub forwarded: u64,
    pub faults: u64,
    /// Taken and not yet answered.
    pub in_flight: u64,
}

impl FaultProxy {
    /// Proxy to `upstream`, failing `rate` of the requests with `kinds` (throttle, 500, 503,
    /// reset, delay; empty = all of them), drawn from `seed`.
    pub fn start(upstream: &str, rate: f64, seed: u64, kinds: &str) -> Self {
        Self::start_with(upstream, rate, seed, kinds, 800)
    }

    /// As `start`, with delays of up to `max_delay_ms`.
    pub fn start_with(
        upstream: &str,
        rate: f64,
        seed: u64,
        kinds: &str,
        max_delay_ms: u64,
    ) -> Self {
        Self::spawn(upstream, rate, seed, kinds, max_delay_ms, None)
    }

    /// Fail every request whose request line contains `only` with `kinds`; forward the rest.
    pub fn failing_only(upstream: &str, kinds: &str, only: &str) -> Self {
        Self::spawn(upstream, 1.0, 1, kinds, 800, Some(only))
    }

    fn spawn(
        upstream: &str,
        rate: f64,
        seed: u64,
        kinds: &str,
        max_delay_ms: u64,
        only: Option<&str>,
    ) -> Self {
        let bin = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("faultproxy");
        assert!(
            bin.exists(),
            "{} is missing: run `make test` (or `cargo build --workspace --bins`), which builds it",
            bin.display()
        );
        let mut cmd = Command::new(bin);
        cmd.args(["--upstream", upstream, "--rate", &rate.to_string()])
            .args(["--seed", &seed.to_string()])
            .args(["--max-delay-ms", &max_delay_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if !kinds.is_empty() {
            cmd.args(["--kinds", kinds]);
        }
        if let Some(only) = only {
            cmd.args(["--only", only]);
        }
        let mut child = cmd.spawn().expect("start faultproxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("faultproxy address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("faultproxy said {line:?}"))
            .to_owned();
        FaultProxy {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// Wait until every request the proxy took is answered: after a client is killed, its
    /// delayed requests still reach the emulator. The emulator (unlike AWS) is not atomic
    /// when two calls on one stack overlap, so a rerun waits for them as AWS would finish them.
    pub fn drain(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.stats().in_flight > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "requests still in flight after 30s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn stats(&self) -> ProxyStats {
        let addr = self.url.trim_start_matches("http://");
        let mut conn = std::net::TcpStream::connect(addr).expect("reach faultproxy");
        conn.write_all(b"GET /__proxy/stats HTTP/1.1\r\nHost: proxy\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("stats {body:?}: {e}"))
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
