//! faultproxy: an HTTP proxy between `manage` and the AWS emulator that fails a seeded share of
//! requests the way AWS does, and counts every request. See harness/README.md.
//!
//! Each fault is chosen before the request is forwarded, so a failed request never reaches the
//! emulator (as with AWS throttling), except `delay`, which forwards late. One request per
//! connection (`Connection: close`), so every request is seen and counted on its own.

use clap::Parser;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser, Debug)]
#[command(
    name = "faultproxy",
    about = "Fail a seeded share of AWS requests, and count them"
)]
struct Cli {
    /// The emulator, e.g. http://127.0.0.1:5000
    #[arg(long)]
    upstream: String,
    /// Where to listen; port 0 picks a free one (printed as `listening on ADDR`)
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Share of requests to fail, 0.0 to 1.0
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fault kinds to draw from: throttle, 500, 503, reset, delay, denied (403 AccessDenied)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "throttle,500,503,reset,delay"
    )]
    kinds: Vec<String>,
    /// Longest delay of a `delay` fault, in milliseconds
    #[arg(long, default_value_t = 800)]
    max_delay_ms: u64,
    /// Fail only requests whose request line (method and path) contains this text
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    forwarded: AtomicU64,
    faults: AtomicU64,
    /// Requests taken and not yet answered (a delayed one still reaches the emulator after its
    /// client is gone, as a request already sent reaches AWS).
    in_flight: AtomicU64,
}

/// Counts a request as in flight until it is answered (or dropped).
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// xorshift64*: seeded, no dependency, good enough to pick faults.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cli = Cli::parse();
    let upstream = cli
        .upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = match TcpListener::bind(&cli.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("faultproxy: cannot listen on {}: {e}", cli.listen);
            std::process::exit(2);
        }
    };
    let addr = listener.local_addr().expect("local address");
    println!("listening on {addr}");
    let stats = Arc::new(Stats::default());
    let rng = Arc::new(Mutex::new(Rng(cli.seed.max(1) ^ 0x9E37_79B9_7F4A_7C15)));
    let cli = Arc::new(cli);
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            continue;
        };
        let (stats, rng, cli, upstream) =
            (stats.clone(), rng.clone(), cli.clone(), upstream.clone());
        tokio::spawn(async move {
            let _ = serve(conn, &upstream, &cli, &stats, &rng).await;
        });
    }
}

enum Fault {
    None,
    Throttle,
    Internal,
    Unavailable,
    Reset,
    Delay(Duration),
    Denied,
}

fn pick(cli: &Cli, rng: &Mutex<Rng>, req: &Request) -> Fault {
    let line = req.head.lines().next().unwrap_or_default();
    if cli
        .only
        .as_ref()
        .is_some_and(|text| !line.contains(text.as_str()))
    {
        return Fault::None;
    }
    let mut rng = rng.lock().unwrap_or_else(|p| p.into_inner());
    if cli.kinds.is_empty() || rng.unit() >= cli.rate {
        return Fault::None;
    }
    let kind = &cli.kinds[(rng.next() % cli.kinds.len() as u64) as usize];
    match kind.as_str() {
        "throttle" => Fault::Throttle,
        "500" => Fault::Internal,
        "503" => Fault::Unavailable,
        "reset" => Fault::Reset,
        "denied" => Fault::Denied,
        _ => Fault::Delay(Duration::from_millis(rng.next() % cli.max_delay_ms.max(1))),
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The service from the SigV4 credential scope: `Credential=AKID/date/region/SERVICE/...`.
    fn service(&self) -> String {
        self.header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or("unknown")
            .to_owned()
    }

    fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.contains("amz-json"))
    }
}

async fn read_request(conn: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let end = line == "\r\n" || line == "\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let mut req = Request {
        head,
        body: Vec::new(),
    };
    if let Some(len) = req
        .header("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    {
        req.body.resize(len, 0);
        conn.read_exact(&mut req.body).await?;
    } else if req
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        req.body = read_chunked(conn).await?;
        // Forwarded with a length instead.
        req.head = req
            .head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding:") && !l.is_empty())
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
            + &format!("Content-Length: {}\r\n\r\n", req.body.len());
    }
    Ok(Some(req))
}

async fn read_chunked(conn: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        conn.read_line(&mut size).await?;
        let n =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        if n == 0 {
            let mut trailer = String::new();
            while conn.read_line(&mut trailer).await? > 2 {
                trailer.clear();
            }
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + n + 2, 0);
        conn.read_exact(&mut body[start..]).await?;
        body.truncate(start + n);
    }
}

