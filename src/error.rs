//! The one error type. Each variant is something a user can act on, and maps to an exit code
//! from DESIGN.md: 1 failed in AWS, 2 bad input, 3 refused, 4 timed out, or a child's own code.

use crate::template::TemplateError;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;
use std::fmt;
use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line, config or secrets (exit 2).
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Static checks found errors; the problems were already printed (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// Not confirmed, protected env, or the stack is busy (exit 3).
    #[error("{0}")]
    Refused(String),
    /// A wait passed its deadline (exit 4).
    #[error("timed out after {after:?} waiting for {waiting_for}")]
    Timeout {
        waiting_for: String,
        after: Duration,
    },
    /// A stack operation ended in a failed state (exit 1).
    #[error("{0}")]
    StackFailed(Box<StackFailure>),
    /// An AWS call failed (exit 1).
    #[error("{0}")]
    Aws(Box<AwsError>),
    /// A local program or file operation failed (exit 1).
    #[error("{0}")]
    Local(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Template(_) | Error::Invalid(_) => 2,
            Error::Refused(_) => 3,
            Error::Timeout { .. } => 4,
            Error::StackFailed(_) | Error::Aws(_) | Error::Local(_) => 1,
        }
    }

    /// Extra detail shown with `-v`: the AWS request id and the full cause chain.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::Aws(e) => Some(format!(
                "request id: {}; cause: {}",
                e.request_id.as_deref().unwrap_or("none"),
                e.chain
            )),
            _ => None,
        }
    }

    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }
}

/// The first failure of a stack operation and the state it ended in.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackFailure {
    pub stack: String,
    pub status: String,
    pub reason: Option<String>,
    pub root_cause: Option<RootCause>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RootCause {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
    /// `fragment` or `fragment:line` that defines the resource, when known.
    pub defined_in: Option<String>,
}

impl fmt::Display for StackFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stack {} ended in {}", self.stack, self.status)?;
        if let Some(c) = &self.root_cause {
            write!(
                f,
                ": {} ({}) {}: {}",
                c.logical_id, c.resource_type, c.status, c.reason
            )?;
            if let Some(at) = &c.defined_in {
                write!(f, " [defined in {at}]")?;
            }
        } else if let Some(r) = &self.reason {
            write!(f, ": {r}")?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct AwsError {
    pub context: String,
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    pub chain: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{}: {}: {}", self.context, code, self.message),
            None => write!(f, "{}: {}", self.context, self.message),
        }
    }
}

impl AwsError {
    /// The AWS error code, for matching by code rather than by message.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// Turn any SDK error into an `Error::Aws` with a context line, the AWS code and message,
/// and never a Debug dump.
pub fn aws<E>(context: impl Into<String>) -> impl FnOnce(E) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let context = context.into();
    move |err: E| {
        let chain = DisplayErrorContext(&err).to_string();
        let code = err.code().map(str::to_owned);
        let message = match err.message() {
            Some(m) => m.to_owned(),
            None => transport_message(&chain),
        };
        Error::Aws(Box::new(AwsError {
            context,
            code,
            request_id: request_id_of(&err),
            message,
            chain,
        }))
    }
}

fn request_id_of<E: ProvideErrorMetadata>(err: &E) -> Option<String> {
    err.meta()
        .extra("aws_request_id")
        .or_else(|| err.meta().extra("request_id"))
        .map(str::to_owned)
}

/// A dispatch or timeout error has no AWS message: show the innermost cause, which is what
/// an operator can act on ("Connection refused", "dns error"), and where it was going.
fn transport_message(chain: &str) -> String {
    let last = chain.rsplit(": ").next().unwrap_or(chain).trim();
    let last = last.trim_end_matches(')');
    if chain.contains("dispatch failure") || chain.contains("io error") {
        format!(
            "could not reach AWS ({last}); check the network, --endpoint-url or AWS_ENDPOINT_URL"
        )
    } else if chain.contains("credentials") || chain.contains("Credentials") {
        format!("no usable AWS credentials ({last}); set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`")
    } else {
        last.to_owned()
    }
}
