//! The command line: `manage <env> <action> [options]`. Raw arguments only; `main` turns them
//! into a checked config for one env before any action runs.

use crate::since::{parse_since, Since};
use crate::ui::Output;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "manage",
    version = crate::VERSION,
    about = "Commission, deploy, update and decommission whole application environments on AWS",
    override_usage = "manage <ENV> <ACTION> [OPTIONS]\n       manage init|completions|man|doctor [ARGS]",
    subcommand_value_name = "ACTION",
    subcommand_help_heading = "Actions",
    after_help = "Examples:\n  manage init shop\n  manage staging validate\n  manage staging commission\n  manage production status -o json\n  manage staging decommission --yes\n\nColour only on a terminal; NO_COLOR=1 turns it off."
)]
pub struct Cli {
    /// The environment: staging, production, pr-142, ... (none for init, completions, man; doctor either way)
    #[arg(value_name = "ENV")]
    pub env: Option<String>,
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The config file; paths inside it are relative to its folder
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "config.json"
    )]
    pub config: PathBuf,
    /// AWS region (overrides config.json and the AWS chain)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile (overrides config.json)
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send AWS calls to this endpoint (also AWS_ENDPOINT_URL), e.g. a local emulator
    #[arg(long, global = true, value_name = "URL", value_parser = parse_endpoint)]
    pub endpoint_url: Option<String>,
    /// Stack parameter override, KEY=VALUE (repeatable)
    #[arg(long = "param", global = true, value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Print the plan and make no change
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Use a template bucket that does not block public access
    #[arg(long, global = true)]
    pub allow_public_bucket: bool,
    /// Leave out the checks of image, key pair and instance types before commission, update and bake
    #[arg(long, global = true)]
    pub skip_preflight: bool,
    /// Answer yes to confirmations
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Output format for results
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// More detail (-v: AWS request ids and causes; -vv: debug logs)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only results and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Create a new project in DIR: config.json, formations/, playbooks/, .gitignore (no ENV)
    Init(InitArgs),
    /// Print the shell completion script: bash, zsh, fish, powershell, elvish (no ENV)
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
    /// Print the man page (no ENV)
    Man,
    /// Check this machine, the config and the AWS account (with ENV: also the key pair and base AMI)
    Doctor,
    /// Merge the fragments and check them, with no AWS call
    Validate,
    /// Print the merged template for this env
    Template,
    /// Work with the template bucket
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Validate, bake the image if missing, push, create the stack, wait, then deploy
    Commission(CommissionArgs),
    /// Change the stack through a change set: show it, confirm, execute, wait, then deploy
    Update(UpdateArgs),
    /// Bake the app's image if it does not exist (or a new one with --rebake)
    Bake(BakeArgs),
    /// Delete the image stack, stray image instances, the images and their snapshots
    Clean(CleanArgs),
    /// Run the playbooks on the env's hosts, found by their tags
    Deploy(DeployArgs),
    /// Ansible dynamic inventory of the env (--list, --host H), or a wrapper script (--script)
    Inventory(InventoryArgs),
    /// Run a command on the chosen hosts in parallel
    Exec(ExecArgs),
    /// Open an SSH session to one host
    Ssh(SshArgs),
    /// Stack status and outputs, then the hosts by group
    Status(StatusArgs),
    /// The stack's recent events, failures first
    Events(EventsArgs),
    /// Run CloudFormation drift detection and list what was changed by hand
    Drift,
    /// Who commissioned, updated, deployed or acted on hosts, when, and how it ended (newest first)
    History(HistoryArgs),
    /// Delete the env's stack and wait until it is gone
    Decommission(DecommissionArgs),
    /// Bring the env's Route53 names in step with its running hosts (shows the difference first)
    Dns,
    /// Start stopped hosts; wait until they run, pass status checks and answer on SSH
    Start(HostOpArgs),
    /// Stop running hosts (after confirmation); wait until they are stopped
    Stop(HostOpArgs),
    /// Reboot running hosts; wait until they answer on SSH again
    Reboot(HostOpArgs),
    /// Terminate hosts (after confirmation; --force for the stack's own or a protected env's)
    Terminate(TerminateArgs),
    /// Put hosts back on the stack's image in place (ReplaceRootVolume), then deploy them
    Revert(RevertArgs),
    /// Remove the env's lock (or the app's image lock) left by a run that is gone
    Unlock(UnlockArgs),
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The app's image lock (held by bake and clean) instead of the env's
    #[arg(long)]
    pub app: bool,
}

