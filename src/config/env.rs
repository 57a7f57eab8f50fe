//! The config for one env: the checked config, the env's overrides and the command line's
//! `--param`s, merged in that order.

use super::{Config, ParamSource, VarSource};
use crate::error::{Error, Result};
use crate::names;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct EnvConfig {
    pub name: String,
    pub config: Config,
    pub protected: bool,
    /// Parameter values: config defaults, then env overrides, then `--param`.
    pub parameters: BTreeMap<String, ParamSource>,
    /// Route53 names for the env's hosts; None when `dns` is not configured.
    pub dns: Option<super::DnsSettings>,
    /// Playbook variables: the config's `vars`, then the env's.
    pub vars: BTreeMap<String, VarSource>,
    /// The env's stack policy, service role and notification topics (the env's, else the
    /// config's top level).
    pub stack: super::StackSettings,
}

impl EnvConfig {
    pub fn new(config: Config, env: &str, cli_params: &[String]) -> Result<Self> {
        names::check_name_part("env", env)
            .map_err(|e| Error::input(format!("argument <ENV>: {e}")))?;
        let settings = config.env_settings(env).cloned();
        let mut parameters = config.parameters.clone();
        let mut vars = config.vars.clone();
        let protected = settings.as_ref().is_some_and(|s| s.protected);
        let stack = settings
            .as_ref()
            .map(|s| s.stack.clone())
            .unwrap_or_default()
            .over(&config.stack);
        let env_dns = settings.as_ref().map(|s| s.dns.clone()).unwrap_or_default();
        let dns = super::dns::merge(env, config.dns.as_ref(), &env_dns, config.address)
            .map_err(|e| Error::input(format!("{}: {e}", config.path.display())))?;
        if let Some(s) = settings {
            parameters.extend(s.parameters);
            vars.extend(s.vars);
        }
        for kv in cli_params {
            let (k, v) = kv
                .split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    Error::input(format!("argument --param \"{kv}\": expected KEY=VALUE"))
                })?;
            parameters.insert(k.to_owned(), ParamSource::Plain(v.to_owned()));
        }
        Ok(Self {
            name: env.to_owned(),
            config,
            protected,
            parameters,
            dns,
            vars,
            stack,
        })
    }

    pub fn app(&self) -> &str {
        &self.config.app
    }

    pub fn stack_name(&self) -> String {
        names::stack_name(&self.config.app, &self.name)
    }

    pub fn naming(&self) -> crate::template::Naming {
        crate::template::Naming {
            app: self.config.app.clone(),
            env: self.name.clone(),
        }
    }
}
