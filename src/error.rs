//! The one error type. Each variant is something a user can act on, and maps to an exit code
//! from DESIGN.md: 1 failed in AWS, 2 bad input, 3 refused, 4 timed out, or a child's own code.

use crate::template::TemplateError;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
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
    /// `doctor` found problems; each was printed with what to do (exit 1).
    #[error("{failed} of {total} checks failed{}: see the lines above for what to do", if *skipped > 0 { format!(" ({skipped} skipped)") } else { String::new() })]
    Checks {
        failed: usize,
        skipped: usize,
        total: usize,
    },
    /// A child program (Ansible, ssh) failed: its exit code passes through. `hint` says what
    /// to do next, when there is something to say.
    #[error("{what} failed with exit code {code}{}", hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    Child {
        what: String,
        code: i32,
        hint: Option<String>,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Template(_) | Error::Invalid(_) => 2,
            Error::Refused(_) => 3,
            Error::Timeout { .. } => 4,
            Error::StackFailed(_) | Error::Aws(_) | Error::Local(_) | Error::Checks { .. } => 1,
            Error::Child { code, .. } => *code,
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
    /// The HTTP status of the last answer, when there was one.
    pub status: Option<u16>,
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

    /// The endpoint does not have the call at all (an emulator, say): an unknown-action code,
    /// a "not implemented" message, or an HTTP 500/501 with no AWS error, as moto answers.
    /// AWS itself always names its error.
    pub fn lacks_call(&self) -> bool {
        let unknown = matches!(
            self.code(),
            Some(
                "InvalidAction"
                    | "UnsupportedOperation"
                    | "UnknownOperation"
                    | "UnknownOperationException"
                    | "NotImplemented"
                    | "NotImplementedException"
            )
        );
        let bare_5xx = self.code.is_none() && matches!(self.status, Some(500 | 501));
        unknown
            || bare_5xx
            || self.message.contains("not been implemented")
            || self.message.contains("not yet implemented")
    }

    /// The code and message, as the endpoint gave them.
    pub fn answer(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// Turn an SDK error into an `Error::Aws` with a context line, the AWS code and message,
/// and never a Debug dump.
pub fn aws<E>(context: impl Into<String>) -> impl FnOnce(SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let context = context.into();
    move |err: SdkError<E, HttpResponse>| {
        let chain = DisplayErrorContext(&err).to_string();
        let code = err.code().map(str::to_owned);
        let request_id = err
            .meta()
            .extra("aws_request_id")
            .or_else(|| err.meta().extra("request_id"))
            .map(str::to_owned);
        let message = match (&err, err.message()) {
            (SdkError::DispatchFailure(_), None) => unreachable_message(&chain),
            (SdkError::TimeoutError(_), None) => format!(
                "no answer from {} in time, after every retry: check the network",
                endpoint()
            ),
            (SdkError::ConstructionFailure(_), None) => construction_message(&chain),
            (_, Some(m)) => m.to_owned(),
            (_, None) => match err.raw_response() {
                Some(r) => format!("HTTP {} with no readable error", r.status().as_u16()),
                None => "no readable response".to_owned(),
            },
        };
        let message = match code.as_deref().and_then(refusal_hint) {
            Some(hint) => format!("{message}; {hint}"),
            None => message,
        };
        let status = err.raw_response().map(|r| r.status().as_u16());
        Error::Aws(Box::new(AwsError {
            context,
            code,
            request_id,
            message,
            chain,
            status,
        }))
    }
}

/// What AWS refused, by its error code: the one thing to do about it.
fn refusal_hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError"
        | "Forbidden" => "these credentials lack the permission: use another profile or ask for it (README, IAM policy)",
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" | "TokenRefreshRequired" => {
            "the AWS session has expired: renew it (`aws sso login`, or fresh keys) and run again"
        }
        "InvalidClientTokenId" | "UnrecognizedClientException" | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch" | "AuthFailure" | "InvalidToken" => {
            "AWS does not accept these credentials: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile"
        }
        "OptInRequired" => "the account is not subscribed to this service in this region",
        _ => return None,
    })
}

fn endpoint() -> &'static str {
    crate::aws::setup::endpoint_description().unwrap_or("AWS")
}

/// A request that never got an answer: name the endpoint and the likely cause.
fn unreachable_message(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    let why = if lower.contains("dns error") || lower.contains("failed to lookup") {
        "its host name does not resolve (check the region and --endpoint-url)"
    } else if lower.contains("connection refused") {
        "the connection was refused (is the endpoint running?)"
    } else if lower.contains("timeout") || lower.contains("timed out") {
        "it did not answer in time"
    } else {
        "the connection failed"
    };
    format!("could not reach {}: {why}, after every retry", endpoint())
}

/// A request that could not even be built: almost always missing credentials.
fn construction_message(chain: &str) -> String {
    if chain.to_ascii_lowercase().contains("credential") {
        "no usable AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`".to_owned()
    } else {
        "the request could not be built (run with -v for the cause)".to_owned()
    }
}