/// The hosts a host action works on, and how many at a time.
#[derive(Debug, Args)]
pub struct HostOpArgs {
    /// One host, by name (argos-staging-app-0) or instance id
    #[arg(value_name = "HOST")]
    pub host: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// N hosts at a time, each batch reaching its state before the next (default: all at once)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub serial: Option<u16>,
}

impl HostOpArgs {
    pub fn choice(&self) -> crate::hosts::Choice {
        crate::hosts::Choice {
            selector: self.select.selector(self.host.as_deref()),
            serial: self.serial,
        }
    }
}

#[derive(Debug, Args)]
pub struct RevertArgs {
    #[command(flatten)]
    pub hosts: HostOpArgs,
    /// Needed in a protected env
    #[arg(long)]
    pub force: bool,
    /// Do not run the playbooks on the reverted hosts
    #[arg(long)]
    pub no_deploy: bool,
}

#[derive(Debug, Args)]
pub struct TerminateArgs {
    #[command(flatten)]
    pub hosts: HostOpArgs,
    /// Terminate hosts the env's stack owns, or in a protected env
    #[arg(long)]
    pub force: bool,
}

/// Whether an action takes the <ENV> argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvUse {
    Required,
    Optional,
    None,
}

impl Action {
    pub fn env_use(&self) -> EnvUse {
        match self {
            Action::Init(_) | Action::Completions { .. } | Action::Man => EnvUse::None,
            Action::Doctor => EnvUse::Optional,
            _ => EnvUse::Required,
        }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The new project's folder (created if missing; existing files are never overwritten)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The app's name (default: the folder's name)
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
}

/// `--endpoint-url`: an http(s) URL with a host, so a typo is bad input rather than a
/// connection failure.
pub fn parse_endpoint(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => {
            Ok(text.to_owned())
        }
        _ => Err("expected an http:// or https:// URL such as http://127.0.0.1:5000".to_owned()),
    }
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Stop after the stack; do not run the playbooks
    #[arg(long)]
    pub no_deploy: bool,
    /// Allow replacing or removing resources that hold data or are kept on delete (and any
    /// resource of a protected env); still asks for confirmation
    #[arg(long)]
    pub allow_replace: bool,
    /// Use config.json's base_ami instead of the image the stack runs
    #[arg(long, conflicts_with = "image")]
    pub no_bake: bool,
    /// Move the env to this image (otherwise it keeps its own, or takes a newer bake)
    #[arg(long, value_name = "AMI_ID")]
    pub image: Option<String>,
    #[command(flatten)]
    pub stack: StackArgs,
}

/// How an action treats an env stack that is busy or stuck (see README, "The stack state machine").
#[derive(Debug, Args, Default, Clone)]
pub struct StackArgs {
    /// Refuse (exit 3) instead of waiting when another operation is running on the stack
    #[arg(long)]
    pub no_wait: bool,
    /// With a stack in UPDATE_ROLLBACK_FAILED: a resource to skip when continuing the rollback (repeatable)
    #[arg(long = "skip", value_name = "RESOURCE")]
    pub skip: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Upload the merged template (or one fragment) to the template bucket and print the URL
    Push {
        /// One fragment to push instead of the merged template: image, network, ...
        name: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CommissionArgs {
    /// Stop after the stack; do not run the playbooks
    #[arg(long)]
    pub no_deploy: bool,
    /// Use config.json's base_ami instead of the baked image (and never bake)
    #[arg(long)]
    pub no_bake: bool,
    #[command(flatten)]
    pub stack: StackArgs,
}

#[derive(Debug, Args)]
pub struct BakeArgs {
    /// Bake a new image even if one exists (named <app>-image-<timestamp>)
    #[arg(long)]
    pub rebake: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Keep the newest image (the one in use)
    #[arg(long)]
    pub keep_latest: bool,
}

/// The host selector: `--group G`…, `--index SPEC`, and (per action) a host name.
#[derive(Debug, Args, Default, Clone)]
pub struct SelectArgs {
    /// Only hosts of this group (repeatable)
    #[arg(long = "group", short = 'g', value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Only hosts with these numbers in their group: 2, 1,3, 0-2 or a mix
    #[arg(long, short = 'i', value_name = "SPEC")]
    pub index: Option<crate::hosts::IndexSpec>,
}

impl SelectArgs {
    pub fn selector(&self, host: Option<&str>) -> crate::hosts::Selector {
        crate::hosts::Selector {
            groups: self.groups.clone(),
            index: self.index.clone(),
            hosts: host.map(str::to_owned).into_iter().collect(),
        }
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One host, by name (argos-staging-app-0) or instance id
    #[arg(value_name = "HOST")]
    pub host: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Only this host, by name (argos-staging-app-0) or instance id (Ansible's --limit)
    #[arg(value_name = "HOST")]
    pub host: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// How many groups' playbooks run at once
    #[arg(long, default_value_t = crate::ansible::DEFAULT_PARALLEL as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// A variable for the playbooks, KEY=VALUE, after config.json's vars (repeatable)
    #[arg(short = 'e', long = "extra-var", value_name = "KEY=VALUE")]
    pub extra_vars: Vec<String>,
    /// ansible-playbook --check: report what would change, change nothing
    #[arg(long)]
    pub check: bool,
    /// ansible-playbook --diff: show the changes made to files
    #[arg(long)]
    pub diff: bool,
    /// ansible-playbook --tags: only tasks with these tags (repeatable)
    #[arg(long = "tags", value_name = "TAG")]
    pub tags: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Every group, host and variable (the default)
    #[arg(long, conflicts_with_all = ["host", "script"])]
    pub list: bool,
    /// One host's variables
    #[arg(long, value_name = "HOST", conflicts_with = "script")]
    pub host: Option<String>,
    /// Print a two-line script to give `ansible-playbook -i`
    #[arg(long)]
    pub script: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Only this host, by name (argos-staging-app-0) or instance id
    #[arg(value_name = "HOST")]
    pub host: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// The command, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SshArgs {
    /// A host name (argos-staging-app-0), an instance id, or a group (needed when the env has more than one)
    #[arg(value_name = "HOST|GROUP")]
    pub target: Option<String>,
    /// With a group: the host's number in it (default: the lowest running)
    #[arg(value_name = "NUMBER")]
    pub number: Option<u32>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print the ssh command instead of running it
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// How many events to show (default 30; with --since, all of them)
    #[arg(long, short = 'n')]
    pub limit: Option<usize>,
    /// Only events since then: a duration back from now (90s, 30m, 2h, 1d) or a time (2026-05-01T10:00:00Z, 2026-05-01)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Since>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How many runs to show, newest first
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = crate::history::DEFAULT_COUNT, value_parser = clap::value_parser!(u16).range(1..))]
    pub limit: u16,
}

#[derive(Debug, Args)]
pub struct DecommissionArgs {
    /// Also needed, on top of confirmation, for an env marked `protected`
    #[arg(long)]
    pub force: bool,
    /// Also delete the app's images (as `clean` does); they are shared by every env
    #[arg(long)]
    pub with_image: bool,
    /// With a stack in DELETE_FAILED: a resource to keep when deleting again (repeatable)
    #[arg(long = "retain", value_name = "RESOURCE")]
    pub retain: Vec<String>,
    /// Refuse (exit 3) instead of waiting when another operation is running on the stack
    #[arg(long)]
    pub no_wait: bool,
}
