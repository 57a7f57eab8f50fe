//! realhosts: turn the AWS emulator's running EC2 instances into real hosts.
//!
//! Each running instance gets a network namespace holding its private IP on a veth
//! pair, a route from the root namespace, and a real sshd, so that Ansible and ssh
//! work against the addresses `manage` finds by tags. See harness/README.md.

mod ec2;
mod host;
mod manager;
mod registry;
mod sshd;
mod sys;

use clap::Parser;
use manager::Manager;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use sys::{Error, Result};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser, Debug)]
#[command(
    name = "realhosts",
    about = "Turn the AWS emulator's running EC2 instances into real hosts (netns + sshd)"
)]
struct Cli {
    /// Emulator endpoint, e.g. http://127.0.0.1:5000
    #[arg(long, required_unless_present = "cleanup")]
    endpoint_url: Option<String>,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Public key that may log in as root on every host
    #[arg(long, required_unless_present = "cleanup")]
    authorized_key: Option<PathBuf>,
    /// Where hosts.json and the per-host files go (created if missing)
    #[arg(long, required_unless_present = "cleanup")]
    state_dir: Option<PathBuf>,
    /// Only instances with this tag (K=V). Repeat: values of one key are ORed, keys ANDed
    #[arg(long = "filter-tag", value_name = "K=V", value_parser = parse_tag)]
    filter_tags: Vec<(String, String)>,
    /// Hosts accept logins only from this address, as hosts behind a bastion do (sshd
    /// AllowUsers root@IP). Turns on IPv4 forwarding in this network namespace, so that the
    /// bastion (a host of another realhosts run) reaches them through it
    #[arg(long, value_name = "IP")]
    allow_from: Option<std::net::Ipv4Addr>,
    /// Poll interval in milliseconds
    #[arg(long, default_value_t = 200)]
    poll_ms: u64,
    /// How long a new host's sshd may take to accept connections
    #[arg(long, default_value_t = 10_000)]
    ready_timeout_ms: u64,
    /// Give up after DescribeInstances has failed for this long without a success
    #[arg(long, default_value_t = 30_000)]
    error_timeout_ms: u64,
    /// Remove the namespaces, veths, routes and sshds of dead runs, then exit
    #[arg(long, conflicts_with_all = ["endpoint_url", "authorized_key", "state_dir", "filter_tags", "allow_from"])]
    cleanup: bool,
}

fn parse_tag(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let tools = match sys::check_prereqs() {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if cli.cleanup {
        let r = registry::cleanup_dead(&tools, None);
        eprintln!(
            "cleanup: {} dead run(s), {} namespace(s), {} orphan veth(s) removed",
            r.runs, r.namespaces, r.veths
        );
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(Error::Run(format!("cannot start the async runtime: {e}"))),
    };
    match rt.block_on(run(cli, tools)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: Error) -> ExitCode {
    eprintln!("realhosts: {e}");
    match e {
        Error::Setup(_) => ExitCode::from(2),
        Error::Run(_) => ExitCode::from(1),
    }
}

/// Absolute path of a file that must exist.
fn existing_file(p: &std::path::Path, what: &str) -> Result<PathBuf> {
    let abs = std::fs::canonicalize(p)
        .map_err(|e| Error::Setup(format!("{what} {}: {e}", p.display())))?;
    if !abs.is_file() {
        return Err(Error::Setup(format!(
            "{what} {} is not a file",
            p.display()
        )));
    }
    Ok(abs)
}

/// Install the handlers now (so no signal is missed), and return a future that
/// resolves when it is time to stop: SIGTERM, SIGINT, SIGHUP, or our parent exited.
fn stop_signal() -> Result<impl std::future::Future<Output = String>> {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let install = |k: SignalKind| {
        signal(k).map_err(|e| sys::run_err(format!("cannot install signal handlers: {e}")))
    };
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    let mut hup = install(SignalKind::hangup())?;
    Ok(async move {
        let parent_gone = async {
            loop {
                // SAFETY: as above.
                if unsafe { libc::getppid() } != parent {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM".to_string(),
            _ = int.recv() => "SIGINT".to_string(),
            _ = hup.recv() => "SIGHUP".to_string(),
            _ = parent_gone => format!("parent process {parent} exited"),
        }
    })
}

async fn run(cli: Cli, tools: sys::Tools) -> Result<()> {
    let (Some(endpoint), Some(key), Some(state_dir)) =
        (cli.endpoint_url, cli.authorized_key, cli.state_dir)
    else {
        return Err(Error::Setup(
            "--endpoint-url, --authorized-key and --state-dir are required".into(),
        ));
    };
    let key = existing_file(&key, "--authorized-key")?;
    std::fs::create_dir_all(&state_dir).map_err(|e| {
        Error::Setup(format!(
            "cannot create --state-dir {}: {e}",
            state_dir.display()
        ))
    })?;
    let state_dir = std::fs::canonicalize(&state_dir)
        .map_err(|e| Error::Setup(format!("--state-dir {}: {e}", state_dir.display())))?;
    if cli.allow_from.is_some() {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").map_err(|e| {
            Error::Setup(format!(
                "--allow-from needs IPv4 forwarding: cannot write /proc/sys/net/ipv4/ip_forward: {e}"
            ))
        })?;
    }

    // Signals are caught from here on; nothing has been made yet.
    let stop = stop_signal()?;
    tokio::pin!(stop);

    let own_id = sys::run_id(std::process::id());
    let removed = registry::cleanup_dead(&tools, Some(&own_id));
    if removed.runs + removed.namespaces + removed.veths > 0 {
        eprintln!("cleaned up after {} dead run(s)", removed.runs);
    }
    // From here on, dropping `mgr` (error, panic, return) tears every host down.
    let login = sshd::Login {
        authorized_key: key,
        allow_from: cli.allow_from,
    };
    let mut mgr = Manager::new(
        tools,
        state_dir,
        login,
        Duration::from_millis(cli.ready_timeout_ms),
    )?;
    let client = ec2::client(&endpoint, &cli.region).await;
    let filters = ec2::tag_filters(&cli.filter_tags);
    let poll = Duration::from_millis(cli.poll_ms.max(10));
    let error_timeout = Duration::from_millis(cli.error_timeout_ms);
    let mut last_ok = Instant::now();
    let mut last_error = String::new();
    eprintln!(
        "realhosts: run {} (pid {}) watching {endpoint}",
        mgr.run_id(),
        std::process::id()
    );

    let result = loop {
        let polled = tokio::select! {
            why = &mut stop => break Ok(why),
            r = tokio::time::timeout(Duration::from_secs(10), ec2::running(&client, &filters)) => r,
        };
        match polled.unwrap_or_else(|_| Err(sys::run_err("DescribeInstances timed out after 10 s")))
        {
            Ok(running) => {
                last_ok = Instant::now();
                last_error.clear();
                if let Err(e) = mgr.reconcile(&running) {
                    break Err(e);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                if msg != last_error {
                    eprintln!("warning: {msg} (retrying)");
                    last_error = msg;
                }
                if last_ok.elapsed() > error_timeout {
                    break Err(sys::run_err(format!(
                        "giving up: no successful DescribeInstances for {} ms: {last_error}",
                        error_timeout.as_millis()
                    )));
                }
            }
        }
        tokio::select! {
            why = &mut stop => break Ok(why),
            _ = tokio::time::sleep(poll) => {}
        }
    };
    match &result {
        Ok(why) => eprintln!("realhosts: {why}; tearing down"),
        Err(_) => eprintln!("realhosts: stopping on error; tearing down"),
    }
    mgr.shutdown();
    result.map(|_| ())
}
