//! Tier 4: real hosts. `realhosts` (harness/) turns each running emulator instance into a
//! network namespace with the instance's IP and a real sshd. Needs root.

use super::{Moto, Project};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RealHosts {
    child: Option<Child>,
    state_dir: PathBuf,
    seen_namespaces: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct HostEntry {
    pub instance_id: String,
    pub ip: String,
    pub namespace: String,
    /// False while the harness tears the host down.
    pub ready: bool,
}

impl RealHosts {
    /// Start the harness for this emulator; `filter` limits it to instances with those tags.
    pub fn start(moto: &Moto, project: &Project, filter: &[&str]) -> Self {
        Self::start_as(moto, project, filter, "realhosts", &[])
    }

    /// As `start`, with its state in the project's folder `name` (so that two harnesses can
    /// serve one project) and `extra` arguments (such as `--allow-from IP`).
    pub fn start_as(
        moto: &Moto,
        project: &Project,
        filter: &[&str],
        name: &str,
        extra: &[&str],
    ) -> Self {
        use std::os::unix::fs::MetadataExt;
        assert!(
            std::fs::metadata("/proc/self")
                .map(|m| m.uid())
                .unwrap_or(1)
                == 0,
            "the real-host tests create network namespaces and need root: run `make test` as root"
        );
        let bin = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("realhosts");
        assert!(
            bin.exists(),
            "{} is missing: run `make test`, which builds it",
            bin.display()
        );
        let state_dir = project.path(name);
        let mut cmd = Command::new(bin);
        cmd.args(["--endpoint-url", &moto.url, "--authorized-key"])
            .arg(project.path("id.pub"))
            .arg("--state-dir")
            .arg(&state_dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(project.path(&format!("{name}.log"))).unwrap());
        for f in filter {
            cmd.args(["--filter-tag", f]);
        }
        cmd.args(extra);
        let child = cmd.spawn().expect("start realhosts");
        RealHosts {
            child: Some(child),
            state_dir,
            seen_namespaces: Vec::new(),
        }
    }

    /// The ready hosts, once there are `n` of them (within 30 s).
    pub fn wait_for(&mut self, n: usize) -> Vec<HostEntry> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let hosts = self.listed();
            // Exactly n hosts, none of them half-made or half-gone.
            if hosts.len() == n && hosts.iter().all(|h| h.ready) {
                self.seen_namespaces
                    .extend(hosts.iter().map(|h| h.namespace.clone()));
                return hosts;
            }
            assert!(
                Instant::now() < deadline,
                "realhosts has {} hosts ready, want {n}",
                hosts.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every host in the harness's hosts.json, ready or leaving.
    fn listed(&self) -> Vec<HostEntry> {
        std::fs::read_to_string(self.state_dir.join("hosts.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Stop the harness and assert it left no namespace or sshd of its hosts behind.
    pub fn stop_and_check(mut self) {
        self.stop();
        let namespaces = String::from_utf8(
            Command::new("ip")
                .args(["netns", "list"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        for ns in &self.seen_namespaces {
            assert!(
                !namespaces.contains(ns.as_str()),
                "namespace {ns} left behind"
            );
        }
        let procs = String::from_utf8(
            Command::new("ps")
                .args(["-eo", "args"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let dir = self.state_dir.display().to_string();
        assert!(
            !procs
                .lines()
                .any(|l| l.contains("sshd") && l.contains(&dir)),
            "an sshd of this test is still running"
        );
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for RealHosts {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A project whose hosts are reachable: its own SSH key, root as the SSH user, an address range
/// of its own (10.<octet>.0.0/16) so parallel tests never share IPs, and the playbooks' files
/// under the project folder (the namespaces share this filesystem).
pub fn reachable_project(moto: &Moto, octet: u8) -> Project {
    reachable_project_at(&moto.url, octet)
}

/// As `reachable_project`, with `manage` talking to `endpoint` (a fault proxy, say).
pub fn reachable_project_at(endpoint: &str, octet: u8) -> Project {
    let p = Project::new(endpoint);
    let key = p.path("id");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen (openssh-client) is needed: run `make test`, which installs it");
    assert!(ok.success());
    p.edit_config(|c| {
        c["ssh_user"] = "root".into();
        c["ssh_key_file"] = "id".into();
        c["timeouts"]["ssh"] = 60.into();
        // The image stack's network, out of the envs' way.
        c["parameters"]["BakeVpcCidr"] = format!("10.{octet}.0.0/16").into();
        c["parameters"]["BakeSubnetCidr"] = format!("10.{octet}.250.0/24").into();
        for env in ["staging", "production"] {
            c["environments"][env]["parameters"]["VpcCidr"] = format!("10.{octet}.0.0/16").into();
            c["environments"][env]["parameters"]["SubnetCidr"] =
                format!("10.{octet}.1.0/24").into();
        }
    });
    let vars = std::fs::read_to_string(p.path("playbooks/group_vars/all.yml")).unwrap();
    let base = p.path("hostfs");
    p.write(
        "playbooks/group_vars/all.yml",
        &vars.replace(
            "argos_base: /opt/argos",
            &format!("argos_base: {}", base.display()),
        ),
    );
    p
}