async fn serve(
    conn: TcpStream,
    upstream: &str,
    cli: &Cli,
    stats: &Stats,
    rng: &Mutex<Rng>,
) -> std::io::Result<()> {
    let mut conn = BufReader::new(conn);
    let Some(req) = read_request(&mut conn).await? else {
        return Ok(());
    };
    if req.head.starts_with("GET /__proxy/stats ") {
        let body = format!(
            "{{\"requests\": {}, \"forwarded\": {}, \"faults\": {}, \"in_flight\": {}}}",
            stats.requests.load(Ordering::SeqCst),
            stats.forwarded.load(Ordering::SeqCst),
            stats.faults.load(Ordering::SeqCst),
            stats.in_flight.load(Ordering::SeqCst)
        );
        return respond(conn.get_mut(), 200, "application/json", &body).await;
    }
    stats.requests.fetch_add(1, Ordering::SeqCst);
    stats.in_flight.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight(&stats.in_flight);
    let fault = pick(cli, rng, &req);
    if !matches!(fault, Fault::None) {
        stats.faults.fetch_add(1, Ordering::SeqCst);
    }
    let (service, json) = (req.service(), req.is_json());
    match fault {
        Fault::Reset => {
            // SO_LINGER 0: close with a TCP reset, as a dropped connection does.
            let stream = conn.into_inner();
            // Zero linger never blocks: the close is a reset at once.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
            return Ok(());
        }
        Fault::Throttle => {
            let (status, body) = throttle_body(&service, json);
            return respond(conn.get_mut(), status, content_type(json), &body).await;
        }
        Fault::Internal => {
            let body = error_body(
                &service,
                json,
                "InternalError",
                "We encountered an internal error. Please try again.",
            );
            return respond(conn.get_mut(), 500, content_type(json), &body).await;
        }
        Fault::Unavailable => {
            let body = error_body(
                &service,
                json,
                "ServiceUnavailable",
                "Service is unable to handle request.",
            );
            return respond(conn.get_mut(), 503, content_type(json), &body).await;
        }
        Fault::Denied => {
            let body = error_body(&service, json, "AccessDenied", "Access Denied");
            return respond(conn.get_mut(), 403, content_type(json), &body).await;
        }
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::None => {}
    }
    stats.forwarded.fetch_add(1, Ordering::SeqCst);
    forward(conn.get_mut(), upstream, &req).await
}

/// Send the request upstream on a fresh connection and copy the answer back until it closes.
async fn forward(client: &mut TcpStream, upstream: &str, req: &Request) -> std::io::Result<()> {
    let mut up = TcpStream::connect(upstream).await?;
    let head: String = req
        .head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.is_empty() && !l.starts_with("connection:")
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    up.write_all(head.as_bytes()).await?;
    up.write_all(b"Connection: close\r\n\r\n").await?;
    up.write_all(&req.body).await?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await?;
    client.write_all(&close_connection(answer)).await?;
    client.shutdown().await
}

/// Make the answer say `Connection: close`, since this proxy closes after it.
fn close_connection(answer: Vec<u8>) -> Vec<u8> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return answer;
    };
    let head = String::from_utf8_lossy(&answer[..end]);
    let mut out: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&answer[end + 4..]);
    bytes
}

fn content_type(json: bool) -> &'static str {
    if json {
        "application/x-amz-json-1.1"
    } else {
        "text/xml"
    }
}

/// Throttling as each service sends it: S3 503 SlowDown, EC2 503 RequestLimitExceeded, the
/// query and JSON services 400 Throttling.
fn throttle_body(service: &str, json: bool) -> (u16, String) {
    match service {
        "s3" => (
            503,
            error_body(
                service,
                json,
                "SlowDown",
                "Please reduce your request rate.",
            ),
        ),
        "ec2" => (
            503,
            error_body(
                service,
                json,
                "RequestLimitExceeded",
                "Request limit exceeded.",
            ),
        ),
        _ if json => (
            400,
            error_body(service, json, "ThrottlingException", "Rate exceeded"),
        ),
        _ => (
            400,
            error_body(service, json, "Throttling", "Rate exceeded"),
        ),
    }
}

fn error_body(service: &str, json: bool, code: &str, message: &str) -> String {
    let id = "0a1b2c3d-faul-tpro-xy00-000000000000";
    if json {
        return format!("{{\"__type\": \"{code}\", \"message\": \"{message}\"}}");
    }
    match service {
        "s3" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>"
        ),
        "ec2" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
        ),
        _ => {
            let kind = if code == "Throttling" { "Sender" } else { "Receiver" };
            format!(
                "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>"
            )
        }
    }
}

async fn respond(
    conn: &mut TcpStream,
    status: u16,
    ctype: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let text = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nx-amz-request-id: faultproxy\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(text.as_bytes()).await?;
    conn.shutdown().await
}
